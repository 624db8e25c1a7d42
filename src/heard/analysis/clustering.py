"""Theme discovery for one open question: two-level themes, "Other" and "No substantive answer".

How :class:`ThemeDiscoverer` works:

0. With an ``embed`` function, each answer's vector is blended with the mean of its
   clauses' vectors (``clause_weight``), so an answer making two points sits between
   them rather than next to whichever its wording stresses; steps 1–7 use the blend.
1. Substantive responses are sampled (at most ``sample_size``, uniformly, so one
   campaign cannot fill the sample; its representative keeps its weight).
2. A weighted Ward tree is built over at most ``tree_size`` of the sampled vectors
   (exact, seed-free when the sample is that small).
3. The number of leaf themes is the tree cut with the best weighted cosine
   silhouette in a range scaled by the number of responses, capped at a codebook-sized 15.
4. The cut's centroids are refined by weighted spherical k-means on the whole sample;
   themes under ``min_theme_size`` are dissolved into their nearest themes.
5. Parents come from a Ward tree over the leaf centroids, cut at its largest gap. A
   parent is kept where its children share a thing their answers name, which is its label
   (:func:`~heard.analysis.labels.topic_label`); elsewhere its children stand at the top.
6. Every response is assigned to its nearest leaf; those far below what is usual for
   that theme go to "Other" with the reason; empty ones are "empty".
7. A response can carry up to ``max_labels`` leaves: its vector is decomposed as a
   non-negative mix of the leaf centroids, and every further leaf whose share is at least
   ``secondary_share`` of the largest is added (answers often make two or three points).
8. Optionally (``side_share``, given a signed stance), a leaf whose answers are really
   split between the two sides of the question becomes two sided leaves, one per side,
   under the same parent; an answer goes to the leaf of its side.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from heard.analysis.clauses import blend_clauses
from heard.analysis.labels import (
    choose_label,
    commonest_spelling,
    describe,
    fallback_label,
    is_taken,
    key_phrases,
    label_candidates,
    side_label,
    topic_label,
)
from heard.analysis.prepare import LanguageDetector, main_language
from heard.analysis.quotes import select_quotes

__all__ = [
    "Assignment",
    "ThemeDiscoverer",
    "ThemeSpec",
    "cut_tree",
    "mix_weights",
    "ward_tree",
    "weighted_silhouette",
]

MAPPED, OTHER, EMPTY = "mapped", "other", "empty"


@dataclass
class ThemeSpec:
    """A theme: a sub-theme (``parent`` set), a parent, or a top-level leaf (no children)."""

    key: str
    label: str
    description: str = ""
    parent: str | None = None
    key_phrases: list[str] = field(default_factory=list)
    quotes: list[tuple[int, str]] = field(default_factory=list)  # (index, exact substring)
    size: float = 0.0  # weighted number of responses whose nearest theme it is, in fit
    side: int = 0  # a leaf split by side: +1 its supporters, -1 its opponents


@dataclass
class Assignment:
    """Per-text results of assigning texts to fitted themes."""

    labels: list[list[str]]  # nearest leaf first, then any secondary leaves
    confidence: np.ndarray
    outcomes: list[tuple[str, str]]
    leaf: np.ndarray  # index of the nearest leaf (-1 when empty)


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def ward_tree(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Ward agglomeration by the nearest-neighbour chain.

    Returns merges as rows ``(a, b, cost)`` sorted by cost, where ``a`` and ``b`` are
    indices of points in the two merged clusters. Deterministic (ties go to the lower index).
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).copy()
    m = len(x)
    if m < 2:
        return np.zeros((0, 3))
    sq = (x * x).sum(axis=1)
    d = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    d *= (w[:, None] * w[None, :]) / (w[:, None] + w[None, :])
    np.fill_diagonal(d, np.inf)
    active = np.ones(m, dtype=bool)
    merges: list[tuple[int, int, float]] = []
    chain: list[int] = []
    while len(merges) < m - 1:
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        a = chain[-1]
        row = d[a]
        b = int(np.argmin(row))
        if len(chain) > 1 and row[chain[-2]] <= row[b]:
            b = chain[-2]
        if len(chain) > 1 and b == chain[-2]:
            chain.pop()
            chain.pop()
            i, j = min(a, b), max(a, b)
            dij = d[i, j]
            wi, wj = w[i], w[j]
            # Lance-Williams update for Ward with arbitrary positive weights.
            with np.errstate(invalid="ignore"):
                new = ((wi + w) * d[i] + (wj + w) * d[j] - w * dij) / (wi + wj + w)
            new[~active] = np.inf
            d[i, :] = new
            d[:, i] = new
            d[i, i] = np.inf
            d[j, :] = np.inf
            d[:, j] = np.inf
            w[i] = wi + wj
            active[j] = False
            merges.append((i, j, float(dij)))
        else:
            chain.append(b)
    out = np.array(merges, dtype=np.float64)
    return out[np.argsort(out[:, 2], kind="stable")]


def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def cut_tree(merges: np.ndarray, m: int, ks: Sequence[int]) -> dict[int, np.ndarray]:
    """Flat labels (0..k-1, in order of first appearance) for each k in ``ks``."""
    wanted = {k for k in ks if 1 <= k <= m}
    parent = np.arange(m)
    out: dict[int, np.ndarray] = {}

    def labels_now() -> np.ndarray:
        roots = np.array([_find(parent, i) for i in range(m)])
        _, first, inv = np.unique(roots, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        return rank[inv]

    k = m
    if k in wanted:
        out[k] = labels_now()
    for a, b, _ in merges:
        ra, rb = _find(parent, int(a)), _find(parent, int(b))
        parent[max(ra, rb)] = min(ra, rb)
        k -= 1
        if k in wanted:
            out[k] = labels_now()
        if k <= min(wanted, default=1):
            break
    return out


def weighted_silhouette(x: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """Mean silhouette with cosine distance, points and neighbours weighted (unit-norm ``x``)."""
    k = int(labels.max()) + 1
    if k < 2:
        return -1.0
    onehot = np.zeros((len(x), k))
    onehot[np.arange(len(x)), labels] = weights
    sums = x @ (x.T @ onehot)  # sum_j w_j cos(i, j) per cluster
    tot = onehot.sum(axis=0)
    dist = tot[None, :] - sums  # sum_j w_j (1 - cos)
    own = np.arange(len(x)), labels
    own_w = tot[labels] - weights
    a = np.where(own_w > 0, dist[own] / np.maximum(own_w, 1e-12), 0.0)
    mean_other = dist / np.maximum(tot[None, :], 1e-12)
    mean_other[own] = np.inf
    b = mean_other.min(axis=1)
    s = np.where(own_w > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float((s * weights).sum() / weights.sum())


def _spherical_kmeans(
    x: np.ndarray, w: np.ndarray, centroids: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted spherical k-means from given centroids; empty clusters are dropped."""
    c = _normalise(centroids)
    labels = np.full(len(x), -1)
    for _ in range(max_iter):
        new = np.argmax(x @ c.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        c, labels = _centroids(x, w, labels)
    return c, labels


def _centroids(x: np.ndarray, w: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised weighted centroids of the non-empty clusters, and labels renumbered to them."""
    used, labels = np.unique(labels, return_inverse=True)
    c = np.zeros((len(used), x.shape[1]))
    np.add.at(c, labels, x * w[:, None])
    return _normalise(c), labels


def _dense(x: np.ndarray, share: float, k: int = 10, chunk: int = 2000) -> np.ndarray:
    """Mask of the ``share`` of unit vectors with the highest mean cosine to their k nearest."""
    k = min(k, len(x) - 1)
    density = np.empty(len(x))
    xf = x.astype(np.float32)
    for start in range(0, len(x), chunk):
        sims = xf[start : start + chunk] @ xf.T
        top = np.partition(sims, -(k + 1), axis=1)[:, -(k + 1) :]  # includes itself
        density[start : start + chunk] = (top.sum(axis=1) - 1.0) / k
    return density >= np.quantile(density, 1.0 - share)


def mix_weights(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Non-negative least-squares weights ``a`` with ``x ~ a @ centroids``, one row per point.

    Exact, and linear in the number of points: with the Gram matrix ``G = L L^T`` each
    row solves the small ``k x k`` problem ``min ||L^T a - L^-1 c x||`` (same minimiser).
    """
    from scipy.optimize import nnls

    k = len(centroids)
    if not len(x) or not k:
        return np.zeros((len(x), k))
    gram = centroids @ centroids.T
    scale = max(float(np.trace(gram)) / k, 1e-12)
    for ridge in (1e-9, 1e-6, 1e-3, 1.0):  # a tiny ridge keeps near-duplicates factorable
        try:
            low = np.linalg.cholesky(gram + ridge * scale * np.eye(k))
            break
        except np.linalg.LinAlgError:
            continue
    else:
        raise ValueError("leaf centroids are not finite")
    rhs = np.linalg.solve(low, centroids @ x.T).T
    upper = np.ascontiguousarray(low.T)
    return np.array([nnls(upper, r)[0] for r in rhs])


class ThemeDiscoverer(BaseEstimator):
    """Discover two-level themes in one question's responses.

    A scikit-learn style estimator: parameters are kept as given (``get_params`` /
    ``set_params``), checked at :meth:`fit`, and learned attributes end in ``_``;
    :meth:`assign`, :meth:`predict` and :meth:`transform` before :meth:`fit` raise
    :class:`sklearn.exceptions.NotFittedError`.

    Parameters
    ----------
    seed: seeds the sample and the tree subsample; same seed, same output.
    min_theme_size: smallest weighted leaf size; default ``max(3, 1% of the weight)``.
    max_themes: most leaf themes; default 15, the size of a typical consultation codebook
        (on the development sets a cap of 25 let the silhouette run to the cap; see
        docs/evaluation.md, "How discovery parameters were chosen").
    min_themes: fewest leaf themes tried when the data allow; default 5.
    sample_size: responses clustered; the rest are assigned to the nearest theme.
    tree_size: responses in the Ward tree that proposes the themes.
    other_spread: a response goes to "Other" when its similarity to its nearest theme
        is below that theme's median minus ``other_spread`` robust standard deviations.
    other_cap: the threshold never exceeds this cosine similarity.
    max_labels: most leaf themes per response (1 gives one theme each).
    secondary_share: a further leaf is added when its weight in the response's
        non-negative mix of leaf centroids is at least this share of the largest weight,
        and the response is not far from it by the "Other" rule; 0.3 was chosen on the
        development sets (docs/evaluation.md).
    n_quotes, max_quote_words: quotes per leaf theme and their length.
    embed: optional ``embed(list[str]) -> unit vectors`` (the model that made
        ``vectors``), used to embed clauses and to pick quote sentences.
    clause_weight: answers are clustered and assigned on ``(1 - w) * own vector + w *
        mean of their clauses' vectors`` (:func:`heard.analysis.clauses.blend_clauses`),
        so each point an answer makes counts; needs ``embed`` (without it the answers'
        own vectors are used). 0.5 was chosen on the development sets (docs/evaluation.md).
    text_weight: share of the cosine taken from a per-question TF-IDF (word and character
        n-grams, reduced by SVD to ``text_dims``); 0 (default) clusters embeddings only.
    remove_top, center: remove the mean and the top ``remove_top`` principal components of
        the embeddings before clustering (off by default: it did not help on the dev sets).
    k_rule: "silhouette" (default) or "gap" (largest ratio of successive Ward merge costs).
    stance_weight: share of the cosine taken from a signed stance given to :meth:`fit`
        (``stance=``, e.g. :func:`heard.analysis.stance.stance_axis`), so that answers on
        opposite sides of a debate fall in different leaves, the leaf count ranging as if
        each side were discovered alone; 0 (default) ignores the stance. It raised NMI on
        argkp's one-sided key points but lowered harmonic purity on the development sets'
        mean (docs/evaluation.md, "Fourth round"), so it is off.
    core_share: leaves are found among this share of the sampled answers, those with the
        highest mean cosine to their 10 nearest neighbours, and the rest join their nearest
        leaf, so off-point answers do not pull the themes; 1 (default) uses every answer.
    side_share: with a signed stance given to :meth:`fit`, a leaf found on content is split
        in two sided leaves (agree, disagree) when each side holds at least this share of
        its weight and at least ``side_min``; an answer whose stance is known goes to its
        side's leaf, one whose stance is 0 to the nearer. 0 splits nothing. 0.15 with
        ``side_confidence`` 0.7 was chosen on the development sets (docs/evaluation.md,
        "Fifth round"); without a stance (the default in :meth:`fit`) nothing is split.
    side_min: smallest weight of each side of a split leaf; default ``min_theme_size``.
    side_confidence: a stance counts for a side only when its confidence, ``(1 + |s|) / 2``
        for a signed stance ``s = 2p - 1``, is at least this; below, as 0 (not known).
    question_weight: with the question's text given to :meth:`fit` (``question=``) and an
        ``embed``, this share of each answer's component along the question's vector is
        taken out before clustering and assignment (every answer to one question shares
        it); 0 (default) leaves the answers as they are. It moved the leaf count chosen by
        the silhouette and gained on no development set consistently (docs/evaluation.md,
        "Sixth round"), so it is off.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        min_theme_size: float | None = None,
        max_themes: int | None = None,
        min_themes: int = 5,
        sample_size: int = 20000,
        tree_size: int = 2000,
        kmeans_iter: int = 30,
        other_spread: float = 4.0,
        other_cap: float = 0.3,
        max_labels: int = 3,
        secondary_share: float = 0.3,
        n_quotes: int = 5,
        max_quote_words: int = 40,
        embed: Callable[[list[str]], np.ndarray] | None = None,
        clause_weight: float = 0.5,
        text_weight: float = 0.0,
        text_dims: int = 100,
        remove_top: int = 0,
        center: bool = False,
        k_rule: str = "silhouette",
        stance_weight: float = 0.0,
        core_share: float = 1.0,
        side_share: float = 0.15,
        side_min: float | None = None,
        side_confidence: float = 0.7,
        question_weight: float = 0.0,
    ) -> None:
        self.seed = seed
        self.min_theme_size = min_theme_size
        self.max_themes = max_themes
        self.min_themes = min_themes
        self.sample_size = sample_size
        self.tree_size = tree_size
        self.kmeans_iter = kmeans_iter
        self.other_spread = other_spread
        self.other_cap = other_cap
        self.max_labels = max_labels
        self.secondary_share = secondary_share
        self.n_quotes = n_quotes
        self.max_quote_words = max_quote_words
        self.embed = embed
        self.clause_weight = clause_weight
        self.text_weight = text_weight
        self.text_dims = text_dims
        self.remove_top = remove_top
        self.center = center
        self.k_rule = k_rule
        self.stance_weight = stance_weight
        self.core_share = core_share
        self.side_share = side_share
        self.side_min = side_min
        self.side_confidence = side_confidence
        self.question_weight = question_weight

    def _validate(self) -> None:
        """Check the parameters (at fit, so ``set_params`` is checked too)."""

        def bad(name: str, rule: str) -> ValueError:
            return ValueError(f"ThemeDiscoverer: {name}={getattr(self, name)!r}; {rule}")

        if not isinstance(self.seed, int | np.integer):
            raise bad("seed", "expected an integer")
        integers = {
            "min_themes": 1,
            "sample_size": 1,
            "tree_size": 2,
            "kmeans_iter": 1,
            "max_labels": 1,
            "n_quotes": 0,
            "max_quote_words": 1,
            "text_dims": 2,
            "remove_top": 0,
        }
        for name, low in integers.items():
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < low:
                raise bad(name, f"expected an integer of at least {low}")
        if self.max_themes is not None and self.max_themes < 1:
            raise bad("max_themes", "expected None or an integer of at least 1")
        if self.min_theme_size is not None and self.min_theme_size <= 0:
            raise bad("min_theme_size", "expected None or a positive number")
        if self.side_min is not None and self.side_min <= 0:
            raise bad("side_min", "expected None or a positive number")
        if not 0.5 <= float(self.side_confidence) <= 1.0:
            raise bad("side_confidence", "expected a number from 0.5 to 1")
        for name in (
            "clause_weight", "secondary_share", "other_cap", "stance_weight", "side_share",
            "question_weight",
        ):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise bad(name, "expected a number from 0 to 1")
        if not 0.0 <= self.text_weight < 1.0:
            raise bad("text_weight", "expected a number from 0 up to (not including) 1")
        if not 0.0 < self.core_share <= 1.0:
            raise bad("core_share", "expected a number above 0, at most 1")
        if self.other_spread < 0:
            raise bad("other_spread", "expected a non-negative number")
        if self.k_rule not in ("silhouette", "gap"):
            raise bad("k_rule", "expected 'silhouette' or 'gap'")
        if self.embed is not None and not callable(self.embed):
            raise bad("embed", "expected None or a function of a list of texts")

    # -- fitting -----------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        weights: Sequence[float] | None = None,
        substantive: Sequence[bool] | None = None,
        stance: Sequence[float] | None = None,
        question: str | None = None,
        language: str | None = None,
    ) -> ThemeDiscoverer:
        """Discover themes and assign every text; see the class docstring.

        ``language`` is the answers' ISO 639-1 code as preparation detected it (e.g.
        :func:`heard.analysis.prepare.main_language`); labels and side names are read in
        it. None: detected here from the texts.

        ``stance`` is an optional signed position per text (-1 against … +1 for, 0 not
        known), e.g. from :func:`heard.analysis.stance.stance_axis`; it counts with
        ``stance_weight`` and splits leaves by side with ``side_share``. ``question`` is
        the question's text, whose direction ``question_weight`` takes out of the answers.
        """
        self._validate()
        self.center_ = bool(self.center or self.remove_top > 0)
        n = len(texts)
        x = _normalise(np.asarray(vectors).reshape(n, -1)) if n else np.zeros((0, 1))
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        if len(w) != n:
            raise ValueError(f"weights has {len(w)} values for {n} texts")
        if np.any(w <= 0):
            raise ValueError("weights must be positive")
        sub = self._substantive(texts, substantive)
        side = self._side(stance, n)
        rng = np.random.default_rng(self.seed)
        self.clause_weight_ = self.clause_weight if self.embed is not None else 0.0
        self.question_ = self._question_direction(question, x.shape[1])
        x = self._blend(texts, x)
        x_embed = x
        self._fit_features(texts, x, sub, rng)
        self.stance_weight_ = self.stance_weight if stance is not None else 0.0
        x = self._features(texts, x, stance)

        idx = np.flatnonzero(sub)
        total = float(w[idx].sum())
        self.min_theme_size_ = (
            float(self.min_theme_size)
            if self.min_theme_size is not None
            else max(3.0, math.ceil(0.01 * total))
        )
        if idx.size > self.sample_size:
            idx = np.sort(rng.choice(idx, self.sample_size, replace=False))
        self.sample_ = idx

        leaf_of_sample, centroids = self._leaves(x[idx], w[idx], rng)
        # Leaves ordered by weight, largest first.
        sizes = np.bincount(leaf_of_sample, weights=w[idx], minlength=len(centroids))
        order = np.argsort(-sizes, kind="stable")
        centroids = centroids[order]
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        leaf_of_sample = rank[leaf_of_sample] if len(order) else leaf_of_sample
        # Parents group the leaves found on content; sided leaves share their parent.
        content_parents = self._parents(centroids, sizes[order])
        self.content_centroids_ = centroids
        self.centroids_, leaf_of_sample, self.leaf_content_, self.leaf_side_ = self._sides(
            x[idx], w[idx], None if side is None else side[idx], leaf_of_sample, centroids
        )
        self._thresholds(x[idx], leaf_of_sample)

        parents = content_parents[self.leaf_content_]
        self.leaf_parent_ = parents
        self.keys_ = self._keys(parents)

        result = self._assign(texts, x, sub, side)
        self.labels_ = result.labels
        self.confidence_ = result.confidence
        self.outcomes_ = result.outcomes
        self.leaf_ = result.leaf
        if language is None:
            language = main_language(
                [code for code, _ in LanguageDetector().detect_many(
                    [texts[i] for i in np.flatnonzero(sub)[:50]])]
            )
        self.themes_ = self._describe(texts, x_embed, w, result.leaf, parents, language)
        return self

    def _side(self, stance: Sequence[float] | None, n: int) -> np.ndarray | None:
        """The stance that picks a side: 0 where it is below ``side_confidence``."""
        if stance is None:
            return None
        side = np.asarray(stance, dtype=np.float64).reshape(-1)
        if len(side) != n:
            raise ValueError(f"stance has {len(side)} values for {n} texts")
        return np.where(np.abs(side) >= 2.0 * self.side_confidence - 1.0, side, 0.0)

    def _sides(
        self, x: np.ndarray, w: np.ndarray, side: np.ndarray | None, leaf: np.ndarray,
        centroids: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Leaves with each really mixed one split by side (``side_share``).

        Returns the leaf centroids, the sampled points' leaves, and per leaf the leaf found
        on content it comes from and its side (+1 agree, -1 disagree, 0 both).
        """
        k = len(centroids)
        if not self.side_share or side is None or not k:
            return centroids, leaf, np.arange(k), np.zeros(k, dtype=int)
        floor = self.side_min if self.side_min is not None else self.min_theme_size_
        out: list[np.ndarray] = []
        content: list[int] = []
        sides: list[int] = []
        new_leaf = np.empty_like(leaf)
        for j in range(k):
            members = leaf == j
            total = float(w[members].sum())
            agree, disagree = members & (side > 0), members & (side < 0)
            smaller = min(float(w[agree].sum()), float(w[disagree].sum()))
            if smaller < max(self.side_share * total, floor):
                new_leaf[members] = len(out)
                out.append(centroids[j])
                content.append(j)
                sides.append(0)
                continue
            pair = _normalise(
                np.stack([(x[m] * w[m, None]).sum(axis=0) for m in (agree, disagree)])
            )
            # members whose side is not known join the nearer of the two
            near = np.argmax(x @ pair.T, axis=1)
            chosen = np.where(side > 0, 0, np.where(side < 0, 1, near))
            new_leaf[members] = len(out) + chosen[members]
            out.extend(pair)
            content.extend([j, j])
            sides.extend([1, -1])
        return np.array(out), new_leaf, np.array(content), np.array(sides)

    def _pick(self, sims: np.ndarray, side: np.ndarray | None) -> np.ndarray:
        """Per answer and leaf found on content, the leaf it stands for, shape (n, k).

        A leaf split by side stands for the answer's side; for an answer whose stance is
        0 (or not given), for the nearer of the two.
        """
        n, k = len(sims), len(self.content_centroids_)
        pick = np.tile(np.arange(k), (n, 1))
        s = np.zeros(n) if side is None else side
        for c in range(k):
            kids = np.flatnonzero(self.leaf_content_ == c)
            if len(kids) == 1:
                pick[:, c] = kids[0]
                continue
            agree = kids[self.leaf_side_[kids] > 0][0]
            disagree = kids[self.leaf_side_[kids] < 0][0]
            nearer = np.where(sims[:, agree] >= sims[:, disagree], agree, disagree)
            pick[:, c] = np.where(s > 0, agree, np.where(s < 0, disagree, nearer))
        return pick

    def _fit_features(
        self, texts: Sequence[str], x: np.ndarray, sub: np.ndarray, rng: np.random.Generator
    ) -> None:
        """Fit the clustering space: centred embeddings, optionally with a text (TF-IDF) part."""
        self.mean_ = np.zeros(x.shape[1])
        self.top_ = np.zeros((0, x.shape[1]))
        self.text_model_ = None
        idx = np.flatnonzero(sub)
        if idx.size < 10:
            return
        fit_idx = idx if idx.size <= 5000 else np.sort(rng.choice(idx, 5000, replace=False))
        if self.center_:
            self.mean_ = x[fit_idx].mean(axis=0)
        if self.remove_top > 0:
            xc = x[fit_idx] - self.mean_
            _, _, vt = np.linalg.svd(xc, full_matrices=False)
            self.top_ = vt[: self.remove_top]
        if self.text_weight > 0:
            from sklearn.decomposition import TruncatedSVD
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.pipeline import make_union

            vec = make_union(
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(3, 5),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=40000,
                    dtype=np.float32,
                ),
                TfidfVectorizer(
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    stop_words="english",
                    dtype=np.float32,
                ),
            )
            try:
                t = vec.fit_transform([texts[i] for i in fit_idx])
            except ValueError:
                return
            dims = min(self.text_dims, t.shape[1] - 1, len(fit_idx) - 1)
            if dims < 2:
                return
            svd = TruncatedSVD(dims, random_state=int(rng.integers(2**31 - 1)), n_iter=4)
            svd.fit(t)
            self.text_model_ = (vec, svd)

    def _features(
        self, texts: Sequence[str], x: np.ndarray, stance: Sequence[float] | None = None
    ) -> np.ndarray:
        """Unit vectors in the clustering space for unit embeddings ``x``."""
        if len(x) == 0:
            return x
        e = x - self.mean_
        if len(self.top_):
            e = e - (e @ self.top_.T) @ self.top_
        e = _normalise(e)
        if self.text_model_ is not None:
            vec, svd = self.text_model_
            t = _normalise(svd.transform(vec.transform([str(s or "") for s in texts])))
            a = self.text_weight
            e = np.hstack([math.sqrt(1 - a) * e, math.sqrt(a) * t])
        b = getattr(self, "stance_weight_", 0.0)
        if not b:
            return e
        # The stance is one more coordinate: answers on opposite sides are pulled apart.
        s = np.zeros(len(x)) if stance is None else np.asarray(stance, dtype=np.float64)
        return _normalise(np.hstack([math.sqrt(1 - b) * e, math.sqrt(b) * s[:, None]]))

    def _substantive(self, texts: Sequence[str], substantive: Sequence[bool] | None) -> np.ndarray:
        if substantive is None:
            return np.array([bool(t and t.strip()) for t in texts], dtype=bool)
        sub = np.asarray(substantive, dtype=bool)
        if len(sub) != len(texts):
            raise ValueError(f"substantive has {len(sub)} values for {len(texts)} texts")
        return sub

    def _k_range(self, total: float, n_points: int) -> tuple[int, int]:
        """Candidate leaf counts: from ``min_themes`` up to about sqrt(weighted n), capped."""
        cap = self.max_themes if self.max_themes is not None else 15
        by_size = int(total // self.min_theme_size_)
        hi = max(1, min(cap, by_size, n_points, int(math.sqrt(total)) + 1))
        lo = max(2, min(self.min_themes, hi))
        return min(lo, hi), hi

    def _leaves(
        self, x: np.ndarray, w: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Leaf label per sampled point and unit centroids."""
        if self.core_share < 1.0 and len(x) >= 20:
            # Themes are found among the densest answers; the rest join the nearest.
            core = _dense(x, self.core_share)
            _, c = self._leaves_of(x[core], w[core], rng)
            return np.argmax(x @ c.T, axis=1), c
        return self._leaves_of(x, w, rng)

    def _leaves_of(
        self, x: np.ndarray, w: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(x) == 0:
            self.silhouettes_ = {}
            return np.zeros(0, dtype=int), np.zeros((0, x.shape[1]))
        lo, hi = self._k_range(float(w.sum()), len(x))
        if self.stance_weight_ and len(x) and x.shape[1] > 1:
            # With a stance, leaves are counted as if each side were discovered alone.
            sides = [x[:, -1] > 0, x[:, -1] < 0]
            if all(side.any() for side in sides):
                ranges = [self._k_range(float(w[side].sum()), int(side.sum())) for side in sides]
                lo, hi = max(lo, sum(r[0] for r in ranges)), max(hi, sum(r[1] for r in ranges))
        if hi < 2:  # too few responses to split: one theme
            self.silhouettes_ = {}
            labels = np.zeros(len(x), dtype=int)
            return labels, _centroids(x, w, labels)[0]
        tree_idx = np.arange(len(x))
        if len(x) > self.tree_size:
            tree_idx = np.sort(rng.choice(len(x), self.tree_size, replace=False))
        xt, wt = x[tree_idx], w[tree_idx]
        merges = ward_tree(xt, wt)
        cuts = cut_tree(merges, len(xt), range(lo, hi + 1))
        self.silhouettes_ = {k: weighted_silhouette(xt, lab, wt) for k, lab in sorted(cuts.items())}
        if self.k_rule == "gap":
            h = np.maximum(merges[:, 2], 1e-12)
            m = len(xt)
            self.k_scores_ = {k: float(h[m - k] / h[m - k - 1]) for k in cuts if m - k - 1 >= 0}
        else:
            self.k_scores_ = dict(self.silhouettes_)
        best_k = max(self.k_scores_, key=lambda k: (round(self.k_scores_[k], 6), -k))
        c, _ = _centroids(xt, wt, cuts[best_k])
        c, labels = _spherical_kmeans(x, w, c, self.kmeans_iter)
        # Dissolve themes below the size floor, smallest first, re-fitting each time.
        while len(c) > 1:
            sizes = np.bincount(labels, weights=w, minlength=len(c))
            small = int(np.argmin(sizes))
            if sizes[small] >= self.min_theme_size_:
                break
            c, labels = _spherical_kmeans(x, w, np.delete(c, small, axis=0), self.kmeans_iter)
        return labels, c

    def _thresholds(self, xs: np.ndarray, leaf: np.ndarray) -> None:
        """Per-leaf "Other" threshold: median minus ``other_spread`` robust SDs, capped."""
        th = np.full(len(self.centroids_), -1.0)
        if len(xs):
            sims = (xs * self.centroids_[leaf]).sum(axis=1)
            for k in range(len(th)):
                s = sims[leaf == k]
                if s.size >= 5:
                    med = float(np.median(s))
                    mad = 1.4826 * float(np.median(np.abs(s - med)))
                    th[k] = min(self.other_cap, med - self.other_spread * mad)
        self.other_threshold_ = th

    def _parents(self, centroids: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Parent index per leaf: Ward over leaf centroids, cut at the largest height ratio."""
        n_leaves = len(centroids)
        if n_leaves <= 3:
            return np.arange(n_leaves)
        merges = ward_tree(centroids, sizes)
        heights = np.maximum(merges[:, 2], 1e-12)
        ks = range(2, max(2, n_leaves // 2) + 1)
        # Cutting to k parents applies the first n-k merges; the next merge is the gap.
        gap = {k: heights[n_leaves - k] / heights[n_leaves - k - 1] for k in ks}
        best = max(gap, key=lambda k: (round(gap[k], 9), -k))
        return cut_tree(merges, n_leaves, [best])[best]

    @staticmethod
    def _keys(parents: np.ndarray) -> list[str]:
        """``tP.C`` for the C-th child of parent P; ``tP`` for a leaf with no siblings."""
        keys, counter = [], {}
        alone = np.bincount(parents) == 1 if len(parents) else np.zeros(0, bool)
        for p in parents:
            counter[p] = counter.get(p, 0) + 1
            keys.append(f"t{p + 1}" if alone[p] else f"t{p + 1}.{counter[p]}")
        return keys

    # -- assignment --------------------------------------------------------------
    def transform(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity of each text to each leaf theme, shape (n, n_leaves)."""
        check_is_fitted(self, "centroids_")
        if len(self.centroids_) == 0:
            return np.zeros((len(texts), 0))
        return self._space(texts, vectors) @ self.centroids_.T

    def _question_direction(self, question: str | None, dim: int) -> np.ndarray | None:
        """The question's unit vector, when ``question_weight`` takes it out of the answers."""
        if not self.question_weight or self.embed is None or not (question or "").strip():
            return None
        q = np.asarray(self.embed([str(question)]), dtype=np.float64).reshape(-1)
        norm = float(np.linalg.norm(q))
        return q / norm if len(q) == dim and norm > 0 else None

    def _blend(self, texts: Sequence[str], x: np.ndarray) -> np.ndarray:
        """Unit answer vectors blended with their clauses' (see ``clause_weight``), less
        ``question_weight`` of their component along the question's direction."""
        if self.clause_weight_ and len(texts):
            x = blend_clauses(texts, x, self.embed, weight=self.clause_weight_)
        q = getattr(self, "question_", None)
        if q is None or not len(x):
            return x
        # Every answer to one question shares its direction; it says nothing about themes.
        return _normalise(x - self.question_weight * np.outer(x @ q, q))

    def _space(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Texts in the clustering space (unit vectors)."""
        x = _normalise(np.asarray(vectors).reshape(len(texts), -1))
        return self._features(texts, self._blend(texts, x))

    def assign(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        substantive: Sequence[bool] | None = None,
        stance: Sequence[float] | None = None,
    ) -> Assignment:
        """Assign texts to the fitted leaf themes, "Other" or "empty", with a reason.

        ``stance`` (as given to :meth:`fit`) picks the side of a leaf split by side;
        without it an answer goes to the nearer side.
        """
        check_is_fitted(self, "centroids_")
        sub = self._substantive(texts, substantive)
        k = len(self.centroids_)
        feats = self._space(texts, vectors) if k else np.zeros((len(texts), 0))
        return self._assign(texts, feats, sub, self._side(stance, len(texts)))

    def _assign(
        self,
        texts: Sequence[str],
        feats: np.ndarray,
        sub: np.ndarray,
        side: np.ndarray | None = None,
    ) -> Assignment:
        """:meth:`assign` on texts already in the clustering space."""
        n = len(texts)
        k = len(self.centroids_)
        sims = feats @ self.centroids_.T if k else np.zeros((n, 0))
        split = bool(k and np.any(self.leaf_side_))
        # Leaves are chosen on content; a leaf split by side then gives the answer's side.
        content = feats @ self.content_centroids_.T if split else sims
        labels: list[list[str]] = [[] for _ in range(n)]
        conf = np.zeros(n)
        leaf = np.full(n, -1)
        outcomes: list[tuple[str, str]] = []
        if k:
            best = np.argmax(content, axis=1)
            # Confidence: softmax share of the nearest theme (temperature 0.05 in cosine).
            near = content[np.arange(n), best]
            z = np.exp((content - near[:, None]) / 0.05)
            share = 1.0 / z.sum(axis=1)
            pick = self._pick(sims, side)
            best = pick[np.arange(n), best]
            top = sims[np.arange(n), best]
            mix = None
            if self.max_labels > 1 and len(self.content_centroids_) > 1:
                mix = mix_weights(feats[sub], self.content_centroids_)
                mix_row = np.cumsum(sub) - 1  # row in ``mix`` of each substantive text
        for i in range(n):
            if not sub[i]:
                outcomes.append((EMPTY, "no substantive answer"))
                continue
            if not k:
                outcomes.append((OTHER, "no themes were found"))
                continue
            b = int(best[i])
            leaf[i] = b
            th = self.other_threshold_[b]
            if top[i] < th:
                outcomes.append(
                    (OTHER, f"far from every theme: similarity {top[i]:.2f} < {th:.2f}")
                )
                conf[i] = float(1.0 - share[i])
                continue
            labels[i].append(self.keys_[b])
            conf[i] = float(share[i])
            reason = f"nearest theme {self.keys_[b]}: similarity {top[i]:.2f}"
            if mix is not None:
                extra = self._secondary(mix[mix_row[i]], sims[i], pick[i], b)
                labels[i].extend(self.keys_[j] for j in extra)
                if extra:
                    reason += "; also " + ", ".join(
                        f"{self.keys_[j]} (similarity {sims[i, j]:.2f})" for j in extra
                    )
            outcomes.append((MAPPED, reason))
        return Assignment(labels=labels, confidence=conf, outcomes=outcomes, leaf=leaf)

    def _secondary(
        self, mix: np.ndarray, sims: np.ndarray, pick: np.ndarray, best: int
    ) -> list[int]:
        """Further leaves for one response: a large enough share of its mix, not "far".

        ``mix`` is over the leaves found on content; ``pick`` gives the leaf each of them
        stands for in this response (its side's, where a leaf is split by side).
        """
        top = float(mix.max())
        if top <= 0:
            return []
        order = np.argsort(-mix, kind="stable")
        keep = [
            int(pick[j])
            for j in order
            if pick[j] != best
            and mix[j] > 0
            and mix[j] >= self.secondary_share * top
            and sims[pick[j]] >= self.other_threshold_[pick[j]]
        ]
        return keep[: self.max_labels - 1]

    def predict(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        substantive: Sequence[bool] | None = None,
    ) -> list[list[str]]:
        """Leaf theme keys per text (empty list for "Other" and "empty")."""
        return self.assign(texts, vectors, substantive).labels

    # -- description -------------------------------------------------------------
    def _clause_labels(
        self,
        texts: Sequence[str],
        x: np.ndarray,
        leaves: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]],
        pool_size: int = 25,
    ) -> dict[int, str]:
        """A label per leaf (index, centroid, the other centroids, members) from its
        members' sentence openings, each distinct from those before it."""
        if self.embed is None:
            return {}
        wanted: list[tuple[int, Counter[str], np.ndarray, np.ndarray]] = []
        for index, centroid, others, members in leaves:
            if not len(members):
                continue
            order = np.argsort(-(x[members] @ centroid), kind="stable")[:pool_size]
            seen: Counter[str] = Counter()
            for i in members[order]:
                seen.update(label_candidates(texts[int(i)]))
            if seen:
                wanted.append((index, seen, centroid, others))
        flat = [c for _, candidates, _, _ in wanted for c in candidates]
        if not flat:
            return {}
        vectors = np.asarray(self.embed(flat), dtype=np.float64)
        out: dict[int, str] = {}
        taken: set[str] = set()
        start = 0
        for index, seen, centroid, others in wanted:
            candidates = list(seen)
            rows = vectors[start : start + len(candidates)]
            start += len(candidates)
            label = choose_label(candidates, rows, centroid, others, taken=taken)
            if label is not None:
                out[index] = label
                taken.add(label.lower())
        return out

    def _describe(
        self,
        texts: Sequence[str],
        x: np.ndarray,
        w: np.ndarray,
        leaf: np.ndarray,
        parents: np.ndarray,
        language: str | None,
    ) -> list[ThemeSpec]:
        """Labels, descriptions and quotes for parents and leaves, in ``language``."""
        mapped = np.array([o[0] == MAPPED for o in self.outcomes_], dtype=bool)
        leaf_lab = [int(leaf[i]) if mapped[i] else None for i in range(len(texts))]
        par_lab = [int(parents[v]) if v is not None else None for v in leaf_lab]
        leaf_ph = key_phrases(texts, leaf_lab, top_n=10, weights=w, language=language)
        par_ph = key_phrases(texts, par_lab, top_n=10, weights=w, language=language)
        sizes = np.bincount(leaf[mapped], weights=w[mapped], minlength=len(self.centroids_))
        # Quote selection works in the embedding space: centroids of the mapped members there.
        ec = np.zeros((len(self.centroids_), x.shape[1]))
        np.add.at(ec, leaf[mapped], x[mapped] * w[mapped, None])
        ec_sum, ec = ec, _normalise(ec)
        members = {b: np.flatnonzero(mapped & (leaf == b)) for b in range(len(self.centroids_))}
        # A parent with one child would repeat it: that leaf stands at the top level.
        family = {
            p: kids for p in range(int(parents.max()) + 1 if len(parents) else 0)
            if len(kids := np.flatnonzero(parents == p))
        }
        # Labels: a short opening of a typical sentence (the texts' own words, in their
        # language), closest to its theme and furthest from its siblings; without
        # ``embed``, or with none left, ``fallback_label`` (its quotes, then key phrases).
        labels = self._clause_labels(texts, x, [
            (b, ec[b], np.delete(ec, b, axis=0), members[b]) for b in range(len(ec))
        ])
        themes: list[ThemeSpec] = []
        used: set[str] = set()  # every label of the question, at both levels
        # How the answers spell the phrases a label can be: a typo in the answer a label
        # came from ("No rael impatc") gives way to the spelling most answers use, in its
        # theme or, said more than once, anywhere in the question (typos can form a leaf).
        spellings: dict[int, Counter[str]] = {}
        for i in np.flatnonzero(mapped):
            found = spellings.setdefault(int(leaf[i]), Counter())
            for candidate in label_candidates(texts[i], min_words=2):
                found[candidate] += float(w[i])
        everywhere = sum(spellings.values(), Counter())
        repeated = Counter({c: n for c, n in everywhere.items() if n >= 2})

        def leaf_theme(b: int) -> ThemeSpec:
            phrases = leaf_ph.get(b, [])
            quotes = select_quotes(
                texts, x, ec[b], members[b], n=self.n_quotes, embed=self.embed,
                max_words=self.max_quote_words,
            )
            label = labels.get(b)
            if label is None or is_taken(label, used):
                label = fallback_label(phrases, [q for _, q in quotes], taken=used)
            spelt = commonest_spelling(label, repeated | spellings.get(b, Counter()))
            label = label if is_taken(spelt, used) else spelt  # a twin is no better
            used.add(label.lower())
            side = int(np.sign(self.leaf_side_[b]))  # a leaf split by side says whose it is
            return ThemeSpec(
                key=self.keys_[b],
                label=side_label(label, side, language) if side else label,
                description=describe(phrases, quotes[0][1] if quotes else None),
                key_phrases=phrases,
                quotes=quotes,
                size=float(sizes[b]),
                side=side,
            )

        # Leaves first, so a parent's label never takes one of its children's.
        leaf_specs = {b: leaf_theme(b) for b in sorted(int(b) for k in family.values() for b in k)}
        for p, kids in family.items():
            specs = [leaf_specs[int(b)] for b in kids]
            # A parent says what its children share, in their words; where they share
            # nothing a label could name, it stands down and its children stand at the top.
            topic = None if len(kids) == 1 else topic_label(
                [[texts[i] for i in members[int(b)]] for b in kids],
                par_ph.get(p, []),
                taken=used,
                language=language,
                rest=[texts[i] for i in np.flatnonzero(mapped & ~np.isin(leaf, kids))],
            )
            if topic is None:
                themes.extend(specs)
                continue
            used.add(topic.lower())
            quotes = select_quotes(
                texts, x, _normalise(ec_sum[kids].sum(axis=0)[None])[0],
                np.sort(np.concatenate([members[int(b)] for b in kids])), n=1,
                embed=self.embed,
                max_words=self.max_quote_words,
            )
            key = f"t{p + 1}"
            for spec in specs:
                spec.parent = key
            themes.append(
                ThemeSpec(
                    key=key,
                    label=topic,
                    description=describe(par_ph.get(p, []), quotes[0][1] if quotes else None),
                    key_phrases=par_ph.get(p, []),
                    quotes=quotes,
                    size=float(sizes[kids].sum()),
                )
            )
            themes.extend(specs)
        return themes
