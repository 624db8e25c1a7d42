"""Metric functions against hand-computed cases and scikit-learn."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics import (
    adjusted_rand_score,
    f1_score,
    jaccard_score,
    normalized_mutual_info_score,
)
from sklearn.preprocessing import MultiLabelBinarizer

from heard.analysis import metrics as m

GOLD = [{"a"}, {"a", "b"}, {"b"}, {"c"}, set()]
PRED = [{"a"}, {"a"}, {"b", "c"}, set(), set()]


def test_perfect_and_disjoint_mapping() -> None:
    perfect = m.multilabel_scores(GOLD, GOLD)
    assert perfect["micro_f1"] == perfect["macro_f1"] == perfect["samples_f1"] == 1.0
    assert perfect["jaccard"] == 1.0
    disjoint = m.multilabel_scores([{"a"}, {"b"}], [{"b"}, {"a"}])
    assert disjoint["micro_f1"] == disjoint["macro_f1"] == disjoint["samples_f1"] == 0.0


def test_partial_mapping_by_hand() -> None:
    s = m.multilabel_scores(GOLD, PRED)
    # tp: a,a,b = 3; fp: c = 1; fn: b (row 2), c (row 4) = 2
    assert s["micro_precision"] == pytest.approx(3 / 4)
    assert s["micro_recall"] == pytest.approx(3 / 5)
    assert s["micro_f1"] == pytest.approx(6 / 9)
    # per label F1: a = 2*2/(2+2) = 1; b = 2*1/(2+1); c = 0
    assert s["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    # rows: 1, 2/3, 2/3, 0, 1 (both empty)
    assert s["samples_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3 + 0 + 1) / 5)
    assert s["jaccard"] == pytest.approx((1 + 1 / 2 + 1 / 2 + 0 + 1) / 5)


def test_mapping_agrees_with_sklearn() -> None:
    rng = np.random.default_rng(3)
    labels = list("abcdef")
    gold = [{x for x in labels if rng.random() < 0.3} for _ in range(200)]
    pred = [{x for x in labels if rng.random() < 0.3} for _ in range(200)]
    ours = m.multilabel_scores(gold, pred)
    mlb = MultiLabelBinarizer(classes=m.label_space(gold, pred))
    g, p = mlb.fit_transform(gold), mlb.transform(pred)
    assert ours["micro_f1"] == pytest.approx(f1_score(g, p, average="micro"))
    assert ours["macro_f1"] == pytest.approx(f1_score(g, p, average="macro"))
    assert ours["samples_f1"] == pytest.approx(f1_score(g, p, average="samples", zero_division=1.0))
    assert ours["jaccard"] == pytest.approx(
        jaccard_score(g, p, average="samples", zero_division=1.0)
    )
    per = m.per_label_scores(gold, pred)
    assert [x.f1 for x in per] == pytest.approx(list(f1_score(g, p, average=None)))
    assert [x.support for x in per] == list(g.sum(0))


def test_bootstrap_ci_contains_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    gold = [{x for x in "abc" if rng.random() < 0.4} for _ in range(300)]
    pred = [row if rng.random() < 0.7 else {"a"} for row in gold]
    point = m.multilabel_scores(gold, pred)
    ci = m.bootstrap_multilabel(gold, pred, n_boot=300, seed=1)
    for key in ("micro_f1", "macro_f1", "samples_f1", "jaccard"):
        low, high = ci[key]
        assert low <= point[key] <= high
        assert high - low < 0.2
    assert ci == m.bootstrap_multilabel(gold, pred, n_boot=300, seed=1)
    # chunking must not change the draws
    assert ci == m.bootstrap_multilabel(gold, pred, n_boot=300, seed=1, max_cells=1000)
    perfect = m.bootstrap_multilabel(gold, gold, n_boot=50, seed=1)
    assert perfect["micro_f1"] == (1.0, 1.0)


def test_classification_and_confusion() -> None:
    gold = ["agree", "agree", "disagree", "unclear"]
    pred = ["agree", "disagree", "disagree", "agree"]
    s = m.classification_scores(gold, pred)
    assert s["accuracy"] == 0.5
    assert s["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    labels, matrix = m.confusion(gold, pred)
    assert labels == ["agree", "disagree", "unclear"]
    assert matrix == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    b = m.binary_scores([True, True, False, False], [True, False, True, False])
    assert b == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "accuracy": 0.5}


def test_hungarian_picks_the_right_pairs() -> None:
    gold = {"g1": {0, 1, 2, 3}, "g2": {4, 5, 6}, "g3": {7}}
    found = {"c1": {0, 1, 2, 4, 5}, "c2": {3, 6}, "c3": {0, 1, 2, 3, 9}}
    matches = m.match_themes(gold, found)
    pairs = {(x.gold, x.found) for x in matches}
    assert pairs == {("g1", "c3"), ("g2", "c1")}
    by_gold = {x.gold: x for x in matches}
    assert by_gold["g1"].f1 == pytest.approx(2 * 4 / 9)
    assert by_gold["g2"].jaccard == pytest.approx(2 / 6)
    s = m.matching_scores(gold, found)
    assert s["matched_f1"] == pytest.approx((8 / 9 + 2 * 2 / 8 + 0) / 3)
    assert s["code_recall"] == pytest.approx(2 / 3)  # g1 (8/9) and g2 (exactly 0.5)
    exact = m.matching_scores(gold, {"x": {0, 1, 2, 3}, "y": {4, 5, 6}, "z": {7}})
    assert exact == {"matched_f1": 1.0, "code_recall": 1.0}


def test_hungarian_is_optimal_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        gold = {f"g{i}": set(rng.choice(30, 8, replace=False).tolist()) for i in range(4)}
        found = {f"c{i}": set(rng.choice(30, 8, replace=False).tolist()) for i in range(4)}
        best = max(
            sum(m.set_f1(gold[f"g{i}"], found[f"c{j}"]) for i, j in enumerate(perm))
            for perm in itertools.permutations(range(4))
        )
        assert sum(x.f1 for x in m.match_themes(gold, found)) == pytest.approx(best)


def test_purity_of_one_giant_cluster() -> None:
    gold = [{"a"}] * 6 + [{"b"}] * 3 + [{"c"}]
    giant = [{"all"}] * 10
    s = m.purity_scores(gold, giant)
    assert s["purity"] == pytest.approx(0.6)
    assert s["inverse_purity"] == 1.0
    assert s["harmonic_purity"] == pytest.approx(2 * 0.6 / 1.6)
    # one cluster per item: purity 1, inverse purity = 3 best items of 10
    singletons = m.purity_scores(gold, [{str(i)} for i in range(10)])
    assert singletons["purity"] == 1.0
    assert singletons["inverse_purity"] == pytest.approx(3 / 10)


def test_purity_multilabel_and_unassigned() -> None:
    gold = [{"a", "b"}, {"a"}, {"b"}, {"b"}]
    clusters = [{"x"}, {"x"}, {"y"}, set()]
    s = m.purity_scores(gold, clusters)
    # x holds items 0,1: label a covers both -> 2; y holds item 2: b -> 1; 3 memberships
    assert s["purity"] == 1.0
    # gold pairs: a(0), a(1), b(0), b(2), b(3) = 5; a best in x = 2; b best = 1
    assert s["inverse_purity"] == pytest.approx(3 / 5)


def test_partition_scores_match_sklearn() -> None:
    gold = [0, 0, 1, 1, 2, 2]
    pred = ["x", "x", "x", "y", "z", "z"]
    s = m.partition_scores(gold, pred)
    assert s["ari"] == pytest.approx(adjusted_rand_score(gold, pred))
    assert s["nmi"] == pytest.approx(normalized_mutual_info_score(gold, pred))
    assert m.partition_scores(gold, gold) == {"ari": 1.0, "nmi": 1.0}


def test_bcubed_known_examples() -> None:
    assert m.bcubed([1, 1, 2, 3], [5, 5, 6, 7]) == {
        "b3_precision": 1.0,
        "b3_recall": 1.0,
        "b3_f1": 1.0,
    }
    # gold: {0,1,2} {3}; predicted: all four together
    s = m.bcubed(["g", "g", "g", "s"], ["p", "p", "p", "p"])
    assert s["b3_precision"] == pytest.approx((3 / 4 * 3 + 1 / 4) / 4)
    assert s["b3_recall"] == 1.0
    # predicted all singletons: precision 1, recall (1/3*3 + 1)/4
    s = m.bcubed(["g", "g", "g", "s"], [0, 1, 2, 3])
    assert s["b3_precision"] == 1.0
    assert s["b3_recall"] == pytest.approx(0.5)
    assert s["b3_f1"] == pytest.approx(2 * 0.5 / 1.5)


def test_helpers() -> None:
    assert m.mean_sd([1.0, 3.0]) == (2.0, pytest.approx(2**0.5))
    assert m.mean_sd([4.0]) == (4.0, 0.0)
    runs = [[0, 0, 1], [0, 0, 1], [0, 1, 1]]
    low, mean = m.pairwise_min_mean(runs, lambda a, b: float(a == b))
    assert (low, mean) == (0.0, pytest.approx(1 / 3))
    with pytest.raises(ValueError):
        m.multilabel_scores([{"a"}], [])
