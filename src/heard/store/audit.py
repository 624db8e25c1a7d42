"""Audit events: snapshots of themes and responses before and after a change, and the event.

Analysts' edits (``heard.web.editing``) and the LLM stage of a run
(``heard.pipeline.llm_stage``) write the same events, so one history shows both and either
can be reverted by restoring its ``before`` snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable

from heard.store.models import Assignment, AuditEvent, Question, Response, Run, Theme


def theme_snapshot(theme: Theme) -> dict:
    return {
        "id": theme.id, "question_id": theme.question_id, "key": theme.key,
        "label": theme.label, "description": theme.description,
        "parent_id": theme.parent_id, "position": theme.position, "origin": theme.origin,
        "key_phrases": theme.key_phrases, "quotes": theme.quotes,
    }


def responses_snapshot(response_ids: Iterable[int]) -> dict[str, dict]:
    ids = sorted(set(response_ids))
    out: dict[str, dict] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for r in Response.objects.filter(id__in=chunk).values(
            "id", "outcome", "outcome_reason", "stance", "evidence_rich", "is_flagged"
        ):
            out[str(r.pop("id"))] = {**r, "assignments": []}
        for rid, theme_id, origin, ai, active, conf in Assignment.objects.filter(
            response_id__in=chunk
        ).values_list("response_id", "theme_id", "origin", "ai_original", "is_active",
                      "confidence"):
            out[str(rid)]["assignments"].append([theme_id, origin, ai, active, conf])
    return out


def theme_responses(theme_ids: Iterable[int]) -> set[int]:
    return set(
        Assignment.objects.filter(theme_id__in=list(theme_ids)).values_list(
            "response_id", flat=True
        )
    )


def record_event(question: Question, user, action: str, target: Theme | Response | Question,
                 before: dict, after: dict, *, run: Run | None = None) -> AuditEvent:
    """Write one event: ``user`` for a person's change, or None and ``run`` for a change
    made by a stage of that run."""
    return AuditEvent.objects.create(
        consultation_id=question.consultation_id,
        user=user if user is not None and user.is_authenticated else None,
        run=run,
        action=action,
        target_type=type(target).__name__.lower(),
        target_id=target.pk,
        before={"question_id": question.id, **before},
        after={"question_id": question.id, **after},
    )
