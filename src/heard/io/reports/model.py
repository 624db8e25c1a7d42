"""The report's content, as plain data for the renderers.

Everything a reader sees in any format is decided here: the wording of the method and
caveats, the chart data with its alt text and its table, and the quotes after PII
redaction. Every number comes from the results model (:mod:`heard.results`); this module
formats it and never queries the store itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from heard import __version__
from heard.results import (
    KIND,
    ClosedResults,
    ConsultationResults,
    Grouping,
    LLMUse,
    QuestionResults,
    Sentence,
    choose_grouping,
    consultation_results,
    group_breakdown,
    latest_run,
    llm_uses,
    plain_summary,
    quote_texts,
    respondent_counts,
)
from heard.results import agreement as read_agreement
from heard.results import highlights as read_highlights
from heard.results import percent as pct  # the one way a share is written

if TYPE_CHECKING:
    from heard.store.models import Consultation, Run

# GOV.UK colours
BLUE = "#1d70b8"
TEXT = "#0b0c0c"
SECONDARY = "#505a5f"
GREEN = "#00703c"
RED = "#d4351c"
ORANGE = "#f47738"
PURPLE = "#4c2c92"
TURQUOISE = "#28a197"
DARK_BLUE = "#003078"
LIGHT_BLUE = "#5694ca"
SERIES_COLOURS = [BLUE, GREEN, ORANGE, PURPLE, TURQUOISE, RED, DARK_BLUE, SECONDARY]
STANCE_ORDER = [
    ("agree", "Agree", GREEN),
    ("disagree", "Disagree", RED),
    ("unclear", "Unclear", SECONDARY),
]

QUOTES_PER_THEME = 3
QUOTES_PER_SUBTHEME = 2
QUOTE_CHARS = 320
HIGHLIGHTS = 4
MAX_CHART_CHILDREN = 8


# ---------------------------------------------------------------- the model


@dataclass
class Table:
    """A data table: the first column holds the row headers."""

    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Series:
    name: str
    values: list[float]
    colour: str
    labels: list[str] = field(default_factory=list)  # value labels, one per category
    colours: list[str] = field(default_factory=list)  # per category, overriding ``colour``


@dataclass
class Chart:
    """A horizontal bar chart: "bar" (one series), "grouped" or "stacked" (shares of 100%)."""

    key: str
    title: str
    alt: str
    kind: str
    categories: list[str]
    series: list[Series]
    table: Table
    percent: bool = False  # values are shares (0..1)


@dataclass
class ThemeEntry:
    key: str
    label: str
    description: str
    count: int
    share: str
    level: int
    stance: dict[str, int] = field(default_factory=dict)
    quotes: list[str] = field(default_factory=list)
    children: list[ThemeEntry] = field(default_factory=list)


@dataclass
class Highlight:
    text: str
    reason: str
    themes: list[str]


@dataclass
class Campaign:
    question: str
    kind: str
    size: int
    text: str


@dataclass
class Agreement:
    """The AI's themes against the analysts' per-response coding, for one question."""

    reviewed: bool
    summary: str
    ai_proposed: int = 0
    kept: int = 0
    removed: int = 0
    added: int = 0
    responses_coded: int = 0
    f1: float | None = None  # micro-F1 with "Other"
    f1_without_other: float | None = None


@dataclass
class OpenSection:
    kind = "open"
    key: str
    anchor: str
    text: str
    responses: int
    substantive: int
    other: int
    empty: int
    unprocessable: int
    stage: str
    signed_off: str
    themes: list[ThemeEntry]
    theme_chart: Chart | None
    stance_chart: Chart | None
    group_chart: Chart | None
    highlights: list[Highlight]
    campaigns: list[Campaign]
    agreement: Agreement
    paired: str = ""
    summary: list[Sentence] = field(default_factory=list)  # the question in plain words


@dataclass
class ClosedSection:
    kind = "closed"
    key: str
    anchor: str
    text: str
    responses: int
    answered: int
    chart: Chart | None


@dataclass
class Overview:
    responses: int
    respondents: int
    open_questions: int
    closed_questions: int
    kinds: Table
    grouping: str
    groups: Table | None
    campaigns: list[Campaign]
    campaign_responses: int


@dataclass
class Method:
    ai_use: list[str]
    run: Table | None
    review: Table
    caveats: list[str]
    llm: Table | None = None  # what each LLM stage sent and spent, when one was used


@dataclass
class Report:
    name: str
    title: str
    description: str
    generated_at: str
    heard_version: str
    overview: Overview
    sections: list[OpenSection | ClosedSection]
    method: Method

    @property
    def open_sections(self) -> list[OpenSection]:
        return [s for s in self.sections if s.kind == "open"]


# ---------------------------------------------------------------- helpers


def number(n: int) -> str:
    return f"{n:,}"


def clean_quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A quote with PII redacted, whitespace tidied and cut at a word near ``limit``."""
    from heard.privacy.redaction import redact

    text = re.sub(r"\s+", " ", redact(text or "").text).strip()
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
        text = cut + " …"
    return text


def _anchor(key: str) -> str:
    return "q-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "question")


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%d %B %Y, %H:%M") if value else ""


# ---------------------------------------------------------------- build


def build_report(
    consultation: Consultation,
    question: str | None = None,
    *,
    group_by: str | None = None,
) -> Report:
    """The report's content for ``consultation`` (or one question) from the results model."""
    results = consultation_results(consultation, question)
    grouping = choose_grouping(consultation, group_by)
    sections: list[OpenSection | ClosedSection] = []
    for q in results.open:
        sections.append(_open_section(q, grouping))
    for c in results.closed:
        sections.append(_closed_section(c))
    order = {key: i for i, key in enumerate(results.order)}
    sections.sort(key=lambda s: order.get(s.key, 0))
    overview = _overview(consultation, results, grouping)
    return Report(
        name=results.name,
        title=results.title or results.name,
        description=results.description,
        generated_at=_when(timezone.now()),
        heard_version=__version__,
        overview=overview,
        sections=sections,
        method=_method(latest_run(consultation), sections, overview, llm_uses(consultation)),
    )


def _overview(
    consultation: Consultation, results: ConsultationResults, grouping: Grouping | None
) -> Overview:
    respondents = results.respondents
    kinds = Table(
        "Respondents by type",
        ["Respondent type", "Respondents", "Share"],
        [[k, number(n), pct(n, respondents)] for k, n in respondent_counts(consultation, KIND)],
    )
    groups = None
    if grouping is not None:
        groups = Table(
            f"Respondents by {grouping.name}",
            [grouping.name, "Respondents", "Share"],
            [[g, number(n), pct(n, respondents)]
             for g, n in respondent_counts(consultation, grouping)],
        )
    return Overview(
        responses=results.answered,
        respondents=respondents,
        open_questions=len(results.open),
        closed_questions=len(results.closed),
        kinds=kinds,
        grouping=grouping.name if grouping else "",
        groups=groups,
        campaigns=[_campaign(c) for c in results.campaigns],
        campaign_responses=results.campaign_responses,
    )


def _campaign(c) -> Campaign:
    return Campaign(c.question, c.kind, c.size, clean_quote(c.text, 200))


def _open_section(question: QuestionResults, grouping: Grouping | None) -> OpenSection:
    base = question.base
    entries: dict[str, ThemeEntry] = {}
    roots: list[ThemeEntry] = []
    seen: set[str] = set()
    for theme in question.themes:
        limit = QUOTES_PER_SUBTHEME if theme.level else QUOTES_PER_THEME
        entry = ThemeEntry(
            key=theme.key,
            label=theme.label,
            description=theme.description,
            count=theme.count,
            share=pct(theme.count, base),
            level=theme.level,
            stance=theme.stance,
            quotes=_quotes(quote_texts(theme, limit), limit, seen),
        )
        entries[theme.key] = entry
        parent = entries.get(theme.parent) if theme.parent else None
        (parent.children if parent else roots).append(entry)
    roots.sort(key=lambda e: -e.count)
    for entry in roots:
        entry.children.sort(key=lambda e: -e.count)
    o = question.outcomes
    name = question.key
    return OpenSection(
        key=question.key,
        anchor=_anchor(question.key),
        text=question.text,
        responses=o.total,
        substantive=base,
        other=o.other,
        empty=o.empty,
        unprocessable=o.unprocessable,
        stage=question.stage_label,
        signed_off=_signed_off(question),
        themes=roots,
        theme_chart=_theme_chart(name, roots, o.other, o.empty, base, o.total),
        stance_chart=_stance_chart(name, question.stance, roots),
        group_chart=_group_chart(question, grouping, roots) if grouping else None,
        highlights=[
            Highlight(clean_quote(h.text, 500), clean_quote(h.reason, 200) or "evidence-rich",
                      h.themes)
            for h in read_highlights(question, HIGHLIGHTS)
        ],
        campaigns=[_campaign(c) for c in question.campaigns],
        agreement=_agreement(question),
        paired=question.paired,
        summary=plain_summary(question),
    )


def _signed_off(question: QuestionResults) -> str:
    if question.stage == "draft":
        return "Not signed off"
    parts = [question.stage_label]
    if question.stage_changed_by:
        parts.append(f"by {question.stage_changed_by}")
    if question.stage_changed_at:
        parts.append(f"on {_when(question.stage_changed_at)}")
    return " ".join(parts)


def _quotes(texts: list[str], limit: int, seen: set[str]) -> list[str]:
    """Up to ``limit`` redacted quotes, none already shown in the question."""
    chosen = []
    for text in texts:
        quote = clean_quote(text)
        if quote and quote not in seen:
            seen.add(quote)
            chosen.append(quote)
        if len(chosen) >= limit:
            break
    return chosen


def _agreement(question: QuestionResults) -> Agreement:
    """Micro-F1 of the AI's themes against the responses analysts coded one at a time."""
    result = read_agreement(question.id, n_boot=0)
    retired = (
        f" Codings of {number(result.retired_responses)} "
        f"response{'s' if result.retired_responses != 1 else ''} made against themes since "
        "replaced (the themes were discovered afresh or mapped to a codebook) are not counted."
        if result.retired_responses else ""
    )
    if not result.reviewed:
        reviewed = question.stage in ("mapping_reviewed", "final")
        summary = (
            "Signed off with no response coded one at a time by an analyst."
            if reviewed
            else "No human review yet: no analyst has coded a response one at a time."
        )
        return Agreement(reviewed=False, summary=summary + retired)
    f1, without = result.f1 or 0.0, result.f1_without_other or 0.0
    summary = (
        f"Analysts coded {number(result.reviewed)} responses one at a time: of the "
        f"{number(result.ai_proposed)} themes the AI proposed for them they kept "
        f"{number(result.kept)} and removed {number(result.removed)}, and they added "
        f"{number(result.added)}. Agreement between the AI and the analysts (micro-F1) is "
        f"{f1:.2f}, or {without:.2f} leaving out “Other”." + retired
    )
    return Agreement(
        reviewed=True,
        summary=summary,
        ai_proposed=result.ai_proposed,
        kept=result.kept,
        removed=result.removed,
        added=result.added,
        responses_coded=result.reviewed,
        f1=f1,
        f1_without_other=without,
    )


def _closed_section(question: ClosedResults) -> ClosedSection:
    answered = question.answered
    chart = None
    if question.chosen:
        title = f"{question.key}: answers by option"
        table = Table(
            f"{question.key}: respondents choosing each option",
            ["Option", "Respondents", "Share of those answering"],
            [[o, number(n), pct(n, answered)] for o, n in question.chosen],
        )
        top, top_n = max(question.chosen, key=lambda c: c[1])
        chart = Chart(
            key=f"{_anchor(question.key)}-options",
            title=title,
            alt=(
                f"Bar chart of the {len(question.chosen)} options of {question.key}, answered by "
                f"{number(answered)} respondents. The most chosen is “{top}” with "
                f"{number(top_n)} ({pct(top_n, answered)}). Data in the table below."
            ),
            kind="bar",
            categories=[o for o, _ in question.chosen],
            series=[
                Series(
                    "Respondents",
                    [n for _, n in question.chosen],
                    BLUE,
                    [f"{number(n)} ({pct(n, answered)})" for _, n in question.chosen],
                )
            ],
            table=table,
        )
    return ClosedSection(
        key=question.key,
        anchor=_anchor(question.key),
        text=question.text,
        responses=question.total,
        answered=answered,
        chart=chart,
    )


# ---------------------------------------------------------------- charts


def _theme_chart(
    name: str, roots: list[ThemeEntry], other: int, empty: int, substantive: int, total: int
) -> Chart | None:
    cats: list[tuple[str, int, str]] = []
    colours: list[str] = []
    for entry in roots:
        cats.append((entry.label, entry.count, entry.share))
        colours.append(BLUE)
        for child in entry.children[:MAX_CHART_CHILDREN]:
            cats.append((f"– {child.label}", child.count, child.share))
            colours.append(LIGHT_BLUE)
    colours += [SECONDARY, SECONDARY]
    if other:
        cats.append(("Other", other, pct(other, substantive)))
    if empty:
        cats.append(("No substantive answer", empty, pct(empty, total)))
    if not cats:
        return None
    rows = []
    for entry in roots:
        rows.append([entry.label, number(entry.count), entry.share])
        for child in entry.children:
            rows.append([f"— {child.label}", number(child.count), child.share])
    if other:
        rows.append(["Other", number(other), pct(other, substantive)])
    if empty:
        rows.append(["No substantive answer", number(empty), pct(empty, total)])
    top = roots[0] if roots else None
    alt = (
        f"Bar chart of the {len(roots)} themes of {name} (dark bars) and their sub-themes "
        "(light bars, under their theme), by number of responses."
    )
    if top:
        alt += f" The largest is “{top.label}”: {number(top.count)} responses ({top.share})."
    alt += " Data, with sub-themes, in the table below."
    return Chart(
        key=f"{_anchor(name)}-themes",
        title=f"{name}: responses per theme",
        alt=alt,
        kind="bar",
        categories=[c[0] for c in cats],
        series=[
            Series(
                "Responses",
                [c[1] for c in cats],
                BLUE,
                [f"{number(c[1])} ({c[2]})" for c in cats],
                colours[: len(cats)],
            )
        ],
        table=Table(
            f"{name}: responses per theme and sub-theme (share of substantive responses; "
            "“No substantive answer” as a share of all responses)",
            ["Theme", "Responses", "Share"],
            rows,
        ),
    )


def _stance_chart(name: str, overall: dict[str, int], roots: list[ThemeEntry]) -> Chart | None:
    if not sum(overall.values()):
        return None
    cats = [("All responses with a stance", overall)] + [(e.label, e.stance) for e in roots]
    series = []
    for key, label, colour in STANCE_ORDER:
        values, labels = [], []
        for _, counts in cats:
            whole = sum(counts.values())
            values.append(counts.get(key, 0) / whole if whole else 0.0)
            labels.append(pct(counts.get(key, 0), whole))
        series.append(Series(label, values, colour, labels))
    rows = []
    for label, counts in cats:
        whole = sum(counts.values())
        rows.append(
            [label]
            + [
                f"{number(counts.get(k, 0))} ({pct(counts.get(k, 0), whole)})"
                for k, _, _ in STANCE_ORDER
            ]
        )
    whole = sum(overall.values())
    alt = (
        f"Stacked bar chart of stance in {name}, overall and per theme. Overall: "
        + ", ".join(f"{lab.lower()} {pct(overall.get(k, 0), whole)}" for k, lab, _ in STANCE_ORDER)
        + ". Data in the table below."
    )
    return Chart(
        key=f"{_anchor(name)}-stance",
        title=f"{name}: stance overall and per theme",
        alt=alt,
        kind="stacked",
        categories=[c[0] for c in cats],
        series=series,
        table=Table(
            f"{name}: stance overall and per theme (responses, share of the row)",
            ["Theme"] + [lab for _, lab, _ in STANCE_ORDER],
            rows,
        ),
        percent=True,
    )


def _group_chart(
    question: QuestionResults, grouping: Grouping, roots: list[ThemeEntry]
) -> Chart | None:
    """Share of each group's substantive responses that mention each theme."""
    if not roots:
        return None
    breakdown = group_breakdown(question, grouping)
    groups = [g for g, _ in breakdown.groups]
    if len(groups) < 2:
        return None
    totals = dict(breakdown.groups)
    series = []
    for position, group in enumerate(groups):
        series.append(
            Series(
                f"{group} ({number(totals[group])})",
                [breakdown.share(e.key, group) for e in roots],
                SERIES_COLOURS[position % len(SERIES_COLOURS)],
                [pct(breakdown.count(e.key, group), totals[group]) for e in roots],
            )
        )
    rows = [
        [e.label]
        + [
            f"{number(breakdown.count(e.key, g))} ({pct(breakdown.count(e.key, g), totals[g])})"
            for g in groups
        ]
        for e in roots
    ]
    rows.append(["Substantive responses"] + [number(totals[g]) for g in groups])
    name = question.key
    return Chart(
        key=f"{_anchor(name)}-groups",
        title=f"{name}: themes by {grouping.name}",
        alt=(
            f"Grouped bar chart of the share of each group's substantive responses to {name} "
            f"that raise each theme, for {len(groups)} groups of {grouping.name}: "
            + ", ".join(groups)
            + ". Counts and shares in the table below."
        ),
        kind="grouped",
        categories=[e.label for e in roots],
        series=series,
        table=Table(
            f"{name}: responses per theme and {grouping.name} (share of the group's "
            "substantive responses)",
            ["Theme"] + groups,
            rows,
        ),
        percent=True,
    )


# ---------------------------------------------------------------- method


def _llm_use(uses: list[LLMUse], keys: set[str]) -> tuple[list[str], Table | None]:
    """Sentences and a table on the LLM stages that covered the questions ``keys``."""
    rows, sentences = [], []
    for use in uses:
        covered = [q for q in use.questions if q.key in keys]
        if not covered:
            continue
        sent = sum(q.sent for q in covered)
        total = sum(q.responses for q in covered)
        keys = ", ".join(q.key for q in covered)
        what = (
            f"The text of {number(sent)} of {number(total)} responses ({pct(sent, total)}) to "
            f"{keys} was sent to it"
            if all(q.sent_recorded for q in covered)
            else f"Responses to {keys} were sent to it (how many was not recorded by the "
            "version of Heard that made this run)"
        )
        sentences.append(
            f"A large language model was used in run #{use.run_id}: {use.model} from "
            f"{use.provider}, for {', '.join(use.stages)}. {what}, with personal details "
            "redacted first: samples of each theme, the responses the offline analysis was "
            "least sure of, and those quoted in summaries. Its changes to themes are in the "
            "history of changes, and analysts review them like any other proposal."
        )
        rows += [
            [f"#{use.run_id}", use.name, q.key,
             f"{number(q.sent)} of {number(q.responses)}" if q.sent_recorded else "not recorded",
             pct(q.sent, q.responses) if q.sent_recorded else "—", number(q.calls),
             f"{number(q.prompt_tokens)} in, {number(q.completion_tokens)} out", q.cost_text]
            for q in covered
        ]
    if not rows:
        return [], None
    return sentences, Table(
        "Large language model use: responses sent, calls, tokens and cost",
        ["Run", "Model", "Question", "Responses sent", "Share", "Calls", "Tokens", "Cost"],
        rows,
    )


def _method(
    run: Run | None, sections: list, overview: Overview, uses: list[LLMUse] | None = None
) -> Method:
    open_sections = [s for s in sections if s.kind == "open"]
    llm_sentences, llm_table = _llm_use(uses or [], {s.key for s in open_sections})
    ai_use = [
        "Heard read every response with software running on this organisation's own machine"
        + ("; no response left it." if llm_table is None else
           ". Only the large language model described below received any response text."),
    ]
    run_table = None
    versions = (run.versions or {}) if run is not None else {}
    if run is None:
        ai_use.append("No completed analysis run is recorded, so no themes are AI proposals.")
    else:
        embedder = versions.get("embedder", "the bundled sentence-embedding model")
        ai_use += [
            f"Each response was turned into a vector by an offline sentence-embedding model "
            f"({embedder}); exact copies, near copies and campaigns were grouped first so that "
            "each distinct argument was analysed once and counted as often as it was sent.",
            "Themes were proposed by clustering those vectors into a two-level hierarchy, "
            "labelled with the opening words of a typical response and illustrated with verbatim "
            "quotes. "
            "Each response was then mapped to zero or more themes, to “Other”, or to “No "
            "substantive answer”.",
            "Stance (agree, disagree, unclear) comes from a classifier that uses the answers to "
            "a paired closed question as weak labels where one exists. Evidence-rich responses "
            "(data, examples, lived experience) were flagged by rules, each with its reason.",
        ]
    ai_use += llm_sentences or ["No large language model was used."]
    if run is not None:
        rows = [
            ["Run", f"#{run.pk}, {run.get_status_display().lower()}"],
            ["Finished", _when(run.finished_at)],
            ["Seed", str(run.seed)],
        ]
        rows += [[f"Version: {k}", str(v)] for k, v in sorted(versions.items())]
        rows += [
            [f"Parameter: {k}", "—" if v in (None, "") else str(v)]
            for k, v in sorted((run.params or {}).items())
            if k != "seed"
        ]
        run_table = Table("The analysis run, its models and versions", ["Item", "Value"], rows)
    review = Table(
        "Human review and sign-off per question",
        ["Question", "Stage", "Signed off", "AI vs human agreement"],
        [
            [
                s.key,
                s.stage,
                s.signed_off,
                "No human review yet"
                if not s.agreement.reviewed
                else f"micro-F1 {s.agreement.f1:.2f} over {number(s.agreement.responses_coded)} "
                "responses coded",
            ]
            for s in open_sections
        ],
    )
    caveats = [
        "Themes are proposals from automated analysis until analysts sign them off; a "
        "question's stage above says how far its review has gone.",
        "A response can raise several themes, so theme counts add up to more than the number "
        "of responses, and theme shares to more than 100%.",
    ]
    for s in open_sections:
        unreadable = (
            f" {number(s.unprocessable)} could not be read (unprocessable documents; each is "
            "listed with its reason in the export) and are left out of the theme shares."
            if s.unprocessable
            else ""
        )
        caveats.append(
            f"{s.key}: {number(s.other)} responses matched no theme (“Other”) and "
            f"{number(s.empty)} gave no substantive answer, out of {number(s.responses)}."
            + unreadable
        )
    if overview.campaigns:
        caveats.append(
            f"Organised campaigns: {number(len(overview.campaigns))}, with "
            f"{number(overview.campaign_responses)} responses in all. Each campaign response is "
            "counted as a response in the theme counts, as it was sent."
        )
    else:
        caveats.append("No organised campaigns were detected.")
    caveats.append(
        "Stance and evidence flags are automated estimates; quotes are verbatim apart from "
        "personal details (emails, phone numbers, postcodes, National Insurance and card "
        "numbers, names) replaced by placeholders such as [EMAIL]."
    )
    return Method(ai_use=ai_use, run=run_table, review=review, caveats=caveats, llm=llm_table)


__all__ = [
    "Agreement",
    "Campaign",
    "Chart",
    "ClosedSection",
    "Highlight",
    "Method",
    "OpenSection",
    "Overview",
    "Report",
    "Series",
    "Table",
    "ThemeEntry",
    "build_report",
    "choose_grouping",
    "clean_quote",
    "pct",
]
