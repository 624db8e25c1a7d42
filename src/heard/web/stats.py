"""Counts for the question page over a filtered set of responses, and AI-vs-human agreement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce

from heard.store.models import Assignment, Question, Response, Theme


@dataclass
class ThemeRow:
    theme: Theme
    level: int
    count: int = 0
    share: float = 0.0
    stance: dict[str, int] = field(default_factory=dict)
    evidence: int = 0

    @property
    def stance_shares(self) -> list[tuple[str, str, int, float]]:
        total = sum(self.stance.values()) or 1
        return [
            (value, label, self.stance.get(value, 0), self.stance.get(value, 0) / total)
            for value, label in Response.Stance.choices
        ]


@dataclass
class QuestionStats:
    total: int
    substantive: int
    rows: list[ThemeRow]
    outcomes: dict[str, int]
    stance: dict[str, int]
    evidence: int
    campaigns: int

    @property
    def max_count(self) -> int:
        return max([r.count for r in self.rows] + [1])


def question_stats(question: Question, responses: QuerySet[Response]) -> QuestionStats:
    """Theme counts and shares, stance split and evidence per theme, over ``responses``."""
    themes = list(question.themes.all())
    outcomes = dict(responses.order_by().values_list("outcome").annotate(n=Count("id")))
    total = sum(outcomes.values())
    substantive = total - outcomes.get(Response.Outcome.EMPTY, 0)
    overall = responses.order_by().aggregate(
        evidence=Count("id", filter=Q(evidence_rich=True)),
        campaigns=Count("id", filter=Q(group__kind="campaign")),
    )
    stance = dict(
        responses.exclude(stance="").order_by().values_list("stance").annotate(n=Count("id"))
    )
    active = Assignment.objects.filter(
        is_active=True, theme__question=question, response__in=responses.values("id")
    ).order_by()
    # Every theme, parent themes counting each response once across their sub-themes.
    by_root = dict(
        active.annotate(root=Coalesce("theme__parent_id", "theme_id"))
        .values_list("root")
        .annotate(n=Count("response_id", distinct=True))
    )
    per_theme: dict[int, dict] = defaultdict(lambda: {"n": 0, "stance": {}, "evidence": 0})
    for theme_id, stance_value, n, evidence in active.values_list(
        "theme_id", "response__stance"
    ).annotate(n=Count("id"), ev=Count("id", filter=Q(response__evidence_rich=True))):
        entry = per_theme[theme_id]
        entry["n"] += n
        entry["evidence"] += evidence
        if stance_value:
            entry["stance"][stance_value] = entry["stance"].get(stance_value, 0) + n
    children: dict[int | None, list[Theme]] = defaultdict(list)
    for theme in themes:
        children[theme.parent_id].append(theme)
    rows: list[ThemeRow] = []

    def add(theme: Theme, level: int) -> None:
        entry = per_theme.get(theme.id, {"n": 0, "stance": {}, "evidence": 0})
        kids = children.get(theme.id, [])
        if kids:
            count = by_root.get(theme.id, 0)
            stance_total: dict[str, int] = dict(entry["stance"])
            evidence = entry["evidence"]
            for kid in kids:
                for k, v in per_theme.get(kid.id, {"stance": {}})["stance"].items():
                    stance_total[k] = stance_total.get(k, 0) + v
                evidence += per_theme.get(kid.id, {"evidence": 0})["evidence"]
        else:
            count, stance_total, evidence = entry["n"], entry["stance"], entry["evidence"]
        rows.append(ThemeRow(theme, level, count, count / substantive if substantive else 0.0,
                             stance_total, evidence))
        for kid in kids:
            add(kid, level + 1)

    for root in children.get(None, []):
        add(root, 0)
    return QuestionStats(total, substantive, rows, outcomes, stance,
                         overall["evidence"], overall["campaigns"])


# ---------------------------------------------------------------- agreement


@dataclass
class Agreement:
    responses: int
    overall: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    per_theme: list[dict]


def agreement(question: Question, n_boot: int = 500, seed: int = 0) -> Agreement | None:
    """F1 between the analysis's original labels and the current (human-checked) labels.

    Covers the responses an analyst has touched (any assignment with origin "human"), since
    untouched responses agree by construction. Returns None when nobody has reviewed any.
    """
    from heard.analysis.metrics import bootstrap_multilabel, multilabel_scores, per_label_scores

    reviewed = set(
        Assignment.objects.filter(theme__question=question, origin=Assignment.Origin.HUMAN)
        .values_list("response_id", flat=True)
    )
    if not reviewed:
        return None
    ids = sorted(reviewed)
    ai: dict[int, set[str]] = {i: set() for i in ids}
    human: dict[int, set[str]] = {i: set() for i in ids}
    labels = dict(question.themes.values_list("key", "label"))
    for rid, key, ai_original, is_active in Assignment.objects.filter(
        theme__question=question, response_id__in=ids
    ).values_list("response_id", "theme__key", "ai_original", "is_active"):
        if ai_original:
            ai[rid].add(key)
        if is_active:
            human[rid].add(key)
    gold = [sorted(human[i]) for i in ids]
    pred = [sorted(ai[i]) for i in ids]
    space = sorted(labels)
    overall = multilabel_scores(gold, pred, space)
    intervals = bootstrap_multilabel(gold, pred, space, n_boot=n_boot, seed=seed)
    per_label_ci = _per_label_intervals(gold, pred, space, n_boot=n_boot, seed=seed)
    rows = [
        {"key": s.label, "label": labels.get(s.label, s.label), "precision": s.precision,
         "recall": s.recall, "f1": s.f1, "support": s.support, "predicted": s.predicted,
         "ci": per_label_ci[s.label]}
        for s in per_label_scores(gold, pred, space)
        if s.support or s.predicted
    ]
    return Agreement(len(ids), overall, intervals, rows)


def _per_label_intervals(
    gold: list[list[str]], pred: list[list[str]], labels: list[str], *, n_boot: int, seed: int
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap 95% interval of each label's F1 (items resampled together)."""
    import numpy as np

    index = {label: j for j, label in enumerate(labels)}
    n = len(gold)
    g = np.zeros((n, len(labels)), dtype=np.float64)
    p = np.zeros_like(g)
    for i, (gs, ps) in enumerate(zip(gold, pred, strict=True)):
        g[i, [index[x] for x in gs if x in index]] = 1
        p[i, [index[x] for x in ps if x in index]] = 1
    rng = np.random.default_rng(seed)
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)])
    tp, support, predicted = weights @ (g * p), weights @ g, weights @ p
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    low, high = np.percentile(f1, 2.5, axis=0), np.percentile(f1, 97.5, axis=0)
    return {label: (float(low[j]), float(high[j])) for label, j in index.items()}
