"""The response-level export: every response with its outcome, themes, stance and campaign.

One row per response (every response comes out with its outcome and reason); the writers
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


def export_rows(consultation: Consultation, question: str | None = None) -> Iterator[dict]:
    """Every response with its themes, stance, evidence, campaign and outcome."""
    questions = consultation.questions.filter(kind__in=ASKED)
    if question:
        questions = questions.filter(key=question)
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
        ) in rows.iterator(chunk_size=5000):
            assigned = themes_of.get(rid, [])
            yield {
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
