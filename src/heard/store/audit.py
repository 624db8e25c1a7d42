"""Audit events: snapshots of themes and responses before and after a change, and the event.

Analysts' edits (``heard.web.editing``) and the LLM stage of a run
(``heard.pipeline.llm_stage``) write the same events, so one history shows both and either
can be reverted by restoring its ``before`` snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from heard.store.models import (
    RETIRE_CODINGS,
    Assignment,
    AuditEvent,
    Question,
    Response,
    Run,
    Theme,
)

# The actions of per-response coding events (the definition is in heard.results.agreement).
EDIT_RESPONSE = "edit response"
EDIT_RESPONSE_AND_COPIES = "edit response and copies"
BLIND_REVIEW = "blind review"
CODING_ACTIONS = (EDIT_RESPONSE, EDIT_RESPONSE_AND_COPIES, BLIND_REVIEW)


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


REMAP_ACTION = "re-map"


def mapping_before(run: Run | None, question: Question):
    """The question's active (response, theme) pairs, when a re-map event of ``run`` waits
    for its count of changed assignments (else None: nothing to record)."""
    if run is None or not AuditEvent.objects.filter(
        run=run, action=REMAP_ACTION, target_type="question", target_id=question.pk
    ).exists():
        return None
    return _mapping_pairs(question)


def record_mapping_change(run: Run | None, question: Question, before) -> None:
    """Write into the re-map event how many assignments the run changed: pairs added and
    removed, and the responses whose themes changed."""
    if before is None:
        return
    import numpy as np

    after = _mapping_pairs(question)
    added, removed = np.setdiff1d(after, before), np.setdiff1d(before, after)
    responses = np.unique(np.concatenate([added, removed]) >> 32).size
    for event in AuditEvent.objects.filter(run=run, action=REMAP_ACTION, target_type="question",
                                           target_id=question.pk):
        event.after = {**event.after, "changed": {"added": int(added.size),
                                                  "removed": int(removed.size),
                                                  "responses": int(responses)}}
        event.save(update_fields=["after"])


def _mapping_pairs(question: Question):
    """Active assignments of ``question`` as sorted int64 (response id << 32 | theme id)."""
    import numpy as np

    rows = Assignment.objects.filter(theme__question=question, is_active=True).values_list(
        "response_id", "theme_id")
    pairs = np.fromiter((r << 32 | t for r, t in rows.iterator(chunk_size=20_000)),
                        dtype=np.int64)
    return np.unique(pairs)


def coding_events(question: Question | int, *, retired: bool = False) -> QuerySet[AuditEvent]:
    """The per-response coding events of ``question``'s responses, not reverted: those that
    count, or with ``retired`` those a run retired (:func:`retire_codings`)."""
    qid = getattr(question, "pk", question)
    return AuditEvent.objects.filter(
        target_type="response", action__in=CODING_ACTIONS, reverted=False,
        retired_by__isnull=not retired,
        target_id__in=Response.objects.filter(question_id=qid).values("id"),
    )


def retire_codings(question: Question, run: Run | None, *, themes: int,
                   from_codebook: bool) -> AuditEvent | None:
    """Retire the analysts' codings of ``question``: ``run`` is replacing the themes they were
    made against with ``themes`` new ones (discovered, or from a codebook).

    Called in the run's save transaction, before the old themes and their assignments go.
    The coding events stay in the history, marked with the event this writes, and no longer
    count: not in agreement, and their responses are back in blind review's queue. The
    event says how many codings (and responses, and of them last coded blind) were retired,
    and how many responses lose the themes analysts had chosen for them (given or removed).
    Returns it, or None when there was nothing of the analysts' to retire.
    """
    live = coding_events(question)
    latest: dict[int, str] = {}
    for target, action in live.order_by("created_at", "id").values_list("target_id", "action"):
        latest[target] = action
    analyst_coded = (Assignment.objects.filter(theme__question=question,
                                                origin=Assignment.Origin.HUMAN)
                      .values("response_id").distinct().count())
    if not latest and not analyst_coded:
        return None
    replaced = question.themes.count()
    event = record_event(
        question, None, RETIRE_CODINGS, question, {"theme_count": replaced},
        {"theme_count": themes, "source": "codebook" if from_codebook else "discovery",
         "codings": live.count(), "coded_responses": len(latest),
         "blind": sum(action == BLIND_REVIEW for action in latest.values()),
         "analyst_coded": analyst_coded},
        run=run,
    )
    live.update(retired_by=event)
    return event
