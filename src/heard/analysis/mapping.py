"""Multi-label mapping of responses to themes: zero-shot, few-shot, calibrated, active.

:class:`ThemeMapper` scores every (response, theme) pair from three signals:

- **Theme text**: each theme's label, description and optional position ("Agreement")
  embedded once; its cosine to the whole response and to the response's best-matching
  clause. Responses often make two or three points, so the clause view is what lets a
  theme stated in one sentence stand out.
- **Embeddings** of the response (the sentence-embedding vectors passed in).
- **Character n-gram TF-IDF** of the response, a cheap partner that reads wording.

Without examples (zero-shot) each theme's prototype is first moved towards the answers
most similar to it, less what all themes' answers share (Rocchio feedback: the theme is
then read in the pool's own words and language). Its similarity is standardised on the pool
(best clause plus half the whole response, in units of that theme's spread, plus the
word overlap with the theme's text), and the most similar responses per theme become
pseudo-labels for a one-vs-rest logistic regression on [embeddings ⊕ TF-IDF ⊕ theme
scores] (self-training). The final score is the standardised similarity plus half the
standardised model score, plus a prior for each theme's share of the pool (estimated
from the raw cosines, :func:`pool_shares`: standardising alone expects every theme
equally often, and real codebooks have a few themes that hold most answers). It is
scaled to probabilities against the pseudo-labels, and the threshold is set so the mean
number of themes per response on the pool matches a cardinality prior (1.2: answers
usually make one point, sometimes two). Choosing it to maximise F1 on pseudo-labels
instead over-assigned badly.

With examples (few-shot) a one-vs-rest logistic regression on [embeddings ⊕ TF-IDF]
learns from the analyst's examples and the theme texts, each theme class-weighted so
that it is learnt against the others whatever its share of the examples. Its
probabilities are mixed with those of each response's nearest neighbours in the pool
(by embedding), and a theme is assigned where the result reaches one threshold, set so
the pool's answers carry as many themes on average as the examples suggest (each example
weighed by 1 / its number of themes, as examples drawn per theme over-represent answers
with several; ``few_shot_cardinality``); a response whose best theme is under a lower
floor gets none ("Other"). A rare theme
is predicted only where its evidence is: the response's wording and its neighbours.
With ``few_shot_share_prior`` (on by default), a theme whose share of the pool,
read from the fitted model's own probabilities on it, is above its share of the examples
has its log-odds raised, both when self-training picks pool answers and at prediction:
examples drawn per theme make every theme look equally common, while real pools have a few
themes that hold most answers (corrections drawn at random already follow the pool).
Given each response's stance, a theme whose examples lean to one side is weighed by
how likely the response is to take that side (a mixed theme is unchanged).
Without examples, when the pool holds at least 40 answers per theme on average
(``transduce_top``, ``transduce_min``), each theme's 20 answers the zero-shot mapper is
surest of become its examples and the few-shot path fitted on them predicts instead.
Fitting the calibration, per-theme thresholds or each theme's share of the pool on the
few examples did worse on the real development sets (docs/evaluation.md, "How the mapping
was chosen on real data").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from heard.analysis.clauses import clause_pieces, split_clauses
from heard.analysis.clustering import ThemeSpec

EmbedFn = Callable[[list[str]], np.ndarray]
__all__ = ["ThemeMapper", "ThemeSpec", "split_clauses", "theme_text"]


class ThemeLike(Protocol):
    """What the mapper reads from a theme (``ThemeSpec`` or any object like it).

    An optional ``position`` attribute ("Agreement", "Disagreement", …) is read too.
    """

    key: str
    label: str
    description: str


def theme_text(theme: Any) -> str:
    """The text embedded for a theme: label, position when given, description."""
    label = str(getattr(theme, "label", "") or getattr(theme, "key", ""))
    description = str(getattr(theme, "description", "") or "")
    position = getattr(theme, "position", None)
    head = f"{label} ({position})" if position else label
    return f"{head}. {description}".strip() if description else head


# A codebook's position column, as codebook_theme keeps it: "(Agreement)" ending the
# description. Only a bare stance word counts, so "(for example)" is not a side.
_SIDE = re.compile(
    r"\((?:strongly |tend to )?(agree|agreement|support|supports|for|pro|yes|in favou?r"
    r"|disagree|disagreement|oppose|opposed|against|con|no)\)\s*$",
    re.IGNORECASE,
)
_AGAINST = {"disagree", "disagreement", "oppose", "opposed", "against", "con", "no"}


def theme_side(theme: Any) -> int:
    """+1 when a theme is a point for the proposal, -1 against, 0 when it has no side."""
    found = _SIDE.search(str(getattr(theme, "description", "") or ""))
    if found is None:
        return 0
    return -1 if found.group(1).casefold() in _AGAINST else 1


def side_agreement(sides: np.ndarray, agree: np.ndarray) -> np.ndarray:
    """(n, k) factor for theme probabilities: min(1, 1 + side × (2 × P(agree) − 1)).

    ``sides`` in [-1, 1] per theme: +1 a point for the proposal, -1 against, 0 none, and
    in between a side held that strongly. For a theme with a full side the factor is
    min(1, 2 × P(the answer is on the theme's side)); a theme with no side keeps 1, and so
    does a theme whose side the answer is no less likely to take than the other.
    """
    agree = np.asarray(agree, dtype=np.float64)[:, None]
    sides = np.asarray(sides, dtype=np.float64)[None, :]
    return np.minimum(1.0, 1.0 + sides * (2.0 * agree - 1.0))


def example_sides(
    Y: np.ndarray, agree: np.ndarray, *, gain: float, shrink: float, centre: float = 0.5
) -> np.ndarray:
    """Each theme's side in [-1, 1] learnt from its examples' probabilities of agreeing.

    ``Y`` (examples × themes) marks each example's themes and ``agree`` is each
    example's P(agree). A theme's mean P(agree) is shrunk towards ``centre`` by
    ``shrink`` pseudo-examples, and its distance from ``centre``, doubled and scaled by
    ``gain``, is its side (clipped to [-1, 1]): examples that all lean one way give a
    side; mixed examples, or few, give nearly none, and a theme without examples none.
    """
    Y = np.asarray(Y, dtype=np.float64)
    agree = np.asarray(agree, dtype=np.float64)
    weight = Y.sum(axis=0) + shrink
    mean = (agree @ Y + shrink * centre) / np.where(weight > 0, weight, 1.0)
    side = np.clip(gain * 2.0 * (mean - centre), -1.0, 1.0)
    return np.where(Y.sum(axis=0) > 0, side, 0.0)


class _TextFeatures:
    """Character n-gram TF-IDF, and word uni/bigrams when ``words``: one sparse block."""

    def __init__(self, *, words: bool, max_features: int) -> None:
        self.char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
            max_features=max_features, dtype=np.float32,
        )
        self.word = (
            TfidfVectorizer(
                ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=max_features,
                dtype=np.float32,
            )
            if words
            else None
        )

    @property
    def width(self) -> int:
        return len(self.char.vocabulary_) + (len(self.word.vocabulary_) if self.word else 0)

    def fit_transform(self, texts: list[str]) -> sparse.csr_matrix:
        blocks = [self.char.fit_transform(texts)]
        if self.word is not None:
            try:
                blocks.append(self.word.fit_transform(texts))
            except ValueError:  # no word occurs twice: characters only
                self.word = None
        return sparse.hstack(blocks, format="csr")

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        blocks = [self.char.transform(texts)]
        if self.word is not None:
            blocks.append(self.word.transform(texts))
        return sparse.hstack(blocks, format="csr")


#: Responses smoothed at a time: 2,000 × a 20,000-answer reference is about 0.5 GB.
_SMOOTH_ROWS = 2_000
# Few-shot: the range a threshold matched to the examples' themes per answer may take.
_CARDINALITY_THRESHOLDS = (0.3, 0.6)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))


def _fit_platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """One (a, b) for ``sigmoid(a * score + b)`` fitted on pooled scores against labels."""
    s, t = scores.ravel(), y.ravel()
    if t.min() == t.max():
        return 1.0, 0.0
    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(s[:, None], t)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _cardinality_threshold(prob: np.ndarray, cardinality: float, floor: float) -> float:
    """The threshold at which :func:`_decide` gives ``cardinality`` themes per row on average."""
    if not prob.size:
        return 0.5
    lo, hi = 0.0, 1.0
    for _ in range(30):  # the mean count falls as the threshold rises: bisect
        mid = (lo + hi) / 2
        count = _decide(prob, np.full(prob.shape[1], mid), floor).sum(axis=1).mean()
        lo, hi = (mid, hi) if count > cardinality else (lo, mid)
    return float(hi)


def pool_shares(sim: np.ndarray, temperature: float, iterations: int = 50) -> np.ndarray:
    """Each theme's share of the pool (k,), summing to 1, from raw similarities (n, k).

    A mixture estimate: an answer belongs to theme j with a probability proportional to
    ``share_j × exp(sim_j / temperature)``, and each share is the mean of those
    probabilities over the pool (EM on the shares alone). Unlike counting best matches,
    a theme that is close to many answers but rarely the closest still gets its part.
    """
    n, k = sim.shape
    share = np.full(k, 1.0 / max(k, 1))
    if not n or not k:
        return share
    like = np.exp((sim - sim.max(axis=1, keepdims=True)) / temperature)
    for _ in range(iterations):
        post = like * share[None, :]
        post /= post.sum(axis=1, keepdims=True)
        share = post.mean(axis=0)
    return share


def few_shot_share_offset(
    prob: np.ndarray, weight: float, example_counts: np.ndarray | None = None
) -> np.ndarray:
    """(k,) log-odds added to each theme: ``weight × max(0, log(pool share / example share))``.

    ``prob`` (n, k) are the fitted model's probabilities on the pool; a theme's pool share
    is its mean probability over the sum of all themes' means. ``example_counts`` (k,) are
    how many of the analyst's examples carry each theme; a theme's example share is its
    count over the sum of all counts (None: an equal share, ``1 / k``, which is what
    examples drawn per theme look like). Examples that already follow the pool's shares
    (corrections drawn at random) move nothing; a theme with no examples is not moved.
    Only a theme the pool holds more of than the examples do is raised: lowering the rarer
    ones cost recall on sets where the model already gives them sparingly
    (docs/evaluation.md, round 7).
    """
    k = prob.shape[1]
    mean = prob.mean(axis=0) if len(prob) else np.zeros(k)
    if example_counts is None:
        example_counts = np.ones(k)
    counts = np.asarray(example_counts, dtype=float)
    if not k or mean.sum() <= 0 or counts.sum() <= 0:
        return np.zeros(k)
    pool_share = mean / mean.sum()
    example_share = counts / counts.sum()
    ratio = np.divide(
        pool_share, example_share, out=np.ones(k), where=(example_share > 0) & (pool_share > 0)
    )
    return weight * np.maximum(0.0, np.log(ratio))


def transductive_examples(prob: np.ndarray, top: int) -> list[tuple[int, int]]:
    """(row, theme) pseudo-examples: each theme's ``top`` surest answers of a pool (n, k).

    An answer can only stand for its most probable theme, and a theme takes the answers
    with the largest margin of that theme over their second; so every theme gets at most
    ``top``, however common. A theme that is no answer's first gets its single most
    probable answer not already taken (none if the pool has no other).
    """
    n, k = prob.shape
    if not n or not k:
        return []
    ranked = np.sort(prob, axis=1)
    best = prob.argmax(axis=1)
    margin = ranked[:, -1] - (ranked[:, -2] if k > 1 else 0.0)
    out: list[tuple[int, int]] = []
    taken: set[int] = set()
    for j in range(k):
        rows = np.flatnonzero(best == j)
        rows = rows[np.argsort(-margin[rows], kind="stable")][:top]
        if not len(rows):
            rows = [i for i in np.argsort(-prob[:, j], kind="stable") if i not in taken][:1]
        for i in rows:
            if int(i) not in taken:
                taken.add(int(i))
                out.append((int(i), j))
    return out


def example_cardinality(Y: np.ndarray) -> float | None:
    """Themes per answer in the pool, estimated from examples drawn per theme (rows of ``Y``).

    An answer with c themes is c times as likely to be drawn when examples are drawn per
    theme, so the estimate weighs each example by 1 / c: ``1 / mean(1 / c)`` over the
    examples that carry a theme (None when none does).
    """
    counts = np.asarray(Y).sum(axis=1)
    counts = counts[counts > 0]
    return float(1.0 / np.mean(1.0 / counts)) if len(counts) else None


def _decide(prob: np.ndarray, thresholds: np.ndarray, floor: float) -> np.ndarray:
    """Boolean (n, k): themes over their threshold, plus the top theme if over ``floor``."""
    pred = prob >= thresholds[None, :]
    if prob.shape[1]:
        top = prob.argmax(axis=1)
        rows = np.arange(prob.shape[0])
        pred[rows, top] |= prob[rows, top] >= floor
    return pred


class ThemeMapper(BaseEstimator):
    """Assigns each response zero or more themes, with calibrated probabilities.

    Parameters
    ----------
    embed:
        Texts to unit-norm vectors (the same model as the ``vectors`` passed in).
    seed:
        Seed for the regressions and samples; results are deterministic for a seed.
    clauses:
        Also embed each response's clauses and score themes on the best clause.
    C:
        Inverse regularisation of the one-vs-rest logistic regressions.
    tfidf_weight:
        Scale of the character n-gram TF-IDF block relative to the embedding block.
    prior_weight:
        Scale of the theme-similarity block (the zero-shot signal) in the features.
    self_training_rounds:
        Zero-shot: rounds of pseudo-labelling the pool (``None``: one; a second round
        gained nothing on the development sets).
    pseudo_fraction:
        Zero-shot: share of the pool taken as positives for a theme, before rounds
        refine it (``None``: the expected share, 1.5 / number of themes).
    pseudo_weight:
        Sample weight of a pseudo-labelled response relative to an analyst's example.
    floor:
        The top theme is kept if its probability reaches this, even under threshold.
    max_features:
        Size cap of the TF-IDF vocabulary.
    batch_size:
        Rows per chunk when predicting, so a million vectors fit in memory.
    model_weight:
        Zero-shot: weight of the self-trained model's standardised score next to the
        standardised theme similarity in the final ranking.
    cardinality:
        Zero-shot: expected number of themes per response (a prior; consultation
        answers usually make one or two points). The decision threshold is set so
        the mean number predicted on the pool matches it.
    share_prior:
        Zero-shot: weight of each theme's share of the pool (:func:`pool_shares`, relative
        to an equal share) added to its score as ``share_prior × log(k × share)``, so a
        theme most answers are about is given more often than a rare one (0: every theme
        is expected equally often).
    share_pseudo:
        Zero-shot: each theme's pseudo-positives are ``cardinality × share`` of the pool
        (its estimated share) rather than the same ``pseudo_fraction`` for every theme.
    share_temperature:
        Zero-shot: temperature of the cosine similarities in :func:`pool_shares`.
    lexical_weight:
        Zero-shot: weight of the word overlap with the theme's text (word TF-IDF cosine,
        standardised on the pool like the embedding cosines) in the similarity (0: none).
    expand_rounds:
        Zero-shot: rounds of moving each theme's prototype towards its most similar
        answers before anything is scored (0: the theme's text alone).
    expand_top:
        Zero-shot: how many of a theme's most similar answers give its centroid (at most
        n / 2k of a pool of n answers and k themes).
    expand_weight:
        Zero-shot: weight of that centroid next to the theme text's vector.
    expand_contrast:
        Zero-shot: share of the mean of all themes' centroids taken off each centroid, so
        a prototype moves towards what sets its answers apart (0: plain centroids).
    transduce_top:
        Zero-shot: after the zero-shot fit, each theme's most confident pool answers (at
        most this many, and at most n / 2k; :func:`transductive_examples`) become its
        examples, and the few-shot path is fitted on them and predicts instead (20, the
        default; 0: off; docs/evaluation.md, zero-shot round 8).
    transduce_min:
        Zero-shot: the few-shot path is fitted on pseudo-examples only when a theme may
        take at least this many (n / 2k of a pool of n answers and k themes). The default
        (20) runs it only on pools with at least 40 answers per theme on average: with
        fewer, most of the picks were wrong and the step lost (zero-shot round 8).
    embed_weight:
        Few-shot: scale of the embedding block relative to the TF-IDF block.
    word_ngrams:
        Few-shot: word uni- and bigrams join the character n-grams.
    class_weight:
        Few-shot: ``"balanced"`` weighs each theme's positives and negatives equally
        (a rare theme is not drowned by the others), or ``None``.
    theme_weight:
        Few-shot: sample weight of a theme's own text as one of its examples.
    few_shot_C:
        Few-shot: inverse regularisation of the regressions.
    unlabelled_weight:
        Few-shot: weight of unlabelled responses as negatives, only for a theme that
        more than 80% of the examples carry (corrections into one new theme).
    few_shot_prior_weight:
        Few-shot: scale of the theme-similarity block (0: the theme texts train only as
        examples; the block cost F1 on the real sets).
    zero_shot_blend:
        Few-shot: a theme with fewer than this many examples blends the zero-shot
        mapper's score with weight m / (m + examples); 0 turns the blend off (the
        zero-shot mapper over-assigns a theme the examples never show).
    threshold:
        Few-shot: the probability at which a theme is assigned (with
        ``few_shot_cardinality``, only where no example carries a theme).
    few_shot_floor:
        Few-shot: the top theme is kept under ``threshold`` only if it reaches this.
    smoothing:
        Few-shot: share of a response's probabilities taken from the mean of its
        ``neighbours`` nearest pool responses (0: the response alone).
    neighbours:
        Few-shot: how many nearest pool responses the smoothing averages.
    max_reference:
        Few-shot: at most this many pool responses (a fixed sample) are neighbours.
    few_shot_rounds:
        Few-shot: rounds of self-training. Each round, pool responses (the same fixed
        sample) whose smoothed probability of a theme reaches
        ``few_shot_pseudo_threshold`` join the examples with that theme, at sample
        weight ``few_shot_pseudo_weight``, and the regressions are fitted again (0: the
        examples alone).
    few_shot_pseudo_threshold:
        Few-shot: the probability at which a pool response becomes a pseudo-example.
    few_shot_pseudo_weight:
        Few-shot: sample weight of a pseudo-example relative to an analyst's example.
    side_gain:
        Few-shot, with each response's stance (``agree`` at fit and predict): a theme's
        side is learnt from how one-sided its examples' stances are
        (:func:`example_sides`, this gain), and its probability is scaled by
        :func:`side_agreement` (0: stance is not used with examples; 1 gives a theme
        whose examples all surely agree the full zero-shot factor).
    side_shrink:
        Few-shot: pseudo-examples at the centre that a theme's mean stance is shrunk
        towards before its side is read (few examples give a weaker side).
    few_shot_share_prior:
        Few-shot: weight γ of each theme's share of the pool against its share of the
        examples. Examples drawn per theme make the regressions expect every theme equally
        often; the pool share is read from the fitted model's mean smoothed probability on
        the pool, the example share from the analyst's examples' theme labels
        (:func:`few_shot_share_offset`), and a theme the pool holds more of than the
        examples do gets ``γ × log(pool share / example share)`` added to its log-odds,
        when self-training picks pool answers and at prediction (1, the default; 0: none;
        docs/evaluation.md, round 7).
    few_shot_cardinality:
        Few-shot: the threshold is not ``threshold`` but the one at which the pool answers
        given a theme carry as many themes on average as the examples suggest
        (:func:`example_cardinality`), within 0.3 to 0.6 (True, the default; False:
        ``threshold``; docs/evaluation.md, round 8).
    """

    def __init__(
        self,
        embed: EmbedFn | None = None,
        *,
        seed: int = 0,
        clauses: bool = True,
        C: float = 1.0,
        tfidf_weight: float = 1.0,
        prior_weight: float = 1.0,
        self_training_rounds: int | None = None,
        pseudo_fraction: float | None = None,
        pseudo_weight: float = 0.3,
        floor: float = 0.2,
        max_features: int = 50_000,
        batch_size: int = 20_000,
        model_weight: float = 0.5,
        cardinality: float = 1.2,
        share_prior: float = 0.5,
        share_pseudo: bool = False,
        share_temperature: float = 0.01,
        lexical_weight: float = 1.0,
        expand_rounds: int = 1,
        expand_top: int = 10,
        expand_weight: float = 1.0,
        expand_contrast: float = 1.0,
        transduce_top: int = 20,
        transduce_min: int = 20,
        embed_weight: float = 2.0,
        word_ngrams: bool = True,
        class_weight: str | None = "balanced",
        theme_weight: float = 1.0,
        few_shot_C: float = 10.0,
        unlabelled_weight: float = 0.05,
        few_shot_prior_weight: float = 0.0,
        zero_shot_blend: float = 0.0,
        threshold: float = 0.4,
        few_shot_floor: float = 0.3,
        smoothing: float = 0.3,
        neighbours: int = 10,
        max_reference: int = 20_000,
        few_shot_rounds: int = 1,
        few_shot_pseudo_threshold: float = 0.7,
        few_shot_pseudo_weight: float = 0.1,
        side_gain: float = 1.0,
        side_shrink: float = 0.0,
        few_shot_share_prior: float = 1.0,
        few_shot_cardinality: bool = True,
        none_class: float = 0.0,
    ) -> None:
        self.embed = embed
        self.seed = seed
        self.clauses = clauses
        self.C = C
        self.tfidf_weight = tfidf_weight
        self.prior_weight = prior_weight
        self.self_training_rounds = self_training_rounds
        self.pseudo_fraction = pseudo_fraction
        self.pseudo_weight = pseudo_weight
        self.floor = floor
        self.max_features = max_features
        self.batch_size = batch_size
        self.model_weight = model_weight
        self.cardinality = cardinality
        self.share_prior = share_prior
        self.share_pseudo = share_pseudo
        self.share_temperature = share_temperature
        self.lexical_weight = lexical_weight
        self.expand_rounds = expand_rounds
        self.expand_top = expand_top
        self.expand_weight = expand_weight
        self.expand_contrast = expand_contrast
        self.transduce_top = transduce_top
        self.transduce_min = transduce_min
        self.embed_weight = embed_weight
        self.word_ngrams = word_ngrams
        self.class_weight = class_weight
        self.theme_weight = theme_weight
        self.few_shot_C = few_shot_C
        self.unlabelled_weight = unlabelled_weight
        self.few_shot_prior_weight = few_shot_prior_weight
        self.zero_shot_blend = zero_shot_blend
        self.threshold = threshold
        self.few_shot_floor = few_shot_floor
        self.smoothing = smoothing
        self.neighbours = neighbours
        self.max_reference = max_reference
        self.few_shot_rounds = few_shot_rounds
        self.few_shot_pseudo_threshold = few_shot_pseudo_threshold
        self.few_shot_pseudo_weight = few_shot_pseudo_weight
        self.side_gain = side_gain
        self.side_shrink = side_shrink
        self.few_shot_share_prior = few_shot_share_prior
        self.few_shot_cardinality = few_shot_cardinality
        self.none_class = none_class

    # ------------------------------------------------------------------ contract
    def _validate_params(self) -> None:
        """Check the constructor's parameters (as scikit-learn does, at ``fit``)."""
        if self.embed is None or not callable(self.embed):
            raise TypeError("ThemeMapper needs embed: a function from texts to unit vectors")
        positive = (
            "C", "few_shot_C", "cardinality", "share_temperature", "batch_size", "max_features",
            "neighbours", "max_reference", "expand_top",
        )
        for name in ("few_shot_rounds", "expand_rounds", "transduce_top", "transduce_min"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 0):
                raise ValueError(
                    f"ThemeMapper: {name} must be a whole number ≥ 0, "
                    f"not {getattr(self, name)!r}"
                )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"ThemeMapper: {name} must be positive, not {getattr(self, name)!r}"
                )
        non_negative = (
            "tfidf_weight", "prior_weight", "pseudo_weight", "model_weight", "embed_weight",
            "theme_weight", "unlabelled_weight", "few_shot_prior_weight", "zero_shot_blend",
            "few_shot_pseudo_weight", "share_prior", "lexical_weight", "side_gain",
            "side_shrink", "few_shot_share_prior", "expand_weight", "expand_contrast",
            "none_class",
        )
        for name in non_negative:
            if not getattr(self, name) >= 0:
                raise ValueError(
                    f"ThemeMapper: {name} cannot be negative, not {getattr(self, name)!r}"
                )
        for name in ("floor", "few_shot_floor", "threshold", "few_shot_pseudo_threshold"):
            if not 0 <= getattr(self, name) <= 1.01:
                raise ValueError(
                    f"ThemeMapper: {name} is a probability, not {getattr(self, name)!r}"
                )
        if not 0 <= self.smoothing <= 1:
            raise ValueError(f"ThemeMapper: smoothing is in [0, 1], not {self.smoothing!r}")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(
                f"ThemeMapper: class_weight is None or 'balanced', not {self.class_weight!r}"
            )
        if self.pseudo_fraction is not None and not 0 < self.pseudo_fraction <= 1:
            raise ValueError(
                f"ThemeMapper: pseudo_fraction is in (0, 1], not {self.pseudo_fraction!r}"
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError(
                "This ThemeMapper is not fitted yet: call fit(themes, texts=…) before "
                "predict, predict_proba, uncertainty or suggest_review."
            )

    # ------------------------------------------------------------------ features
    def _clause_vectors(
        self, texts: Sequence[str] | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Each distinct clause's vector, its response and its piece (None: no clauses)."""
        if not (self.clauses and texts is not None):
            return None
        clauses, owner, piece = clause_pieces(texts)  # each distinct clause embedded once
        dim = self.prototypes_.shape[1]
        vecs = (
            np.asarray(self.embed(clauses), dtype=np.float32)
            if clauses
            else np.zeros((0, dim), np.float32)
        )
        return vecs, owner, piece

    def _theme_scores(
        self,
        texts: Sequence[str] | None,
        vectors: np.ndarray,
        clause_vectors: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        lexical: np.ndarray | None = None,
    ) -> np.ndarray:
        """(n, 3k) raw scores: cosine to the whole response, to its best clause (or the
        whole again), and the word TF-IDF cosine to the theme's text (0 without texts).

        ``clause_vectors``: :meth:`_clause_vectors` of ``texts``, when already embedded;
        ``lexical``: the word overlap, when already computed (it has no prototype).
        """
        doc = vectors @ self.prototypes_.T
        if lexical is None:
            lexical = np.zeros_like(doc)
            if self.lexicon_ is not None and texts is not None:
                lexical = (self.lexicon_.transform(list(texts)) @ self.theme_words_.T).toarray()
        if clause_vectors is None:
            clause_vectors = self._clause_vectors(texts)
        if clause_vectors is None:
            return np.hstack([doc, doc, lexical])
        vecs, owner, piece = clause_vectors
        best = doc.copy()
        if len(vecs):
            np.maximum.at(best, owner, (vecs @ self.prototypes_.T)[piece])
        return np.hstack([doc, best, lexical])

    def _features(
        self,
        texts: Sequence[str] | None,
        vectors: np.ndarray,
        raw: np.ndarray | None = None,
        tfidf: sparse.csr_matrix | None = None,
    ) -> sparse.csr_matrix:
        """[embeddings ⊕ TF-IDF ⊕ standardised theme scores] for one chunk."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if raw is None:
            raw = self._theme_scores(texts, vectors)
        k = len(self.keys_)
        scores = ((raw - self.score_mean_) / self.score_std_)[:, : 2 * k]  # the cosines
        blocks = [
            sparse.csr_matrix(vectors * self.embed_scale_),
            sparse.csr_matrix(scores * (self.prior_scale_ / np.sqrt(2 * k) * 2)),
        ]
        if tfidf is not None:
            blocks.append(tfidf * self.tfidf_weight)
        elif self.tfidf_ is not None and texts is not None:
            blocks.append(self.tfidf_.transform(list(texts)) * self.tfidf_weight)
        elif self.tfidf_ is not None:
            blocks.append(sparse.csr_matrix((len(vectors), self.tfidf_.width)))
        return sparse.hstack(blocks, format="csr")

    def _chunk_features(
        self, texts: list[str] | None, vectors: np.ndarray
    ) -> tuple[np.ndarray, sparse.csr_matrix]:
        """(raw theme scores, features) for a chunk; pool texts come from the fit's memo."""
        memo = getattr(self, "_memo", None)
        if memo is None or texts is None:
            raw = self._theme_scores(texts, vectors)
            return raw, self._features(texts, vectors, raw)
        rows, memo_raw, memo_X = memo
        at = np.array([rows.get(t, -1) for t in texts], dtype=np.int64)
        # A text seen in the fit reuses its features only with the same vector.
        known = at >= 0
        if known.any():
            same = np.abs(
                memo_X[at[known], : vectors.shape[1]].toarray()
                - vectors[known] * self.embed_scale_
            )
            known[np.flatnonzero(known)[same.max(axis=1) > 1e-6]] = False
        raw = np.empty((len(texts), memo_raw.shape[1]))
        parts: list[sparse.csr_matrix] = []
        order: list[np.ndarray] = []
        if known.any():
            raw[known] = memo_raw[at[known]]
            parts.append(memo_X[at[known]])
            order.append(np.flatnonzero(known))
        if (~known).any():
            new = np.flatnonzero(~known)
            new_texts = [texts[i] for i in new]
            raw[new] = self._theme_scores(new_texts, vectors[new])
            parts.append(self._features(new_texts, vectors[new], raw[new]))
            order.append(new)
        X = sparse.vstack(parts, format="csr")
        inverse = np.empty(len(texts), dtype=np.int64)
        inverse[np.concatenate(order)] = np.arange(len(texts))
        return raw, X[inverse]

    def _standardise(self, raw: np.ndarray) -> None:
        """Each theme score's mean and spread on the pool (themes differ in baseline)."""
        if len(raw) < 2:
            return
        k = len(self.keys_)
        self.score_mean_ = raw.mean(axis=0)
        spread = raw.std(axis=0)
        self.score_std_ = spread + 1e-6
        # a theme sharing no word with the pool scores 0 overlap, whatever a new text says
        self.score_std_[2 * k :][spread[2 * k :] < 1e-9] = np.inf

    def _expand_prototypes(
        self,
        raw: np.ndarray,
        texts: Sequence[str] | None,
        vectors: np.ndarray,
        clause_vectors: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> np.ndarray:
        """Zero-shot: each theme's prototype moved towards its most similar answers.

        Each round, a theme's ``expand_top`` most similar answers (by :meth:`_similarity`)
        give a centroid; the mean of all themes' centroids, times ``expand_contrast``, is
        taken off it, so what moves a prototype is what sets its answers apart from the
        other themes' (key points of one motion all lie near the motion). The prototype
        becomes the theme text's vector plus ``expand_weight`` × that direction (Rocchio
        feedback): the theme is read in the pool's own words and language. Returns the
        raw scores on the new prototypes.
        """
        base = self.prototypes_
        # at most half an equal share of the pool: a small pool has few answers per theme
        m = int(max(1, min(self.expand_top, len(vectors) // (2 * len(base)))))
        for _ in range(self.expand_rounds):
            top = np.argpartition(-self._similarity(raw), m - 1, axis=0)[:m]  # (m, k)
            centroid = _unit(vectors[top].mean(axis=0))  # (k, dim)
            centroid = centroid - self.expand_contrast * centroid.mean(axis=0)
            self.prototypes_ = _unit(base + self.expand_weight * centroid)
            raw = self._theme_scores(texts, vectors, clause_vectors, raw[:, 2 * len(base) :])
            self._standardise(raw)
        return raw

    def _similarity(self, raw: np.ndarray) -> np.ndarray:
        """Zero-shot score per theme: standardised best-clause plus half whole-response cosine.

        Standardising each theme on the pool removes its baseline (some descriptions
        are close to every response), so one cut-off serves all themes.
        """
        return self._standard_similarity((raw - self.score_mean_) / self.score_std_)

    def _standard_similarity(self, z: np.ndarray) -> np.ndarray:
        """:meth:`_similarity` from scores already standardised on the pool, (n, 3k) → (n, k)."""
        k = len(self.keys_)
        score = z[:, k : 2 * k] + 0.5 * z[:, :k]
        if self.lexical_weight:
            score = score + self.lexical_weight * z[:, 2 * k :]
        return score

    def _combined(self, raw: np.ndarray, X: sparse.csr_matrix) -> np.ndarray:
        """Zero-shot ranking score: similarity plus the standardised self-trained model."""
        score = self._similarity(raw) + self.share_offset_[None, :]
        if self.model_weight and self.models_:
            dec = self._decision(self.models_, X)
            score = score + self.model_weight * (dec - self.dec_mean_) / self.dec_std_
        return score

    # ------------------------------------------------------------------ training
    def _fit_ovr(
        self, X: sparse.csr_matrix, Y: np.ndarray, w: np.ndarray, C: float | None = None,
        class_weight: str | None = "balanced",
    ) -> list[Any]:
        models: list[Any] = []
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if y.min() == y.max():
                models.append(float(y[0]))  # constant: no positives (or no negatives)
                continue
            # liblinear: fast when features (TF-IDF) outnumber rows, as here.
            lr = LogisticRegression(
                C=self.C if C is None else C, solver="liblinear", max_iter=1000,
                class_weight=class_weight,
                random_state=self.seed,
            )
            lr.fit(X, y, sample_weight=w[:, j] if w.ndim == 2 else w)
            models.append(lr)
        return models

    @staticmethod
    def _decision(models: list[Any], X: sparse.csr_matrix) -> np.ndarray:
        out = np.empty((X.shape[0], len(models)))
        for j, m in enumerate(models):
            out[:, j] = m.decision_function(X) if not isinstance(m, float) else (
                10.0 if m > 0 else -10.0
            )
        return out

    def _side_factor(self, agree: np.ndarray) -> np.ndarray:
        """(n, k) stance factor: codebook sides zero-shot, sides learnt from examples else."""
        sides = self.example_sides_ if self.n_examples_ else self.sides_
        if not np.any(sides):
            return np.ones((len(agree), len(self.keys_)))
        return side_agreement(sides, agree)

    def fit(
        self,
        themes: Sequence[ThemeLike],
        texts: Sequence[str] | None = None,
        vectors: np.ndarray | None = None,
        examples: Sequence[tuple[int, Sequence[str]]] | None = None,
        agree: np.ndarray | None = None,
    ) -> ThemeMapper:
        """Learn the mapping from the themes, the question's responses and any examples.

        ``texts``/``vectors`` are all responses of the question (unlabelled); ``examples``
        are ``(index into texts, [theme keys])`` pairs from an analyst, or ``None``.
        ``agree``: each response's probability of agreeing (from the stance classifier),
        read with examples: a theme's side is learnt from its examples' (``side_gain``).
        """
        self._validate_params()
        if not themes:
            raise ValueError("ThemeMapper.fit needs at least one theme")
        if texts is None and vectors is None and self.embed is None:
            raise ValueError("ThemeMapper.fit needs texts or vectors")
        self.themes_ = list(themes)
        # block scales: the few-shot ones were chosen on the development sets together
        few = bool(examples)
        self.embed_scale_ = self.embed_weight if few else 1.0
        self.prior_scale_ = self.few_shot_prior_weight if few else self.prior_weight
        self.keys_ = [str(t.key) for t in self.themes_]
        self.sides_ = np.array([theme_side(t) for t in self.themes_], dtype=np.int8)
        k = len(self.keys_)
        key_index = {key: j for j, key in enumerate(self.keys_)}
        theme_texts = [theme_text(t) for t in self.themes_]
        self.prototypes_ = _unit(np.asarray(self.embed(theme_texts), dtype=np.float32))

        if vectors is None:
            vectors = (
                np.asarray(self.embed(list(texts)), dtype=np.float32)
                if texts
                else np.zeros((0, self.prototypes_.shape[1]), np.float32)
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        n = len(vectors)
        if texts is not None and len(texts) != n:
            raise ValueError(f"{len(texts)} texts but {n} vectors")
        if agree is not None:
            agree = np.asarray(agree, dtype=np.float64)
            if agree.shape != (n,):
                raise ValueError(f"{agree.shape[0] if agree.ndim else 0} agree values for {n} "
                                 "responses")

        # Word TF-IDF of the pool and the theme texts, for the lexical overlap score.
        self.lexicon_: TfidfVectorizer | None = None
        if self.lexical_weight and not examples and texts is not None and n >= 2:
            self.lexicon_ = TfidfVectorizer(sublinear_tf=True, dtype=np.float32)
            try:
                self.lexicon_.fit(list(texts) + theme_texts)
                self.theme_words_ = self.lexicon_.transform(theme_texts)
            except ValueError:  # no words at all
                self.lexicon_ = None
        # The theme-score block is standardised on the pool (themes differ in baseline).
        self.score_mean_ = np.zeros(3 * k)
        self.score_std_ = np.ones(3 * k)
        clause_vectors = self._clause_vectors(texts) if n else None
        raw = self._theme_scores(texts, vectors, clause_vectors) if n else np.zeros((0, 3 * k))
        self._standardise(raw)
        if not examples and self.expand_rounds and n >= 2:
            raw = self._expand_prototypes(raw, texts, vectors, clause_vectors)
        self.tfidf_: _TextFeatures | None = None
        tfidf_pool = tfidf_theme = None
        if texts is not None and n >= 2:
            self.tfidf_ = _TextFeatures(
                words=self.word_ngrams and bool(examples), max_features=self.max_features
            )
            # one pass over the pool (the n-gram analyser is the slowest step of a fit)
            tfidf_all = self.tfidf_.fit_transform(list(texts) + theme_texts).tocsr()
            tfidf_pool, tfidf_theme = tfidf_all[:n], tfidf_all[n:]

        X_pool = self._features(texts, vectors, raw, tfidf_pool) if n else None
        X_theme = self._features(theme_texts, self.prototypes_, tfidf=tfidf_theme)
        # Features of the pool, kept so predicting on the same texts does not recompute
        # the clause embeddings and n-grams (the pipeline fits, then predicts the pool).
        self._memo: tuple[dict[str, int], np.ndarray, sparse.csr_matrix] | None = None
        if texts is not None and X_pool is not None:
            rows: dict[str, int] = {}
            for i, text in enumerate(texts):
                rows.setdefault(text, i)
            self._memo = (rows, raw, X_pool)
        z_pool = (raw - self.score_mean_) / self.score_std_ if n else np.zeros((0, 3 * k))

        labelled = np.zeros(n, dtype=bool)
        Y_pool = np.zeros((n, k))
        for index, keys in examples or []:
            if not 0 <= index < n:
                raise IndexError(f"example index {index} is outside the {n} texts")
            labelled[index] = True
            for key in keys:
                if key not in key_index:
                    raise KeyError(f"example {index} names unknown theme {key!r}")
                Y_pool[index, key_index[key]] = 1.0
        self.n_examples_ = int(labelled.sum())
        self.mode_ = "few-shot" if self.n_examples_ else "zero-shot"
        # Zero-shot: each theme's share of the pool, from the raw cosines (best clause
        # plus half the whole answer; standardised ones would make every theme equal).
        self.shares_ = np.full(k, 1.0 / k)
        if n >= 2:
            self.shares_ = pool_shares(
                raw[:, k : 2 * k] + 0.5 * raw[:, :k], self.share_temperature
            )
        self.share_offset_ = self.share_prior * np.log(np.maximum(self.shares_, 0.2 / k) * k)

        self.zero_: ThemeMapper | None = None
        self.transduced_: ThemeMapper | None = None
        self.blend_ = np.ones(k)
        self.floor_ = float(self.floor)
        # with examples and stance: each theme's side, learnt from its examples' stances
        self.example_sides_ = np.zeros(k)
        if self.n_examples_ and agree is not None and self.side_gain:
            self.example_sides_ = example_sides(
                Y_pool[labelled], agree[labelled], gain=self.side_gain, shrink=self.side_shrink
            )
        self.none_model_: Any = None
        if self.n_examples_:
            self._fit_few_shot(X_pool, X_theme, labelled, Y_pool, vectors, agree)
            self._fit_none(X_pool[labelled], X_theme, Y_pool[labelled])
            # A theme with fewer than m = zero_shot_blend examples leans on the codebook:
            # its score blends the zero-shot mapper's with weight m / (m + examples).
            count = Y_pool[labelled].sum(axis=0)
            if self.zero_shot_blend and count.min() < self.zero_shot_blend and n >= 20:
                self.blend_ = np.where(
                    count >= self.zero_shot_blend, 1.0, count / (count + self.zero_shot_blend)
                )
                params = {
                    **self.get_params(deep=False), "zero_shot_blend": 0.0, "transduce_top": 0
                }
                self.zero_ = ThemeMapper(**params).fit(themes, texts=texts, vectors=vectors)
            return self
        self._self_train(X_pool, X_theme, labelled, Y_pool, self._zero_shot_start(z_pool), raw)
        self._zero_shot_decision(raw, X_pool)
        if self.transduce_top and texts is not None:
            self._transduce(themes, texts, vectors, agree)
        return self

    def _transduce(
        self,
        themes: Sequence[ThemeLike],
        texts: Sequence[str],
        vectors: np.ndarray,
        agree: np.ndarray | None,
    ) -> None:
        """Zero-shot: the few-shot path, fitted on the pool's most confident answers.

        Each theme's answers the zero-shot mapper is surest of (its top theme, by the
        margin over the second) become that theme's examples; the few-shot mapper fitted
        on them (its own self-training and share offset included) predicts from then on.
        Only where every theme may take ``transduce_min`` picks (n / 2k of the pool): on
        smaller pools per theme the picks were mostly wrong.
        """
        m = min(self.transduce_top, len(vectors) // (2 * len(self.keys_)))
        if m < max(1, self.transduce_min):
            return
        prob = self.predict_proba(texts, vectors, agree)
        picks = transductive_examples(prob, m)
        # every pick carries one theme by construction, so the picks say nothing of how
        # many themes an answer holds: the threshold gives the pool's answers as many as
        # the zero-shot decision did (its cardinality prior, read on the answered ones)
        given = _decide(prob, self.thresholds_, self.floor_).sum(axis=1)
        params = {
            **self.get_params(deep=False), "transduce_top": 0, "few_shot_cardinality": False
        }
        few = ThemeMapper(**params).fit(
            themes,
            texts=texts,
            vectors=vectors,
            examples=[(i, [self.keys_[j]]) for i, j in picks],
            agree=agree,
        )
        if given.any():
            few._match_cardinality(
                few.predict_proba(texts, vectors, agree), float(given[given > 0].mean())
            )
        self.transduced_ = few
        self.threshold_, self.thresholds_, self.floor_ = (
            few.threshold_, few.thresholds_, few.floor_
        )

    def _fit_few_shot(
        self,
        X_pool: sparse.csr_matrix,
        X_theme: sparse.csr_matrix,
        labelled: np.ndarray,
        Y_pool: np.ndarray,
        vectors: np.ndarray,
        agree: np.ndarray | None = None,
    ) -> None:
        """The analyst's examples (and the theme texts) train a one-vs-rest regression.

        Each theme's regression is class-weighted (``class_weight``), so a theme is
        learnt against the others whatever its share of the examples, and its
        probabilities are read at one threshold (with ``few_shot_cardinality``, the one that
        gives the pool the examples' themes per answer). A response keeps its top theme
        only if that reaches ``few_shot_floor``: otherwise it is "Other". With
        ``smoothing``, each response's probabilities are mixed with the mean of its
        ``neighbours`` nearest responses in the pool (by embedding), so a theme needs
        support from similar answers as well as from the response's own wording. With
        ``few_shot_rounds``, pool responses the model is sure of (smoothed probability at
        least ``few_shot_pseudo_threshold``) join the examples at a low weight and the
        regressions are fitted again: a few examples per theme miss much of the
        wording the pool uses for it.
        """
        k = len(self.keys_)
        Xl, Yl = X_pool[labelled], Y_pool[labelled]
        # Unlabelled responses join as weak negatives, only for a theme that nearly all
        # examples carry (corrections into one new theme): without them such a theme
        # learns "anything unlike the other themes' texts" and swallows the pool. Examples
        # picked per theme keep every theme a minority, and there they cost more than they
        # give. A bounded sample keeps the cost flat on large questions.
        rest = np.flatnonzero(~labelled)
        dominant = Yl.mean(axis=0) > 0.8
        if self.unlabelled_weight and len(rest) and dominant.any():
            rng = np.random.default_rng(self.seed)
            rest = np.sort(rng.choice(rest, size=min(len(rest), 2000), replace=False))
        else:
            rest = rest[:0]
        X = sparse.vstack([X_theme, X_pool[rest], Xl], format="csr")
        Y = np.vstack([np.eye(k), np.zeros((len(rest), k)), Yl])
        w = np.ones((k + len(rest) + len(Yl), k))
        w[:k] = self.theme_weight
        w[k : k + len(rest)] = np.where(dominant, self.unlabelled_weight, 0.0)[None, :]
        self.models_ = self._fit_ovr(X, Y, w, C=self.few_shot_C, class_weight=self.class_weight)
        self.pseudo_ = np.zeros((0, k))
        self.few_shot_offset_ = np.zeros(k)
        self.platt_ = (1.0, 0.0)
        self.threshold_ = float(self.threshold)
        self.thresholds_ = np.full(k, self.threshold_)
        self.floor_ = float(self.few_shot_floor)
        self.reference_: tuple[np.ndarray, np.ndarray] | None = None
        n = X_pool.shape[0]
        ref = np.arange(n)
        if n > self.max_reference:  # a fixed sample bounds the cost on large pools
            rng = np.random.default_rng(self.seed)
            ref = np.sort(rng.choice(n, size=self.max_reference, replace=False))
        ref_vectors = np.asarray(vectors[ref], dtype=np.float32)
        self._set_reference(X_pool[ref], ref_vectors)
        near = self._neighbours(ref_vectors) if self.reference_ is not None else None
        unlabelled = ~labelled[ref]
        counts = Yl.sum(axis=0)  # each theme's examples (not the theme texts or pseudo-examples)
        for _ in range(self.few_shot_rounds if unlabelled.any() else 0):
            prob = self._reference_prob(X_pool[ref], ref_vectors, near)
            if self.few_shot_share_prior:  # pseudo-examples picked as predicted, shares and all
                offset = few_shot_share_offset(prob, self.few_shot_share_prior, counts)
                prob = _sigmoid(_logit(prob) + offset[None, :])
            Yp = (prob >= self.few_shot_pseudo_threshold) & unlabelled[:, None]
            chosen = np.flatnonzero(Yp.any(axis=1))
            self.pseudo_ = Yp[chosen].astype(float)
            self.models_ = self._fit_ovr(
                sparse.vstack([X, X_pool[ref[chosen]]], format="csr"),
                np.vstack([Y, self.pseudo_]),
                np.vstack([w, np.full((len(chosen), k), self.few_shot_pseudo_weight)]),
                C=self.few_shot_C,
                class_weight=self.class_weight,
            )
            self._set_reference(X_pool[ref], ref_vectors)
        if not (self.few_shot_share_prior or self.few_shot_cardinality):
            return
        prob = self._reference_prob(X_pool[ref], ref_vectors, near)
        if self.few_shot_share_prior:
            self.few_shot_offset_ = few_shot_share_offset(prob, self.few_shot_share_prior, counts)
        cardinality = example_cardinality(Yl) if self.few_shot_cardinality else None
        if cardinality is not None:  # the threshold that gives the examples' themes per answer
            prob = _sigmoid(_logit(prob) + self.few_shot_offset_[None, :])
            if agree is not None:
                prob = prob * self._side_factor(np.asarray(agree)[ref])
            self._match_cardinality(prob, cardinality)

    def _fit_none(
        self, X_examples: sparse.csr_matrix, X_theme: sparse.csr_matrix, Y_examples: np.ndarray
    ) -> None:
        """With ``none_class``: a regression of "no theme", learnt from the examples that
        carry none (positives) against those that carry a theme and the theme texts."""
        none = Y_examples.sum(axis=1) == 0
        if not self.none_class or not none.any() or none.all():
            return
        X = sparse.vstack([X_theme, X_examples], format="csr")
        y = np.concatenate([np.zeros(X_theme.shape[0]), none.astype(float)])
        self.none_model_ = self._fit_ovr(
            X, y[:, None], np.ones(len(y)), C=self.few_shot_C, class_weight=self.class_weight
        )

    def _none_cap(self, prob: np.ndarray, X: sparse.csr_matrix) -> np.ndarray:
        """Rows the "no theme" regression wins (``none_class`` × its probability at least the
        best theme's) scaled to just under the floor, so they are "Other" and keep their
        themes' order."""
        if getattr(self, "none_model_", None) is None or not len(prob):
            return prob
        p_none = _sigmoid(self._decision(self.none_model_, X)[:, 0])
        best = prob.max(axis=1)
        wins = (self.none_class * p_none >= best) & (best > 0)
        scale = np.where(wins, np.minimum(1.0, 0.99 * self.floor_ / np.maximum(best, 1e-9)), 1.0)
        return prob * scale[:, None]

    def _match_cardinality(self, prob: np.ndarray, cardinality: float) -> None:
        """Few-shot: one threshold at which the answered rows of ``prob`` carry
        ``cardinality`` themes on average (within ``_CARDINALITY_THRESHOLDS``)."""
        answered = prob[prob.max(axis=1) >= self.floor_]  # these keep their top theme
        if len(answered):
            self.threshold_ = float(np.clip(
                _cardinality_threshold(answered, cardinality, self.floor_),
                *_CARDINALITY_THRESHOLDS,
            ))
            self.thresholds_ = np.full(prob.shape[1], self.threshold_)

    def _reference_prob(
        self, X_ref: sparse.csr_matrix, ref_vectors: np.ndarray, near: np.ndarray | None = None
    ) -> np.ndarray:
        """The pool sample's smoothed probabilities under the current regressions."""
        raw = (
            self.reference_[1]  # computed when the regressions were last fitted
            if self.reference_ is not None
            else _sigmoid(self._decision(self.models_, X_ref))
        )
        return self._smooth(raw, ref_vectors, near)

    def _set_reference(self, X_ref: sparse.csr_matrix, ref_vectors: np.ndarray) -> None:
        """The pool sample whose probabilities smoothing averages (None: no smoothing)."""
        self.reference_ = None
        if self.smoothing and len(ref_vectors) > self.neighbours:
            self.reference_ = (ref_vectors, _sigmoid(self._decision(self.models_, X_ref)))

    def _neighbours(self, vectors: np.ndarray) -> np.ndarray:
        """(n, m) indices of each response's nearest reference responses (a copy excluded)."""
        ref_vectors = self.reference_[0]
        m = int(min(self.neighbours, ref_vectors.shape[0] - 1))
        near = np.empty((len(vectors), m), dtype=np.intp)
        step = _SMOOTH_ROWS  # rows × reference similarities held at once
        for a in range(0, len(vectors), step):
            sims = vectors[a : a + step] @ ref_vectors.T
            sims[sims >= 1.0 - 1e-6] = -np.inf  # the response itself (or an exact copy)
            near[a : a + step] = np.argpartition(-sims, m - 1, axis=1)[:, :m]
        return near

    def _smooth(
        self, prob: np.ndarray, vectors: np.ndarray, near: np.ndarray | None = None
    ) -> np.ndarray:
        """Probabilities mixed with the mean of the nearest pool responses'.

        ``near`` (from :meth:`_neighbours`) saves the search when the same responses are
        smoothed again, as the reference sample is after each fit.
        """
        if self.reference_ is None:
            return prob
        near = self._neighbours(vectors) if near is None else near
        ref_prob, near_mean = self.reference_[1], np.empty_like(prob)
        for a in range(0, len(near), _SMOOTH_ROWS):  # the (rows, m, k) gather, bounded
            near_mean[a : a + _SMOOTH_ROWS] = ref_prob[near[a : a + _SMOOTH_ROWS]].mean(axis=1)
        return (1.0 - self.smoothing) * prob + self.smoothing * near_mean

    def _zero_shot_start(self, z: np.ndarray) -> np.ndarray:
        """Pseudo-label scores in [0, 1] from theme similarity alone (n, k)."""
        k = len(self.keys_)
        if not len(z):
            return np.zeros((0, k))
        s = self._standard_similarity(z)  # best clause first, whole response second
        # Rank within each response too: a theme that is a response's best match counts.
        rel = s - s.max(axis=1, keepdims=True)
        return _sigmoid(s - 1.0) * np.exp(0.5 * rel)

    def _self_train(
        self,
        X_pool: sparse.csr_matrix | None,
        X_theme: sparse.csr_matrix,
        labelled: np.ndarray,
        Y_pool: np.ndarray,
        start: np.ndarray,
        raw: np.ndarray,
    ) -> None:
        """Zero-shot: fit the regression on the theme texts and confident pseudo-labels."""
        k = len(self.keys_)
        n = 0 if X_pool is None else X_pool.shape[0]
        frac: float | np.ndarray = self.pseudo_fraction or min(0.5, 1.5 / k)
        if self.share_pseudo:  # each theme's expected share, not an equal one
            frac = np.clip(self.cardinality * self.shares_, 0.2 / k, 0.5)
        scores = start
        X_all = X_theme if X_pool is None else sparse.vstack([X_theme, X_pool], format="csr")
        eye = np.eye(k)
        models: list[Any] = []
        Y = np.vstack([eye, Y_pool])
        w = np.concatenate([np.ones(k), np.ones(n)])
        use = np.concatenate([np.ones(k, bool), labelled])
        rounds = self.self_training_rounds
        if rounds is None:
            rounds = 1
        rounds = rounds if n else 0
        self.models_ = []
        for r in range(rounds + 1):
            if n:
                Yp, keep = self._pseudo_labels(scores, labelled, frac)
                Y = np.vstack([eye, np.where(labelled[:, None], Y_pool, Yp)])
                use = np.concatenate([np.ones(k, bool), labelled | keep])
                w = np.concatenate([np.ones(k), np.where(labelled, 1.0, self.pseudo_weight)])
            models = self._fit_ovr(X_all[use], Y[use], w[use])
            if n and r < rounds:
                dec = self._decision(models, X_pool)
                # relabel on similarity plus the model, as predicted
                zdec = (dec - dec.mean(axis=0)) / (dec.std(axis=0) + 1e-6)
                scores = self._similarity(raw) + self.model_weight * zdec
        self.models_ = models
        self.pseudo_ = Y[k:] if n else np.zeros((0, k))
        self.platt_ = (1.0, 0.0)
        self.threshold_ = 0.5
        self.thresholds_ = np.full(k, self.threshold_)

    def _zero_shot_decision(self, raw: np.ndarray, X_pool: sparse.csr_matrix | None) -> None:
        """Zero-shot scale, calibration and threshold, from the pool alone.

        The final score adds the self-trained model (standardised on the pool) to the
        theme similarity. Probabilities are a Platt scaling of that score against the
        last pseudo-labels; the threshold makes the mean number of themes per response
        on the pool equal the ``cardinality`` prior (rather than maximising F1 on the
        pseudo-labels, which rewards over-assigning).
        """
        k = len(self.keys_)
        self.dec_mean_ = np.zeros(k)
        self.dec_std_ = np.ones(k)
        if X_pool is None or X_pool.shape[0] < 2:
            return
        dec = self._decision(self.models_, X_pool)
        self.dec_mean_ = dec.mean(axis=0)
        self.dec_std_ = dec.std(axis=0) + 1e-6
        score = self._combined(raw, X_pool)
        self.platt_ = _fit_platt(score, self.pseudo_)
        prob = self._platt(score)
        self.threshold_ = _cardinality_threshold(prob, self.cardinality, self.floor)
        self.thresholds_ = np.full(k, self.threshold_)

    def _pseudo_labels(
        self, scores: np.ndarray, labelled: np.ndarray, frac: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Confident positives (top ``frac`` per theme) and negatives (bottom half).

        ``frac`` is one share for every theme or one per theme.
        """
        n, k = scores.shape
        pool = ~labelled
        Y = np.zeros((n, k))
        keep = np.zeros(n, dtype=bool)
        if not pool.any():
            return Y, keep
        fracs = np.broadcast_to(np.asarray(frac, dtype=np.float64), (k,))
        for j in range(k):
            n_pos = max(1, int(round(fracs[j] * pool.sum())))
            col = np.where(pool, scores[:, j], -np.inf)
            order = np.argsort(-col, kind="stable")
            Y[order[:n_pos], j] = 1.0
        # A response kept as training data needs a confident answer for every theme:
        # either a positive, or clearly below that theme's median.
        med = np.median(scores[pool], axis=0)
        confident = (Y > 0) | (scores < med[None, :])
        keep = pool & confident.all(axis=1)
        return Y, keep

    # ------------------------------------------------------------------ predict
    def _platt(self, decision: np.ndarray) -> np.ndarray:
        a, b = self.platt_
        return _sigmoid(a * decision + b)

    def predict_proba(
        self,
        texts: Sequence[str] | None,
        vectors: np.ndarray | None = None,
        agree: np.ndarray | None = None,
    ) -> np.ndarray:
        """Calibrated probability of each theme for each response, (n, n_themes).

        ``agree``: each response's probability of agreeing with the proposal (from the
        stance classifier). Zero-shot, where the codebook gives themes a side (a position
        column), a theme's probability is scaled by :func:`side_agreement`, so a point
        made for the proposal is not given to an answer against it. With examples the
        codebook's sides are not used (a weak stance reading then costs more than it
        gives; docs/evaluation.md, round 5): each theme's side is learnt from its
        examples' stances at fit (``side_gain``; round 6), so a theme whose examples are
        mixed keeps its probability.
        """
        self._check_fitted()
        if getattr(self, "transduced_", None) is not None:
            return self.transduced_.predict_proba(texts, vectors, agree)
        if vectors is None:
            if texts is None:
                raise ValueError("predict_proba needs texts or vectors")
            vectors = np.asarray(self.embed(list(texts)), dtype=np.float32)
        n = len(vectors)
        out = np.empty((n, len(self.keys_)), dtype=np.float32)
        for start in range(0, n, self.batch_size):
            stop = min(n, start + self.batch_size)
            chunk_texts = None if texts is None else list(texts[start:stop])
            chunk = np.asarray(vectors[start:stop], dtype=np.float32)
            raw, X = self._chunk_features(chunk_texts, chunk)
            chunk_agree = None if agree is None else np.asarray(agree[start:stop], np.float64)
            if self.n_examples_:
                prob = self._smooth(_sigmoid(self._decision(self.models_, X)), chunk)
                logit = _logit(prob) + self.few_shot_offset_[None, :]
                if self.zero_ is not None:  # blend margins over each mapper's threshold
                    zero = _logit(self.zero_.predict_proba(chunk_texts, chunk))
                    zero = zero - _logit(self.zero_.thresholds_)[None, :]
                    few = logit - _logit(self.thresholds_)[None, :]
                    logit = self.blend_ * few + (1 - self.blend_) * zero
                    logit = logit + _logit(self.thresholds_)[None, :]
                out[start:stop] = _sigmoid(logit)
            else:
                out[start:stop] = self._platt(self._combined(raw, X))
            if chunk_texts is not None:  # an empty answer makes no point
                out[start:stop][[not (t or "").strip() for t in chunk_texts]] = 0.0
            if chunk_agree is not None:
                out[start:stop] *= self._side_factor(chunk_agree)
            if self.n_examples_:
                out[start:stop] = self._none_cap(out[start:stop], X)
        return out

    def predict(
        self,
        texts: Sequence[str] | None,
        vectors: np.ndarray | None = None,
        agree: np.ndarray | None = None,
    ) -> list[list[str]]:
        """Theme keys per response (empty: "Other"), ordered by probability."""
        return self.decide(self.predict_proba(texts, vectors, agree))

    def decide(self, prob: np.ndarray) -> list[list[str]]:
        """Theme keys per row of :meth:`predict_proba`'s output, as :meth:`predict` gives."""
        self._check_fitted()
        pred = _decide(prob, self.thresholds_, self.floor_)
        out: list[list[str]] = []
        for row, mask in zip(prob, pred, strict=True):
            idx = np.flatnonzero(mask)
            out.append([self.keys_[j] for j in idx[np.argsort(-row[idx], kind="stable")]])
        return out

    def uncertainty(
        self, texts: Sequence[str] | None, vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Per response in [0, 1]: 1 when some theme sits exactly on its threshold."""
        prob = self.predict_proba(texts, vectors)
        t = self.thresholds_[None, :]
        span = np.where(prob >= t, 1.0 - t, t)
        return (1.0 - np.abs(prob - t) / np.maximum(span, 1e-6)).max(axis=1)

    def suggest_review(
        self,
        texts: Sequence[str] | None,
        vectors: np.ndarray,
        n: int = 20,
        *,
        exclude: Sequence[int] = (),
        candidates: int = 2000,
        redundancy: float = 0.9,
    ) -> list[int]:
        """Indices worth an analyst's label: uncertain, typical, and unlike each other.

        Score = uncertainty × density (mean cosine to the nearest responses); picks are
        greedy, and a response closer than ``redundancy`` (cosine) to one already picked
        is skipped, so one campaign cannot fill the list.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        unc = self.uncertainty(texts, vectors)
        unc[list(exclude)] = -1.0
        pool = np.argsort(-unc, kind="stable")[: max(n, candidates)]
        pool = pool[unc[pool] >= 0]
        if not len(pool):
            return []
        sims = vectors[pool] @ vectors[pool].T
        m = min(10, len(pool) - 1)
        density = (
            np.sort(sims, axis=1)[:, -m - 1 : -1].mean(axis=1) if m > 0 else np.ones(len(pool))
        )
        score = unc[pool] * np.clip(density, 0.0, None)
        chosen: list[int] = []
        for i in np.argsort(-score, kind="stable"):
            if len(chosen) >= n:
                break
            if chosen and sims[i, chosen].max() >= redundancy:
                continue
            chosen.append(int(i))
        return [int(pool[i]) for i in chosen]
