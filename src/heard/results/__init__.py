"""The results model: one definition of every number Heard shows about an analysed consultation.

The CLI (``show``, ``themes``, ``status``), the web pages, the reports and the exports read
their numbers from here and only format them; none of them counts on its own.

Definitions
-----------
Outcome
    Every response has one: ``mapped`` (one or more themes), ``other`` (no theme fits),
    ``empty`` ("No substantive answer": blank, or too short or non-committal to analyse),
    ``unprocessable`` (a document that could not be read) or ``pending`` (not analysed
    yet). A blank answer counts as ``empty`` even before the analysis runs.
Base (the denominator)
    The responses to the question that are substantive and processable and have been
    analysed: outcome ``mapped`` or ``other``. "No substantive answer", unprocessable and
    pending responses are outside it. On a filtered view the base is the filtered
    responses' base.
Theme count and share
    A theme's count is the number of distinct responses in the base with an active
    assignment to it; a parent theme counts its own distinct responses: those assigned to
    it or to any of its sub-themes, each response once. Its share is count / base. "Other"
    has the same denominator. A response can carry several themes, so shares add up to more
    than 100%.
Outcome shares
    The outcome counts (mapped, other, empty, unprocessable, pending) add up to all the
    question's responses; where shown as a share, their denominator is all responses.
Stance and evidence
    Over the same responses as the count they sit beside: a theme's stance split and
    evidence-rich count are over the theme's distinct responses (a parent: its family);
    a question's over its base. Responses without a stance are left out of a split.
Groups
    A group breakdown (respondent type or one respondent attribute) gives each group's
    base and its distinct responses per theme, so a group share is count / group base.
Closed questions
    Respondents choosing each option; a share of an option is over those who answered.
Campaigns
    Organised campaigns (form letters) and the responses in them, as sent.
Agreement
    Over the responses analysts coded one at a time (per-response coding, defined in
    :mod:`heard.results.agreement`; never a split, merge or other theme-level change, nor
    the copies a coding was applied to): the analysis's themes against the analyst's,
    scored by :mod:`heard.analysis.metrics`, micro/macro F1 with bootstrap intervals, with
    "Other" as a label and without it. A coding made against themes a run has since
    replaced (rediscovered, or a codebook) is retired: it no longer counts, and agreement
    says how many responses that leaves out and which run retired them.
Questions
    Questions are open and closed questions; demographic columns are respondent details.
Summary
    A question in plain words (:mod:`heard.results.summary`): sentences built from the
    counts above, with their denominators, each number carrying the responses it counts.
"""

from __future__ import annotations

from heard.results.agreement import agreement
from heard.results.consultation import (
    KIND,
    NOT_GIVEN,
    Grouping,
    choose_grouping,
    consultation_results,
    consultation_summaries,
    group_breakdown,
    latest_run,
    ordered_groups,
    respondent_counts,
)
from heard.results.export import EXPORT_COLUMNS, export_columns, export_rows
from heard.results.llm import LLMUse, QuestionUse, llm_use, llm_uses
from heard.results.model import (
    OUTCOME_LABELS,
    STANCE_LABELS,
    Agreement,
    Campaign,
    ClosedResults,
    ConsultationResults,
    ConsultationSummary,
    Demographic,
    GroupBreakdown,
    Highlight,
    Outcomes,
    QuestionResults,
    RetiredCodings,
    ThemeResult,
    share,
)
from heard.results.questions import (
    closed_results,
    effective_outcome,
    highlights,
    in_tree_order,
    outcome_filter,
    question_results,
    quote_texts,
)
from heard.results.summary import Figure, Selection, Sentence, percent, plain_summary

__all__ = [
    "EXPORT_COLUMNS",
    "KIND",
    "NOT_GIVEN",
    "OUTCOME_LABELS",
    "STANCE_LABELS",
    "Agreement",
    "Campaign",
    "ClosedResults",
    "ConsultationResults",
    "ConsultationSummary",
    "Demographic",
    "Figure",
    "GroupBreakdown",
    "Grouping",
    "Highlight",
    "LLMUse",
    "Outcomes",
    "QuestionResults",
    "QuestionUse",
    "RetiredCodings",
    "Selection",
    "Sentence",
    "ThemeResult",
    "agreement",
    "choose_grouping",
    "closed_results",
    "consultation_results",
    "consultation_summaries",
    "effective_outcome",
    "export_columns",
    "export_rows",
    "group_breakdown",
    "highlights",
    "in_tree_order",
    "outcome_filter",
    "percent",
    "plain_summary",
    "latest_run",
    "llm_use",
    "llm_uses",
    "ordered_groups",
    "question_results",
    "quote_texts",
    "respondent_counts",
    "share",
]
