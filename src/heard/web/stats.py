"""Counts for the question page over a filtered set of responses, and AI-vs-human agreement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

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


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def question_stats(question: Question, responses: QuerySet[Response]) -> QuestionStats:
    """Theme counts and shares, stance split and evidence per theme, over ``responses``.

    The filtered responses drive every query (``CROSS JOIN`` keeps them as the outer loop
    in SQLite; PostgreSQL plans it as an ordinary join), so a narrow filter stays fast on a
    question with hundreds of thousands of responses.
    """
    themes = list(question.themes.all())
    inner, params = (
        responses.order_by().values("id", "outcome", "stance", "evidence_rich", "group_id")
        .query.sql_with_params()
    )
    outcomes: dict[str, int] = defaultdict(int)
    stance: dict[str, int] = defaultdict(int)
    evidence = 0
    for outcome, stance_value, rich, n in _rows(
        f"SELECT r.outcome, r.stance, r.evidence_rich, COUNT(*) FROM ({inner}) r "
        "GROUP BY r.outcome, r.stance, r.evidence_rich", params
    ):
        outcomes[outcome] += n
        if stance_value:
            stance[stance_value] += n
        if rich:
            evidence += n
    campaigns = _rows(
        f"SELECT COUNT(*) FROM ({inner}) r CROSS JOIN heard_duplicategroup g "
        "WHERE g.id = r.group_id AND g.kind = 'campaign'", params
    )[0][0]
    total = sum(outcomes.values())
    substantive = total - outcomes.get(Response.Outcome.EMPTY, 0)
    true = "true" if connection.vendor == "postgresql" else "1"
    per_theme: dict[int, dict] = defaultdict(lambda: {"n": 0, "stance": {}, "evidence": 0})
    for theme_id, stance_value, rich, n in _rows(
        f"SELECT a.theme_id, r.stance, r.evidence_rich, COUNT(*) FROM ({inner}) r "
        f"CROSS JOIN heard_assignment a WHERE a.response_id = r.id AND a.is_active = {true} "
        "GROUP BY a.theme_id, r.stance, r.evidence_rich", params
    ):
        entry = per_theme[theme_id]
        entry["n"] += n
        if rich:
            entry["evidence"] += n
        if stance_value:
            entry["stance"][stance_value] = entry["stance"].get(stance_value, 0) + n
    # A parent theme counts each response once across itself and its sub-themes.
    parent_of = {t.id: t.parent_id for t in themes if t.parent_id}
    by_root: dict[int, int] = {}
    if parent_of:
        seen: dict[int, set[int]] = defaultdict(set)
        child_ids = ", ".join(str(i) for i in parent_of)
        parent_ids = ", ".join(str(i) for i in set(parent_of.values()))
        for response_id, theme_id in _rows(
            f"SELECT a.response_id, a.theme_id FROM ({inner}) r CROSS JOIN heard_assignment a "
            f"WHERE a.response_id = r.id AND a.is_active = {true} "
            f"AND a.theme_id IN ({child_ids}, {parent_ids})", params
        ):
            seen[parent_of.get(theme_id, theme_id)].add(response_id)
        by_root = {root: len(ids) for root, ids in seen.items()}
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
            rich = entry["evidence"]
            for kid in kids:
                for k, v in per_theme.get(kid.id, {"stance": {}})["stance"].items():
                    stance_total[k] = stance_total.get(k, 0) + v
                rich += per_theme.get(kid.id, {"evidence": 0})["evidence"]
        else:
            count, stance_total, rich = entry["n"], entry["stance"], entry["evidence"]
        rows.append(ThemeRow(theme, level, count, count / substantive if substantive else 0.0,
                             stance_total, rich))
        for kid in kids:
            add(kid, level + 1)

    for root in children.get(None, []):
        add(root, 0)
    return QuestionStats(total, substantive, rows, dict(outcomes), dict(stance), evidence,
                         campaigns)


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
