"""The response-level export: every response with its outcome, themes, stance and campaign.

One row per response (every response comes out with its outcome and reason), with the
respondent's details (every attribute imported: ward, age band, organisation…) and their
answers to the closed questions as columns, so the usual spreadsheet cross-tabs work.
:func:`export_columns` is the data dictionary: each column with what it holds. The writers
in :mod:`heard.io.writers` only lay the rows out as CSV, XLSX or JSON Lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from heard.results.questions import ASKED, effective_outcome
from heard.store.models import Assignment, Consultation, Response

EXPORT_COLUMNS = [
    "question_id",
    "question_text",
    "question_type",
    "respondent_id",
    "respondent_type",
    "response_id",
    "text",
    "options",
    "language",
    "outcome",
    "outcome_reason",
    "themes",
    "theme_keys",
    "theme_confidence",
    "stance",
    "stance_confidence",
    "evidence_rich",
    "evidence_reason",
    "campaign_id",
    "campaign_kind",
    "campaign_size",
]


#: what each fixed column holds (the data dictionary's first rows)
COLUMN_MEANINGS = {
    "question_id": "The question's id (its column name or key in the import)",
    "question_text": "The question as asked",
    "question_type": "open (free text) or closed (options)",
    "respondent_id": "The respondent's id in the import",
    "respondent_type": "individual, organisation or unknown",
    "response_id": "The response's id",
    "text": "The response as written (with --redact: personal details replaced)",
    "options": "The options chosen (closed questions)",
    "language": "Detected language (ISO 639-1), empty when unknown",
    "outcome": "mapped, other, empty (no substantive answer), unprocessable or pending",
    "outcome_reason": "Why the response is not mapped",
    "themes": "Theme labels assigned to the response, most confident first",
    "theme_keys": "The same themes' keys",
    "theme_confidence": "The analysis's confidence in each theme, in the same order",
    "stance": "agree, disagree or unclear; empty where the question asks for no position",
    "stance_confidence": "Confidence of the stance",
    "evidence_rich": "YES when the response cites data, a source or specific experience",
    "evidence_reason": "What made it evidence-rich",
    "campaign_id": "The duplicate group or campaign the response belongs to",
    "campaign_kind": "exact, near (copies) or campaign (an organised form letter)",
    "campaign_size": "How many responses are in that group",
    "respondent_organisation": "The organisation the respondent answered for, if given",
}
RESPONDENT_PREFIX = "respondent: "
ANSWER_PREFIX = "answer: "


def _attribute_names(consultation: Consultation) -> list[str]:
    """Respondent attribute names: the demographic columns in import order, then any other."""
    present: dict[str, None] = {}
    for attributes in consultation.respondents.values_list("attributes", flat=True).iterator(
        chunk_size=5000
    ):
        present.update(dict.fromkeys(attributes or {}))
    ordered = [k for k in consultation.questions.filter(kind="demographic")
               .values_list("key", flat=True) if k in present]
    return ordered + [k for k in present if k not in set(ordered)]


def export_columns(consultation: Consultation) -> list[tuple[str, str]]:
    """The export's columns with what each holds: the fixed ones, then one per respondent
    attribute and one per closed question (the respondent's answer to it)."""
    columns = [(c, COLUMN_MEANINGS[c]) for c in EXPORT_COLUMNS]
    columns.append(("respondent_organisation", COLUMN_MEANINGS["respondent_organisation"]))
    columns += [(f"{RESPONDENT_PREFIX}{name}", f"The respondent's answer to “{name}”")
                for name in _attribute_names(consultation)]
    columns += [(f"{ANSWER_PREFIX}{q.key}", f"The respondent's answer to the closed question "
                 f"“{q.text}”") for q in consultation.questions.filter(kind="closed")]
    return columns


def _closed_answers(consultation: Consultation) -> dict[int, dict[str, object]]:
    """respondent id -> {answer column: options chosen} for the closed questions."""
    out: dict[int, dict[str, object]] = defaultdict(dict)
    for rid, key, options, text in (
        Response.objects.filter(question__consultation=consultation, question__kind="closed")
        .values_list("respondent_id", "question__key", "options", "text")
        .iterator(chunk_size=5000)
    ):
        out[rid][f"{ANSWER_PREFIX}{key}"] = options or text
    return out


def export_rows(consultation: Consultation, question: str | None = None) -> Iterator[dict]:
    """Every response with its themes, stance, evidence, campaign and outcome, and its
    respondent's details and closed answers (see :func:`export_columns`)."""
    questions = consultation.questions.filter(kind__in=ASKED)
    if question:
        questions = questions.filter(key=question)
    closed = _closed_answers(consultation)
    for q in questions:
        themes_of: dict[int, list[tuple[str, str, float | None]]] = defaultdict(list)
        for rid, key, label, conf in (
            Assignment.objects.filter(theme__question=q, is_active=True)
            .order_by("response_id", "-confidence")
            .values_list("response_id", "theme__key", "theme__label", "confidence")
            .iterator(chunk_size=5000)
        ):
            themes_of[rid].append((key, label, conf))
        rows = (
            Response.objects.filter(question=q)
            .order_by("id")
            .values_list(
                "id",
                "key",
                "text",
                "options",
                "language",
                "outcome",
                "is_empty",
                "outcome_reason",
                "stance",
                "stance_confidence",
                "evidence_rich",
                "evidence_reason",
                "respondent__key",
                "respondent__kind",
                "group__key",
                "group__kind",
                "group__size",
                "respondent_id",
                "respondent__organisation",
                "respondent__attributes",
            )
        )
        for (
            rid,
            key,
            text,
            options,
            language,
            outcome,
            is_empty,
            reason,
            stance,
            stance_conf,
            rich,
            rich_reason,
            rkey,
            rkind,
            gkey,
            gkind,
            gsize,
            respondent,
            organisation,
            attributes,
        ) in rows.iterator(chunk_size=5000):
            assigned = themes_of.get(rid, [])
            yield {
                **{f"{RESPONDENT_PREFIX}{k}": v for k, v in (attributes or {}).items()},
                **closed.get(respondent, {}),
                "respondent_organisation": organisation,
                "question_id": q.key,
                "question_text": q.text,
                "question_type": q.kind,
                "respondent_id": rkey,
                "respondent_type": rkind,
                "response_id": key or str(rid),
                "text": text,
                "options": options,
                "language": language,
                "outcome": effective_outcome(outcome, is_empty),
                "outcome_reason": reason,
                "themes": [label for _, label, _ in assigned],
                "theme_keys": [k for k, _, _ in assigned],
                "theme_confidence": [round(c, 3) for _, _, c in assigned if c is not None],
                "stance": stance,
                "stance_confidence": None if stance_conf is None else round(stance_conf, 3),
                "evidence_rich": {True: "YES", False: "NO"}.get(rich, ""),
                "evidence_reason": rich_reason,
                "campaign_id": gkey or "",
                "campaign_kind": gkind or "",
                "campaign_size": gsize or "",
            }
