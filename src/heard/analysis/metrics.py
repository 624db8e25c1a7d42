"""Evaluation metrics: multi-label F1 with bootstrap CIs, theme matching, purity, B-cubed.

Pure functions over lists and arrays. Labels are given per item as a collection of
string keys (an empty collection means "no label"). Nothing here knows about files,
the store or the CLI.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

LabelSets = Sequence[Collection[str]]

# ---------------------------------------------------------------------------
# multi-label mapping


def label_space(gold: LabelSets, pred: LabelSets) -> list[str]:
    """Every label seen in gold or predictions, sorted."""
    return sorted({label for row in (*gold, *pred) for label in row})


def to_matrix(rows: LabelSets, labels: Sequence[str]) -> np.ndarray:
    """A boolean (n_items, n_labels) indicator matrix; labels outside ``labels`` are dropped."""
    index = {label: j for j, label in enumerate(labels)}
    out = np.zeros((len(rows), len(labels)), dtype=bool)
    for i, row in enumerate(rows):
        for label in row:
            j = index.get(label)
            if j is not None:
                out[i, j] = True
    return out


def _safe_ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    """num / den, with ``empty`` where den is zero."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, empty, dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _row_counts(g: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-item, per-label true positives, false positives and false negatives (as int8)."""
    tp = (g & p).astype(np.int8)
    fp = (~g & p).astype(np.int8)
    fn = (g & ~p).astype(np.int8)
    return tp, fp, fn


def micro_scores(tp: float, fp: float, fn: float) -> dict[str, float]:
    """Micro precision, recall and F1 from totals (for instance counted by a database)."""
    tp_, fp_, fn_ = float(tp), float(fp), float(fn)
    return {
        "micro_precision": float(_safe_ratio(tp_, tp_ + fp_, 0.0)),
        "micro_recall": float(_safe_ratio(tp_, tp_ + fn_, 0.0)),
        "micro_f1": float(_safe_ratio(2 * tp_, 2 * tp_ + fp_ + fn_, 0.0)),
    }


def _scores_from_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, row_f1: np.ndarray, row_jac: np.ndarray
) -> dict[str, float]:
    """Micro/macro/sample scores from per-label totals and per-item scores."""
    active = (tp + fp + fn) > 0  # macro averages over labels with support or predictions
    label_f1 = _safe_ratio(2 * tp, 2 * tp + fp + fn, 0.0)
    return {
        **micro_scores(tp.sum(), fp.sum(), fn.sum()),
        "macro_f1": float(label_f1[active].mean()) if active.any() else 0.0,
        "samples_f1": float(row_f1.mean()) if row_f1.size else 0.0,
        "jaccard": float(row_jac.mean()) if row_jac.size else 0.0,
    }


def _row_scores(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-item F1 and Jaccard; an item with no gold and no predicted label scores 1."""
    t, f_p, f_n = tp.sum(1), fp.sum(1), fn.sum(1)
    return _safe_ratio(2 * t, 2 * t + f_p + f_n, 1.0), _safe_ratio(t, t + f_p + f_n, 1.0)


def multilabel_scores(
    gold: LabelSets, pred: LabelSets, labels: Sequence[str] | None = None
) -> dict[str, float]:
    """Micro precision/recall/F1, macro F1, samples F1 and samples Jaccard.

    Macro F1 averages over the labels that occur in gold or predictions (a label nobody
    used or predicted is skipped rather than scored 0 or 1). Samples F1 and Jaccard score an
    item whose gold and prediction are both empty as 1 (a correct "no theme").
    """
    _check_lengths(gold, pred)
    labels = list(labels) if labels is not None else label_space(gold, pred)
    tp, fp, fn = _row_counts(to_matrix(gold, labels), to_matrix(pred, labels))
    row_f1, row_jac = _row_scores(tp, fp, fn)
    return _scores_from_counts(tp.sum(0), fp.sum(0), fn.sum(0), row_f1, row_jac)


@dataclass(frozen=True)
class LabelScore:
    """Precision, recall and F1 of one label, with its gold support and predicted count."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


def per_label_scores(
    gold: LabelSets, pred: LabelSets, labels: Sequence[str] | None = None
) -> list[LabelScore]:
    """One :class:`LabelScore` per label (0 where undefined)."""
    _check_lengths(gold, pred)
    labels = list(labels) if labels is not None else label_space(gold, pred)
    g, p = to_matrix(gold, labels), to_matrix(pred, labels)
    tp = (g & p).sum(0)
    support, predicted = g.sum(0), p.sum(0)
    prec = _safe_ratio(tp, predicted, 0.0)
    rec = _safe_ratio(tp, support, 0.0)
    f1 = _safe_ratio(2 * tp, support + predicted, 0.0)
    return [
        LabelScore(
            label, float(prec[j]), float(rec[j]), float(f1[j]), int(support[j]), int(predicted[j])
        )
        for j, label in enumerate(labels)
    ]


def _replicate_weights(
    n: int, n_boot: int, seed: int, max_cells: int
) -> Iterator[np.ndarray]:
    """Bootstrap replicates as item weights (how often each item is drawn), in chunks of
    shape (size, n) with at most ``max_cells`` cells, so memory stays bounded."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, max_cells // max(n, 1)))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        yield np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(size)])
        done += size


def bootstrap_multilabel(
    gold: LabelSets,
    pred: LabelSets,
    labels: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    max_cells: int = 5_000_000,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CIs of :func:`multilabel_scores`, resampling items.

    Returns ``{metric: (low, high)}`` for every metric of :func:`multilabel_scores`.
    Deterministic for a seed. Replicates are computed in chunks of at most ``max_cells``
    weights, so memory stays bounded on large sets.
    """
    _check_lengths(gold, pred)
    labels = list(labels) if labels is not None else label_space(gold, pred)
    n = len(gold)
    if n == 0 or n_boot <= 0:
        return {}
    tp, fp, fn = _row_counts(to_matrix(gold, labels), to_matrix(pred, labels))
    row_f1, row_jac = _row_scores(tp, fp, fn)
    draws: dict[str, list[float]] = defaultdict(list)
    for weights in _replicate_weights(n, n_boot, seed, max_cells):
        w = weights.astype(float)
        tps, fps, fns = w @ tp, w @ fp, w @ fn
        f1s, jacs = (w @ row_f1) / n, (w @ row_jac) / n
        for b in range(len(w)):
            scores = _scores_from_counts(tps[b], fps[b], fns[b], np.array([0.0]), np.array([0.0]))
            scores["samples_f1"], scores["jaccard"] = float(f1s[b]), float(jacs[b])
            for key, value in scores.items():
                draws[key].append(value)
    tail = (1.0 - level) / 2.0 * 100.0
    return {
        key: (float(np.percentile(vals, tail)), float(np.percentile(vals, 100.0 - tail)))
        for key, vals in draws.items()
    }




def bootstrap_per_label(
    gold: LabelSets,
    pred: LabelSets,
    labels: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    max_cells: int = 5_000_000,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CI of each label's F1, resampling items (all labels together)."""
    _check_lengths(gold, pred)
    labels = list(labels) if labels is not None else label_space(gold, pred)
    n = len(gold)
    if n == 0 or n_boot <= 0:
        return {label: (0.0, 0.0) for label in labels}
    g = to_matrix(gold, labels).astype(float)
    p = to_matrix(pred, labels).astype(float)
    f1 = np.vstack([
        _safe_ratio(2 * (w @ (g * p)), w @ g + w @ p, 0.0)
        for w in _replicate_weights(n, n_boot, seed, max_cells)
    ])
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(f1, tail, axis=0), np.percentile(f1, 100.0 - tail, axis=0)
    return {label: (float(low[j]), float(high[j])) for j, label in enumerate(labels)}

# ---------------------------------------------------------------------------
# single-label classification (stance, evidence)


def classification_scores(
    gold: Sequence[Hashable],
    pred: Sequence[Hashable],
    labels: Sequence[Hashable] | None = None,
) -> dict[str, float]:
    """Accuracy and macro F1 over ``labels`` (default: the labels seen in gold or predictions).

    With ``labels`` set to the gold label set, a prediction outside it (e.g. "unclear"
    where gold has only agree and disagree) counts as a miss of its gold label, but is
    not averaged in as a class of its own.
    """
    _check_lengths(gold, pred)
    if not gold:
        return {"accuracy": 0.0, "macro_f1": 0.0}
    labels = sorted({*gold, *pred}, key=str) if labels is None else list(labels)
    f1s = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        n_gold = sum(1 for g in gold if g == label)
        n_pred = sum(1 for p in pred if p == label)
        f1s.append(2 * tp / (n_gold + n_pred) if n_gold + n_pred else 0.0)
    accuracy = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold)
    return {"accuracy": float(accuracy), "macro_f1": float(np.mean(f1s))}


def confusion(
    gold: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence[Hashable] | None = None
) -> tuple[list[Hashable], list[list[int]]]:
    """The label order and the confusion matrix (rows: gold, columns: predicted)."""
    _check_lengths(gold, pred)
    labels = list(labels) if labels is not None else sorted({*gold, *pred}, key=str)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        if g in index and p in index:
            matrix[index[g]][index[p]] += 1
    return labels, matrix


def binary_scores(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of the positive class, plus accuracy."""
    _check_lengths(gold, pred)
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    n_pred, n_gold = sum(map(bool, pred)), sum(map(bool, gold))
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if bool(g) == bool(p))
    return {
        "precision": tp / n_pred if n_pred else 0.0,
        "recall": tp / n_gold if n_gold else 0.0,
        "f1": 2 * tp / (n_pred + n_gold) if n_pred + n_gold else 0.0,
        "accuracy": correct / len(gold) if gold else 0.0,
    }


# ---------------------------------------------------------------------------
# theme discovery


def sets_by_label(rows: LabelSets) -> dict[str, set[int]]:
    """Invert per-item labels into ``{label: set of item indices}``."""
    out: dict[str, set[int]] = defaultdict(set)
    for i, row in enumerate(rows):
        for label in row:
            out[label].add(i)
    return dict(out)


def set_f1(a: Collection[int], b: Collection[int]) -> float:
    """F1 (Dice) between two sets of items."""
    a, b = set(a), set(b)
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


def set_jaccard(a: Collection[int], b: Collection[int]) -> float:
    """Jaccard overlap between two sets of items."""
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass(frozen=True)
class ThemeMatch:
    """One gold theme paired with one discovered theme and the pair's scores."""

    gold: str
    found: str
    f1: float
    jaccard: float


def match_themes(
    gold_sets: Mapping[str, Collection[int]],
    found_sets: Mapping[str, Collection[int]],
    *,
    by: str = "f1",
) -> list[ThemeMatch]:
    """One-to-one matching of gold to discovered themes (Hungarian, maximising ``by``).

    ``by`` is ``"f1"`` or ``"jaccard"`` between the themes' item sets. Pairs that share
    no item are not returned. Result is sorted by gold key.
    """
    if by not in ("f1", "jaccard"):
        raise ValueError("by must be 'f1' or 'jaccard'")
    gold_keys, found_keys = sorted(gold_sets), sorted(found_sets)
    if not gold_keys or not found_keys:
        return []
    f1 = np.array([[set_f1(gold_sets[g], found_sets[f]) for f in found_keys] for g in gold_keys])
    jac = np.array(
        [[set_jaccard(gold_sets[g], found_sets[f]) for f in found_keys] for g in gold_keys]
    )
    from scipy.optimize import linear_sum_assignment  # 0.7 s to import; only matching needs it

    rows, cols = linear_sum_assignment(f1 if by == "f1" else jac, maximize=True)
    return sorted(
        (
            ThemeMatch(gold_keys[r], found_keys[c], float(f1[r, c]), float(jac[r, c]))
            for r, c in zip(rows, cols, strict=True)
            if f1[r, c] > 0
        ),
        key=lambda m: m.gold,
    )


def matching_scores(
    gold_sets: Mapping[str, Collection[int]],
    found_sets: Mapping[str, Collection[int]],
    *,
    threshold: float = 0.5,
    by: str = "f1",
) -> dict[str, float]:
    """Matched F1 (mean over gold themes, 0 if unmatched) and gold-code recall.

    Code recall is the share of gold themes whose matched theme reaches ``threshold`` F1.
    """
    if not gold_sets:
        return {"matched_f1": 0.0, "code_recall": 0.0}
    matches = match_themes(gold_sets, found_sets, by=by)
    return {
        "matched_f1": sum(m.f1 for m in matches) / len(gold_sets),
        "code_recall": sum(1 for m in matches if m.f1 >= threshold) / len(gold_sets),
    }


def purity_scores(gold: LabelSets, clusters: LabelSets) -> dict[str, float]:
    """Purity, inverse purity and their harmonic mean, counted over (item, label) pairs.

    Purity: each cluster takes its most frequent gold label; the share of cluster
    memberships whose item carries that label. Inverse purity: each gold label takes the
    cluster holding most of its items; the share of gold (item, label) pairs found there.
    With one gold label and one cluster per item this is the usual single-label definition.
    Items in no cluster count against inverse purity (their gold pairs are never found) and
    are absent from purity. Items with no gold label should be left out by the caller.
    """
    _check_lengths(gold, clusters)
    overlap: dict[str, Counter[str]] = defaultdict(Counter)  # cluster -> gold label -> items
    cluster_size: Counter[str] = Counter()
    gold_size: Counter[str] = Counter()
    for g_row, c_row in zip(gold, clusters, strict=True):
        for label in g_row:
            gold_size[label] += 1
        for cluster in c_row:
            cluster_size[cluster] += 1
            for label in g_row:
                overlap[cluster][label] += 1
    n_members, n_gold = sum(cluster_size.values()), sum(gold_size.values())
    purity = (
        sum(max(overlap[c].values(), default=0) for c in cluster_size) / n_members
        if n_members
        else 0.0
    )
    best_for_label: Counter[str] = Counter()
    for counts in overlap.values():
        for label, count in counts.items():
            best_for_label[label] = max(best_for_label[label], count)
    inverse = sum(best_for_label.values()) / n_gold if n_gold else 0.0
    harmonic = 2 * purity * inverse / (purity + inverse) if purity + inverse else 0.0
    return {"purity": purity, "inverse_purity": inverse, "harmonic_purity": harmonic}


def partition_scores(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> dict[str, float]:
    """Adjusted Rand index and normalised mutual information of two flat partitions."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    _check_lengths(gold, pred)
    if not gold:
        return {"ari": 0.0, "nmi": 0.0}
    g = [str(x) for x in gold]
    p = [str(x) for x in pred]
    return {
        "ari": float(adjusted_rand_score(g, p)),
        "nmi": float(normalized_mutual_info_score(g, p)),
    }


# ---------------------------------------------------------------------------
# campaigns / duplicate groups


def bcubed(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> dict[str, float]:
    """B-cubed precision, recall and F1 of a predicted clustering against a gold one.

    ``gold[i]`` and ``pred[i]`` are item i's cluster ids. For each item, precision is the
    share of its predicted cluster that shares its gold cluster, recall the share of its
    gold cluster that shares its predicted cluster; both are averaged over items. Give an
    item that belongs to no group a unique id so it stands as its own cluster.
    """
    _check_lengths(gold, pred)
    n = len(gold)
    if n == 0:
        return {"b3_precision": 0.0, "b3_recall": 0.0, "b3_f1": 0.0}
    pair = Counter(zip(gold, pred, strict=True))
    gold_size, pred_size = Counter(gold), Counter(pred)
    # every item of a (gold, pred) cell has the same precision and recall
    precision = sum(c * c / pred_size[p] for (_, p), c in pair.items()) / n
    recall = sum(c * c / gold_size[g] for (g, _), c in pair.items()) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"b3_precision": precision, "b3_recall": recall, "b3_f1": f1}


# ---------------------------------------------------------------------------
# helpers


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for fewer than two values)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return 0.0, 0.0
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def pairwise_min_mean(
    items: Sequence[Sequence[Hashable]],
    score: Callable[[Sequence[Hashable], Sequence[Hashable]], float],
) -> tuple[float, float]:
    """Minimum and mean of ``score`` over every unordered pair of ``items``."""
    values = [
        score(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))
    ]
    if not values:
        return 0.0, 0.0
    return float(min(values)), float(np.mean(values))


def _check_lengths(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"gold and predictions differ in length: {len(a)} != {len(b)}")
