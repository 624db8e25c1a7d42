"""AI-vs-human agreement of one question, scored with :mod:`heard.analysis.metrics` only."""

from __future__ import annotations

from django.db.models import Count, F, Q

from heard.results.model import Agreement
from heard.store.models import Assignment, Question, Theme

# An analyst touched the response: a human-origin assignment, or one switched off or added.
TOUCHED = Q(origin=Assignment.Origin.HUMAN) | ~Q(ai_original=F("is_active"))


def agreement(question: Question | int, *, n_boot: int = 500, seed: int = 0) -> Agreement:
    """The AI's original assignments (``ai_original``) against the current ones.

    Over the whole question from counts (kept = true positives, removed = false positives,
    added = false negatives); over the responses analysts touched, from their label sets,
    with bootstrap intervals and per-theme scores.
    """
    qid = getattr(question, "pk", question)
    # imported here: numpy and the metrics are only needed when agreement is asked for
    from heard.analysis.metrics import (
        bootstrap_multilabel,
        bootstrap_per_label,
        micro_scores,
        multilabel_scores,
        per_label_scores,
    )

    base = Assignment.objects.filter(theme__question_id=qid)
    counts = base.aggregate(
        kept=Count("id", filter=Q(ai_original=True, is_active=True)),
        removed=Count("id", filter=Q(ai_original=True, is_active=False)),
        added=Count("id", filter=Q(ai_original=False, is_active=True)),
    )
    kept, removed, added = counts["kept"], counts["removed"], counts["added"]
    f1 = micro_scores(kept, removed, added)["micro_f1"] if kept + removed + added else None
    ids = sorted(set(base.filter(TOUCHED).values_list("response_id", flat=True)))
    if not ids:
        return Agreement(kept, removed, added, f1, 0, {}, {}, [])
    ai: dict[int, set[str]] = {i: set() for i in ids}
    human: dict[int, set[str]] = {i: set() for i in ids}
    for rid, key, ai_original, is_active in base.filter(response_id__in=ids).values_list(
        "response_id", "theme__key", "ai_original", "is_active"
    ):
        if ai_original:
            ai[rid].add(key)
        if is_active:
            human[rid].add(key)
    labels = dict(Theme.objects.filter(question_id=qid).values_list("key", "label"))
    gold = [sorted(human[i]) for i in ids]
    pred = [sorted(ai[i]) for i in ids]
    space = sorted(labels)
    per_label_ci = bootstrap_per_label(gold, pred, space, n_boot=n_boot, seed=seed)
    per_theme = [
        {"key": s.label, "label": labels.get(s.label, s.label), "precision": s.precision,
         "recall": s.recall, "f1": s.f1, "support": s.support, "predicted": s.predicted,
         "ci": per_label_ci[s.label]}
        for s in per_label_scores(gold, pred, space)
        if s.support or s.predicted
    ]
    return Agreement(
        kept=kept, removed=removed, added=added, f1=f1, reviewed=len(ids),
        overall=multilabel_scores(gold, pred, space),
        intervals=bootstrap_multilabel(gold, pred, space, n_boot=n_boot, seed=seed),
        per_theme=per_theme,
    )
