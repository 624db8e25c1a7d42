"""AI-vs-human agreement of one question, scored with :mod:`heard.analysis.metrics` only.

Per-response coding (the one definition)
    An analyst's decision about one response's themes, made on that response: saving the
    coding form of the response reader or of blind review. Each writes one audit event
    whose action is in :data:`CODING_ACTIONS` and whose target is that response; its
    ``after["coding"]`` holds the themes the analysis had proposed for the response
    (``ai_original``) and the themes the analyst chose, both as theme ids, at that moment.
    A reverted event is no coding; a response coded twice counts once, by its latest coding;
    a coding of a response the analysis had no outcome for (not analysed yet, "No
    substantive answer", unprocessable) is kept but scores nothing, as the analysis made no
    proposal to agree with.

    Not per-response coding: theme-level changes (split, merge, move, delete, rename), the
    copies a coding was applied to ("apply to all copies" codes the response it was made on,
    not its copies), and changes made by a run's LLM stage. None of them enters agreement,
    and a theme-level change made after a coding does not alter that coding.

Agreement compares, over the coded responses, the analysis's themes (prediction) with the
analyst's (gold): micro/macro F1 with 95% bootstrap intervals, with "Other" (a response
with no theme counts as the label "Other") and without it (themes only).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from heard.results.model import Agreement
from heard.store.models import AuditEvent, Question, Response, Theme

# The audit actions that are per-response coding (see the module's docstring).
EDIT_RESPONSE = "edit response"
EDIT_RESPONSE_AND_COPIES = "edit response and copies"
BLIND_REVIEW = "blind review"
CODING_ACTIONS = (EDIT_RESPONSE, EDIT_RESPONSE_AND_COPIES, BLIND_REVIEW)
OTHER = "other"  # the label of a response with no theme (theme labels are theme ids)


@dataclass(frozen=True)
class Coding:
    """One per-response coding: the analysis's themes and the analyst's, as theme ids."""

    ai: frozenset[int]
    human: frozenset[int]
    blind: bool = False  # made in blind review


def _coding(action: str, record: dict) -> Coding:
    return Coding(frozenset(record["ai"]), frozenset(record["human"]), action == BLIND_REVIEW)


def coding_record(ai: set[int], human: set[int], analysed: bool = True) -> dict:
    """What a coding event stores in ``after["coding"]``; ``analysed`` is False when the
    analysis had not proposed anything for the response (pending, empty or unprocessable)."""
    return {"ai": sorted(ai), "human": sorted(human), "analysed": analysed}


def coding_events(question: Question | int) -> QuerySet[AuditEvent]:
    """The audit events that are per-response codings of ``question``'s responses."""
    qid = getattr(question, "pk", question)
    return AuditEvent.objects.filter(
        target_type="response", action__in=CODING_ACTIONS, reverted=False,
        target_id__in=Response.objects.filter(question_id=qid).values("id"),
    )


def coded_response_ids(question: Question | int) -> QuerySet:
    """Ids of the responses of ``question`` with a per-response coding (a subquery)."""
    return coding_events(question).values("target_id")


def _from_snapshot(event: AuditEvent) -> dict | None:
    """The coding of an event written before events held it, from its response snapshot."""
    snap = ((event.after or {}).get("responses") or {}).get(str(event.target_id))
    if snap is None:
        return None
    rows = snap.get("assignments") or []
    return coding_record({r[0] for r in rows if r[2]}, {r[0] for r in rows if r[3]})


def coding_of(response: Response | int) -> Coding | None:
    """The latest per-response coding of one response, if it has one."""
    rid = getattr(response, "pk", response)
    event = (AuditEvent.objects.filter(target_type="response", target_id=rid,
                                       action__in=CODING_ACTIONS, reverted=False)
             .order_by("-created_at", "-id").first())
    record = event and ((event.after or {}).get("coding") or _from_snapshot(event))
    return _coding(event.action, record) if record else None


def codings(question: Question | int) -> dict[int, Coding]:
    """Each coded response of ``question`` with its latest per-response coding."""
    latest: dict[int, tuple[int, str, dict | None]] = {}
    for event_id, target, action, record in coding_events(question).order_by(
        "created_at", "id"
    ).values_list("id", "target_id", "action", "after__coding"):
        latest[target] = (event_id, action, record)
    older = [event_id for event_id, _, record in latest.values() if not record]
    recovered = {e.id: _from_snapshot(e) for e in AuditEvent.objects.filter(id__in=older)}
    out: dict[int, Coding] = {}
    for target, (event_id, action, record) in sorted(latest.items()):
        record = record or recovered.get(event_id)
        if record and record.get("analysed", True):
            out[target] = _coding(action, record)
    return out


def theme_names(question: Question | int) -> dict[int, str]:
    """Each theme's name as analysts read it in a list: "Parent › Sub-theme"."""
    qid = getattr(question, "pk", question)
    rows = list(Theme.objects.filter(question_id=qid).values_list("id", "label", "parent_id"))
    labels = {tid: label for tid, label, _ in rows}
    return {tid: f"{labels[parent]} › {label}" if parent in labels else label
            for tid, label, parent in rows}


def _labels(themes: frozenset[int], with_other: bool) -> list[str]:
    if not themes and with_other:
        return [OTHER]
    return sorted(str(t) for t in themes)


def agreement(question: Question | int, *, n_boot: int = 500, seed: int = 0) -> Agreement:
    """The analysis's themes against the analysts' over the responses coded one at a time."""
    qid = getattr(question, "pk", question)
    found = codings(qid)
    if not found:
        return Agreement(reviewed=0, kept=0, removed=0, added=0)
    # imported here: numpy and the metrics are only needed when agreement is asked for
    from heard.analysis.metrics import (
        bootstrap_multilabel,
        bootstrap_per_label,
        multilabel_scores,
        per_label_scores,
    )

    rows = list(found.values())
    kept = sum(len(c.ai & c.human) for c in rows)
    removed = sum(len(c.ai - c.human) for c in rows)
    added = sum(len(c.human - c.ai) for c in rows)
    keys = dict(Theme.objects.filter(question_id=qid).values_list("id", "key"))
    names = theme_names(qid)
    used = sorted({t for c in rows for t in c.ai | c.human})
    scores: dict[bool, tuple[dict, dict, list, list, list]] = {}
    for with_other in (True, False):
        gold = [_labels(c.human, with_other) for c in rows]
        pred = [_labels(c.ai, with_other) for c in rows]
        space = [str(t) for t in used] + ([OTHER] if with_other else [])
        scores[with_other] = (
            multilabel_scores(gold, pred, space),
            bootstrap_multilabel(gold, pred, space, n_boot=n_boot, seed=seed),
            gold, pred, space,
        )
    _, _, gold, pred, space = scores[True]
    per_label_ci = bootstrap_per_label(gold, pred, space, n_boot=n_boot, seed=seed)

    def describe(label: str) -> tuple[str, str]:
        if label == OTHER:
            return OTHER, "Other (no theme)"
        tid = int(label)
        return (keys[tid], names[tid]) if tid in keys else (f"#{label}", "A deleted theme")

    per_theme = [
        {"key": describe(s.label)[0], "label": describe(s.label)[1], "precision": s.precision,
         "recall": s.recall, "f1": s.f1, "support": s.support, "predicted": s.predicted,
         "ci": per_label_ci[s.label]}
        for s in per_label_scores(gold, pred, space)
        if s.support or s.predicted
    ]
    return Agreement(
        reviewed=len(rows), blind=sum(c.blind for c in rows),
        kept=kept, removed=removed, added=added,
        overall=scores[True][0], intervals=scores[True][1],
        without_other=scores[False][0], intervals_without_other=scores[False][1],
        per_theme=per_theme,
    )
