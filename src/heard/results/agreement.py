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

    A run that replaces the question's themes (rediscovery, or mapping to a codebook)
    retires every coding made before it (:func:`heard.store.audit.retire_codings`): the
    themes it names are gone, so it counts no more, and its response is back in blind
    review's queue. Retired codings stay in the history; :func:`agreement` says how many
    responses they leave uncounted, and which run retired them. A run that keeps the themes
    (a re-map) retires nothing.

Agreement compares, over the coded responses, the analysis's themes (prediction) with the
analyst's (gold): micro/macro F1 with 95% bootstrap intervals, with "Other" (a response
with no theme counts as the label "Other") and without it (themes only).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from heard.results.model import Agreement, RetiredCodings
from heard.store.audit import (
    BLIND_REVIEW,
    CODING_ACTIONS,
    EDIT_RESPONSE,
    EDIT_RESPONSE_AND_COPIES,
    coding_events,
)
from heard.store.models import AuditEvent, Question, Response, Theme

__all__ = [
    "BLIND_REVIEW", "CODING_ACTIONS", "EDIT_RESPONSE", "EDIT_RESPONSE_AND_COPIES", "Coding",
    "agreement", "coded_response_ids", "coding_events", "coding_of", "coding_record",
    "codings", "retired_codings", "theme_names",
]

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
                                       action__in=CODING_ACTIONS, reverted=False,
                                       retired_by__isnull=True)
             .order_by("-created_at", "-id").first())
    record = event and ((event.after or {}).get("coding") or _from_snapshot(event))
    return _coding(event.action, record) if record else None


def _latest(events: QuerySet[AuditEvent]) -> dict[int, tuple[int | None, str, dict]]:
    """Per response, its latest coding among ``events``: (the id of the event that retired
    it, if one did; the action; the coding record). Codings of responses the analysis had
    made no proposal for are left out (see the module's docstring)."""
    latest: dict[int, tuple[int, str, dict | None, int | None]] = {}
    for event_id, target, action, record, retired_by in events.order_by(
        "created_at", "id"
    ).values_list("id", "target_id", "action", "after__coding", "retired_by"):
        latest[target] = (event_id, action, record, retired_by)
    older = [event_id for event_id, _, record, _ in latest.values() if not record]
    recovered = {e.id: _from_snapshot(e) for e in AuditEvent.objects.filter(id__in=older)}
    out = {}
    for target, (event_id, action, record, retired_by) in sorted(latest.items()):
        record = record or recovered.get(event_id)
        if record and record.get("analysed", True):
            out[target] = (retired_by, action, record)
    return out


def codings(question: Question | int) -> dict[int, Coding]:
    """Each coded response of ``question`` with its latest per-response coding."""
    return {target: _coding(action, record)
            for target, (_, action, record) in _latest(coding_events(question)).items()}


def retired_codings(question: Question | int) -> list[RetiredCodings]:
    """The responses whose coding a run retired and that no analyst has coded since, by the
    event that retired their latest coding (oldest first)."""
    live = set(coded_response_ids(question).values_list("target_id", flat=True))
    by_event: dict[int, int] = {}
    for target, (retired_by, _, _) in _latest(coding_events(question, retired=True)).items():
        if target not in live:
            by_event[retired_by] = by_event.get(retired_by, 0) + 1
    events = AuditEvent.objects.filter(id__in=by_event).order_by("created_at", "id")
    return [RetiredCodings(run_id=e.run_id, at=e.created_at, responses=by_event[e.id],
                           source=(e.after or {}).get("source", "discovery"))
            for e in events]


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
    retired = retired_codings(qid)
    if not found:
        return Agreement(reviewed=0, kept=0, removed=0, added=0, retired=retired)
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
        per_theme=per_theme, retired=retired,
    )
