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
    page_ids: list[int] = field(default_factory=list)

    @property
    def max_count(self) -> int:
        return max([r.count for r in self.rows] + [1])


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def question_stats(
    question: Question, responses: QuerySet[Response], *, offset: int | None = None,
    limit: int = 25,
) -> QuestionStats:
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
    true = "true" if connection.vendor == "postgresql" else "1"
    parent_of = {t.id: t.parent_id for t in themes if t.parent_id}
    family = ", ".join(str(i) for i in [*parent_of, *set(parent_of.values())]) or "-1"
    # The filter runs once (a materialised CTE); every count reads its result.
    sql = f"""
        WITH r AS MATERIALIZED ({inner})
        SELECT 'o', CAST(NULL AS BIGINT), r.outcome, r.stance, r.evidence_rich, COUNT(*) FROM r
        GROUP BY r.outcome, r.stance, r.evidence_rich
        UNION ALL
        SELECT 'c', NULL, NULL, NULL, NULL, COUNT(*) FROM r CROSS JOIN heard_duplicategroup g
        WHERE g.id = r.group_id AND g.kind = 'campaign'
        UNION ALL
        SELECT 't', a.theme_id, NULL, r.stance, r.evidence_rich, COUNT(*)
        FROM r CROSS JOIN heard_assignment a WHERE a.response_id = r.id AND a.is_active = {true}
        GROUP BY a.theme_id, r.stance, r.evidence_rich
        UNION ALL
        SELECT 'p', COALESCE(t.parent_id, t.id), NULL, NULL, NULL, COUNT(DISTINCT a.response_id)
        FROM r CROSS JOIN heard_assignment a CROSS JOIN heard_theme t
        WHERE a.response_id = r.id AND a.is_active = {true} AND t.id = a.theme_id
        AND a.theme_id IN ({family})
        GROUP BY COALESCE(t.parent_id, t.id)
    """
    if offset is not None:  # the ids of one page of responses, in id order
        sql += (" UNION ALL SELECT 'l', l.id, NULL, NULL, NULL, 0 FROM "
                f"(SELECT r.id FROM r ORDER BY r.id LIMIT {int(limit)} OFFSET {int(offset)}) l")
    page_ids: list[int] = []
    outcomes: dict[str, int] = defaultdict(int)
    stance: dict[str, int] = defaultdict(int)
    evidence = campaigns = 0
    per_theme: dict[int, dict] = defaultdict(lambda: {"n": 0, "stance": {}, "evidence": 0})
    by_root: dict[int, int] = {}
    for kind, theme_id, outcome, stance_value, rich, n in _rows(sql, params):
        if kind == "o":
            outcomes[outcome] += n
            if stance_value:
                stance[stance_value] += n
            if rich:
                evidence += n
        elif kind == "c":
            campaigns = n
        elif kind == "l":
            page_ids.append(theme_id)
        elif kind == "t":
            entry = per_theme[theme_id]
            entry["n"] += n
            if rich:
                entry["evidence"] += n
            if stance_value:
                entry["stance"][stance_value] = entry["stance"].get(stance_value, 0) + n
        else:
            by_root[theme_id] = n
    total = sum(outcomes.values())
    substantive = total - outcomes.get(Response.Outcome.EMPTY, 0)
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
                         campaigns, sorted(page_ids))


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
