"""Stance of a response towards the proposal: agree, disagree or unclear, with confidence.

Stance is read **relative to the question or proposal text**, with no topic vocabulary.
Two paths, one estimator (:class:`StanceClassifier`):

- **Weak labels** (preferred): when the question is paired with a closed question
  (agree / disagree), each respondent's tick is a free, noisy label for their free
  text. A logistic regression on the embeddings, each dimension standardised over the
  question's answers, learns from those labels and reads the responses whose tick is
  missing or conflicting.
- **Zero-shot**: explicit statements of position are read first. They are the generic
  words of agreement ("I agree", "I support", "in favour of") and disagreement, and the
  proposal's own action verb after a modal ("we should ban …" / "it should not be
  banned", "shouldn't ban", "no need to ban" when the proposal is to ban); sentences
  that are questions state nothing. Those responses become pseudo-labels for a
  logistic regression on the embeddings (self-training), which carries the stance to
  the responses that argue without saying it; its threshold is moved so the share read
  as agreeing equals the regression's own estimate of that share. A weak prior is
  added: the response's tone (good or harmful), signed by whether the proposal removes
  or adds something, and, only where nothing was self-trained, the cosine to "I agree:
  <proposal>" minus "I disagree: <proposal>". The tone counts only when there are
  explicit statements on both sides and they do not show praise pointing the other way
  (supporters of a ban praising the ban rather than condemning what it removes).
  Where too few answers state a side, the answers at either end of the prior become
  the pseudo-labels instead (``prior_share``).
  Both paths read an answer of several points through the mean of its clauses'
  vectors (``clause_weight``): the side is often carried by one point.

A prediction is "unclear" when its probability of the winning side is below
``min_confidence``; explicit statements that contradict each other are unclear too.

:func:`asks_for_position` decides whether a question asks for a position at all
(suggestions and requests for information do not); when it does not, stance is not
predicted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from heard.analysis.clauses import blend_clauses

EmbedFn = Callable[[list[str]], np.ndarray]
LABELS = ("agree", "disagree", "unclear")

# Generic statements of position (no topic words).
_AGREE = re.compile(
    r"\b(?:i (?:strongly |fully |completely |totally |wholeheartedly )?(?:agree|support)\b"
    r"|in favou?r of\b|(?:a |is a |very )good idea|^\W*(?:yes|absolutely|definitely)\b)",
    re.IGNORECASE,
)
_DISAGREE = re.compile(
    r"\b(?:i (?:strongly |completely |totally |fully )?(?:disagree|oppose|object)\b"
    r"|i do(?: not|n't) (?:agree|support)\b|(?:a |is a |very )bad idea"
    r"|against (?:this|the (?:proposal|plan|idea|change))\b|^\W*(?:no|not at all)\b)",
    re.IGNORECASE,
)
_MODAL = re.compile(
    r"\b(?:should|must|need to|needs to|have to|has to|ought to|shall|will|would)\b"
    r"|\b(?:should|must|would|need|ca|wo)n't\b|\bcannot\b",  # "shouldn't ban", "won't ban"
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|never|no longer|cannot|no need)\b|n't\b", re.IGNORECASE)
# A sentence that ends in a question mark asks rather than states ("Wouldn't a ban help?").
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Verbs that remove, stop or restrict: a proposal to ban X is opposed by praise of X.
_REMOVING = re.compile(
    r"\b(?:ban|banned|banning|abolish\w*|abandon\w*|end|ended|ending|prohibit\w*|close|closed"
    r"|closing|criminali[sz]\w*|restrict\w*|stop|stopped|stopping|remov\w*|scrap\w*|outlaw\w*"
    r"|limit|limited|limiting|reduc\w*|cut|cutting|fight|fighting|phase out|withdraw\w*)\b",
    re.IGNORECASE,
)
# Words skipped when looking for the proposal's action verb.
_NOT_ACTION = frozenset(
    "we the a an of to be been being not it this that all any our their its more less "
    "completely fully totally entirely also still really".split()
)
GOOD = (
    "This is good and beneficial.",
    "It helps people and has real benefits.",
    "This is a positive thing that improves lives.",
)
HARMFUL = (
    "This is bad and harmful.",
    "It hurts people and is dangerous.",
    "This is a negative thing that damages lives.",
)


def proposal_text(question: str | None) -> str:
    """The question as a plain statement: surrounding space and the final mark removed."""
    return (question or "the proposal").strip().rstrip("?.! ") or "the proposal"


def _stem(word: str) -> str:
    """A crude stem that lets "ban", "banned" and "banning" (or "close", "closing") meet."""
    for suffix in ("ing", "ed", "es", "e", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # "bann" -> "ban"
    return word[:5]


def action_stem(question: str | None) -> str | None:
    """A short stem of the proposal's action verb, or None.

    "We should ban X" → "ban"; "Should X be completely banned?" → "ban";
    "What are your thoughts on banning X?" → "ban"; "We should legalize X" → "legal".
    """
    words = re.findall(r"[a-z']+", (question or "").lower())
    for i, word in enumerate(words):
        if word in ("should", "must"):
            rest = words[i + 1 :]
            if i == 0 and "be" in rest[:6]:  # "Should X be banned?": the verb follows "be"
                rest = rest[rest.index("be") + 1 :]
            for w in rest:
                if w not in _NOT_ACTION and not w.endswith("ly"):
                    return _stem(w)
            return None
    for i, word in enumerate(words[1:], start=1):
        if word.endswith("ing") and words[i - 1] in ("on", "about", "of", "to"):
            return _stem(word)
    return None


def explicit_position(text: str, stem: str | None) -> tuple[int, int]:
    """(statements for, statements against) in ``text``, relative to the proposal.

    Counts generic statements of position and the proposal's action verb after a modal
    ("should ban" for, "should not be banned", "shouldn't ban", "no need to ban" against).
    Sentences that are questions are skipped: a rhetorical question states no side.
    """
    sentences = _SENTENCE.split((text or "").strip().lower())
    text = " ".join(s for s in sentences if not s.rstrip().endswith("?"))
    pro = len(_AGREE.findall(text))
    con = len(_DISAGREE.findall(text))
    if stem and len(stem) >= 3:
        word = re.escape(stem) + r"\w*"
        # an answer that opens with the proposal's verb: "Ban them." / "Don't ban it."
        verb = re.escape(stem) + r"\w?\b(?<!ing)(?<!ed)"  # "ban", not "banning" (a subject)
        if re.match(r"\W*(?:just |simply |please )?" + verb, text):
            pro += 1
        elif re.match(r"\W*(?:do not|don't|never|please don't) " + verb, text):
            con += 1
        for m in re.finditer(r"\b" + word, text):
            before = text[max(0, m.start() - 40) : m.start()]
            modals = list(_MODAL.finditer(before))
            if not modals:
                continue
            window = before[max(0, modals[-1].start() - 10) :]
            if _NEGATION.search(window):
                con += 1
            else:
                pro += 1
    return pro, con


def _row_dot(vectors: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``vectors @ matrix.T``, one row at a time: a row's result does not depend on how
    many rows come with it (a matrix product may sum in another order for another shape)."""
    return np.stack([(vectors * row).sum(axis=1) for row in np.atleast_2d(matrix)], axis=1)


def _centre(x: np.ndarray) -> tuple[float, float]:
    """(median, spread) of a score over the pool; the spread is never zero."""
    if len(x) == 0:
        return 0.0, 1.0
    spread = float(x.std())
    return float(np.median(x)), spread if spread > 1e-9 else 1.0


class StanceClassifier(BaseEstimator):
    """Agree / disagree / unclear per response, relative to the proposal.

    Parameters
    ----------
    embed:
        Texts to unit-norm vectors (the model behind ``vectors``).
    seed:
        Seed for the regression solver (results are deterministic for a seed).
    question:
        The question or proposal text; ``fit(question=...)`` overrides it.
    min_confidence:
        Below this probability of the winning side, the label is "unclear".
    C:
        Inverse regularisation of the regressions (weak labels and self-training).
    min_weak:
        Fewest labels of each side (weak or explicit) needed to train on them.
    prior_weight:
        Zero-shot: weight of the embedding prior next to the self-trained regression.
    tone_weight:
        Zero-shot: weight of the response's tone (good or harmful, signed by the
        proposal's direction) inside the prior.
    match_share:
        Zero-shot with self-training: move the decision threshold so that the share of
        the question's answers read as agreeing equals the self-trained regression's mean
        probability of "agree" over them (its estimate of that share). Without it, the
        regression leans to "agree": the answers that state a side for the proposal
        restate it and look like the rest more than those against do. The threshold is
        set at ``fit`` and kept, so scores do not depend on how answers are batched.
    clause_weight:
        Zero-shot and self-trained: each answer is read as ``(1 - w) * its own vector
        + w * the mean of its clauses' vectors``
        (:func:`heard.analysis.clauses.blend_clauses`; one-clause answers keep their
        own). An argument's side is often carried by one of its points, which the whole
        answer's embedding blurs. 0 reads the answer's own vector only. The clauses are
        embedded with ``embed`` at ``fit`` and kept for predicting the same answers in
        this process (a copy shipped to a worker embeds them again). The weak-label
        regression reads the answer itself.
    anchor_self_trained:
        Self-trained: keep the cosine to "I agree: <proposal>" minus "I disagree:
        <proposal>" in the prior. Off (the default), the prior of a self-trained question
        is the signed tone alone: the regression on the answers that state their side
        reads it better than that cosine, which points the wrong way on many argkp
        motions' arguments that do not say their side.
    prior_share:
        Zero-shot, where too few answers state a side to self-train on: the answers whose
        prior is in the question's top and bottom ``prior_share`` become pseudo-labels for
        the same regression (balanced classes), read beside the prior with the median
        as the threshold. The regression reads what those answers share beyond the two
        anchor sentences. 0 reads the prior alone.
    standardise:
        The regression reads each dimension standardised over the question's answers
        (then scaled by ``standardise_scale``/sqrt(dim)), not the raw unit vectors: the
        penalty then weighs every direction the same, whichever model made the vectors.
        "weak" (the default): the weak-label regression only; on the unit vectors it is
        held so hard that it reads few answers as disagreeing and many as unclear.
        True: the self-trained regressions too (helps the multilingual model's vectors,
        costs MiniLM's a little); False: none (docs/evaluation.md, stance rounds 9, 10).
    standardise_scale:
        With ``standardise``, each dimension's spread over the question is
        ``standardise_scale``/sqrt(dim): larger values let the penalty bite less. 1 is
        the setting that raised every set measured, the demo's paired question included
        (2 scored higher on the simulated sets but read fewer answers as unclear).
    """

    def __init__(
        self,
        embed: EmbedFn | None = None,
        *,
        seed: int = 0,
        question: str | None = None,
        min_confidence: float = 0.55,
        C: float = 1.0,
        min_weak: int = 3,
        prior_weight: float = 0.5,
        tone_weight: float = 1.0,
        match_share: bool = True,
        clause_weight: float = 1.0,
        anchor_self_trained: bool = False,
        prior_share: float = 0.35,
        standardise: bool | str = "weak",
        standardise_scale: float = 1.0,
    ) -> None:
        self.embed = embed
        self.seed = seed
        self.question = question
        self.min_confidence = min_confidence
        self.C = C
        self.min_weak = min_weak
        self.prior_weight = prior_weight
        self.tone_weight = tone_weight
        self.match_share = match_share
        self.clause_weight = clause_weight
        self.anchor_self_trained = anchor_self_trained
        self.prior_share = prior_share
        self.standardise = standardise
        self.standardise_scale = standardise_scale

    # -- fitting -----------------------------------------------------------------------

    def _validate(self) -> None:
        if self.embed is None or not callable(self.embed):
            raise ValueError("StanceClassifier needs embed: a function from texts to vectors")
        if not 0.5 <= float(self.min_confidence) <= 1.0:
            raise ValueError(f"min_confidence must be in [0.5, 1], got {self.min_confidence!r}")
        if not float(self.C) > 0:
            raise ValueError(f"C must be positive, got {self.C!r}")
        if int(self.min_weak) < 1:
            raise ValueError(f"min_weak must be at least 1, got {self.min_weak!r}")
        for name in ("prior_weight", "tone_weight"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)!r}")
        if not 0.0 <= float(self.prior_share) <= 0.5:
            raise ValueError(f"prior_share must be in [0, 0.5], got {self.prior_share!r}")
        if self.standardise not in (True, False, "weak"):
            raise ValueError(f"standardise must be True, False or 'weak', got {self.standardise!r}")
        if not float(self.standardise_scale) > 0:
            raise ValueError(f"standardise_scale must be positive, got {self.standardise_scale!r}")
        if not 0.0 <= float(self.clause_weight) <= 1.0:
            raise ValueError(f"clause_weight must be in [0, 1], got {self.clause_weight!r}")

    def _vectors(self, texts: list[str], vectors: np.ndarray | None) -> np.ndarray:
        if vectors is None:
            vectors = self.embed(texts) if texts else np.zeros((0, 1), np.float32)
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"vectors must be a 2-d array with one row per text ({len(texts)})")
        return vectors

    def _reading(self, texts: list[str], vectors: np.ndarray, *, keep: bool = False) -> np.ndarray:
        """The vectors the zero-shot paths read: each answer blended with its clauses.

        ``keep`` (at ``fit``): keep the clause vectors, so that predicting on the fitted
        answers does not embed their clauses again (the memo stays in this process).
        """
        if self.mode_ == "weak" or not self.clause_weight or not len(texts):
            return vectors
        memo: dict[str, np.ndarray] = self.__dict__.setdefault("_clause_memo", {})

        def embed_clauses(clauses: list[str]) -> np.ndarray:
            todo = [c for c in clauses if c not in memo]
            fresh = (
                dict(zip(todo, np.asarray(self.embed(todo), np.float32), strict=True))
                if todo
                else {}
            )
            if keep:
                memo.update(fresh)
            return np.stack([memo[c] if c in memo else fresh[c] for c in clauses])

        return blend_clauses(texts, vectors, embed_clauses, weight=float(self.clause_weight))

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_clause_memo", None)  # a copy shipped to a worker embeds its own
        return state

    def fit(
        self,
        texts: Sequence[str],
        vectors: np.ndarray | None = None,
        weak_labels: Sequence[str | None] | None = None,
        *,
        question: str | None = None,
    ) -> StanceClassifier:
        """Learn from weak labels when there are enough, else zero-shot from the texts.

        ``weak_labels`` holds "agree"/"disagree"/None per text (any stance spelling
        :func:`heard.analysis.closed.normalise_stance` reads is accepted).
        """
        from heard.analysis.closed import normalise_stance

        self._validate()
        texts = ["" if t is None else str(t) for t in texts]
        vectors = self._vectors(texts, vectors)
        self.question_ = question if question is not None else self.question
        self.stem_ = action_stem(self.question_)
        self.removing_ = bool(_REMOVING.search(proposal_text(self.question_)))
        proposal = proposal_text(self.question_)
        anchors = [f"I agree: {proposal}", f"I disagree: {proposal}", *GOOD, *HARMFUL]
        self.anchors_ = np.asarray(self.embed(anchors), np.float32)
        self.model_: LogisticRegression | None = None
        self.threshold_ = 0.0  # zero-shot score at which agree and disagree meet
        self.__dict__.pop("_clause_memo", None)
        explicit = self._explicit(texts)
        y = np.full(len(texts), -1)
        if weak_labels is not None:
            if len(weak_labels) != len(texts):
                raise ValueError(f"{len(weak_labels)} weak labels for {len(texts)} texts")
            norm = [normalise_stance(w) if w else None for w in weak_labels]
            y = np.array([1 if w == "agree" else 0 if w == "disagree" else -1 for w in norm])
        self.mode_ = "zero-shot"
        if (y == 1).sum() >= self.min_weak and (y == 0).sum() >= self.min_weak:
            self.mode_ = "weak"
        elif (explicit == 1).sum() >= self.min_weak and (explicit == 0).sum() >= self.min_weak:
            self.mode_ = "self-trained"
        self.anchor_scale_ = (
            0.0 if self.mode_ == "self-trained" and not self.anchor_self_trained else 1.0
        )
        vectors = self._reading(texts, vectors, keep=True)
        self.tone_sign_ = self._tone_sign(vectors, explicit)
        self.prior_centre_ = _centre(self._raw_prior(vectors))
        self.model_centre_ = (0.0, 1.0)
        if self.mode_ == "weak":
            self._fit_model(vectors, y, balanced=False)
            return self
        pseudo = explicit if self.mode_ == "self-trained" else self._prior_labels(vectors)
        if pseudo is None:
            return self
        self._fit_model(vectors, pseudo, balanced=True)
        decision = self._model_decision(vectors.astype(np.float64))
        self.model_centre_ = (0.0, _centre(decision)[1])
        share = 0.5  # self-trained on the prior: its threshold, the median, is kept
        if self.mode_ == "self-trained":
            if not self.match_share:
                return self
            share = float(np.mean(1.0 / (1.0 + np.exp(-np.clip(decision, -35, 35)))))
        score = self._zero_shot_score(vectors.astype(np.float64))
        self.threshold_ = float(np.quantile(score, 1.0 - share))
        return self

    def _prior_labels(self, vectors: np.ndarray) -> np.ndarray | None:
        """Zero-shot: 1 / 0 for the answers whose prior is in the question's top / bottom
        ``prior_share``, -1 for the others; None when there are too few to train on."""
        if not self.prior_share or len(vectors) < 2 * self.min_weak:
            return None
        median, spread = self.prior_centre_
        prior = (self._raw_prior(vectors.astype(np.float64)) - median) / spread
        low, high = np.quantile(prior, [self.prior_share, 1.0 - self.prior_share])
        pseudo = np.where(prior >= high, 1, np.where(prior <= low, 0, -1))
        if (pseudo == 1).sum() < self.min_weak or (pseudo == 0).sum() < self.min_weak:
            return None
        return pseudo

    def _fit_model(self, vectors: np.ndarray, y: np.ndarray, *, balanced: bool) -> None:
        rows = np.flatnonzero(y >= 0)
        mean, scale = np.zeros(vectors.shape[1]), np.ones(vectors.shape[1])
        if self.standardise in (True, self.mode_) and len(vectors):
            # each dimension to a spread of standardise_scale/sqrt(dim) over the answers
            x = vectors.astype(np.float64)
            mean = x.mean(axis=0)
            spread = (x.std(axis=0) + 1e-6) * np.sqrt(x.shape[1])
            scale = float(self.standardise_scale) / spread
        features = ((vectors - mean) * scale).astype(np.float32)
        self.model_ = LogisticRegression(
            C=self.C,
            max_iter=2000,
            random_state=self.seed,
            class_weight="balanced" if balanced else None,
        ).fit(features[rows], y[rows])
        # folded back, so the model reads the vectors as they are
        self.model_.intercept_ = self.model_.intercept_ - (self.model_.coef_ * scale) @ mean
        self.model_.coef_ = self.model_.coef_ * scale

    # -- scoring -----------------------------------------------------------------------

    def _explicit(self, texts: Sequence[str]) -> np.ndarray:
        """1 (for), 0 (against), -1 (none), -2 (statements on both sides) per text."""
        out = np.full(len(texts), -1)
        for i, text in enumerate(texts):
            pro, con = explicit_position(text, self.stem_)
            if pro and con:
                out[i] = 1 if pro > con else 0 if con > pro else -2
            elif pro or con:
                out[i] = 1 if pro else 0
        return out

    def _tone(self, vectors: np.ndarray) -> np.ndarray:
        n = len(GOOD)
        sims = _row_dot(vectors, self.anchors_[2:])
        return sims[:, :n].mean(axis=1) - sims[:, n:].mean(axis=1)

    def _tone_sign(self, vectors: np.ndarray, explicit: np.ndarray) -> float:
        """Which way praise points in this question's answers: +1, -1, or 0 (not known).

        Praise of what a proposal removes speaks against it ("cloning saves lives" against
        a ban); praise of the measure itself speaks for it ("a ban would protect
        children"). The answers that state their side show which of the two this
        question's answers do. A difference in their tone of at least
        two standard errors against the proposal's direction, says the tone is not to be
        trusted (0); so does having too few statements on either side. Otherwise the
        proposal's direction gives the sign.
        """
        pro, con = explicit == 1, explicit == 0
        if pro.sum() < self.min_weak or con.sum() < self.min_weak:
            return 0.0
        tone = self._tone(vectors)
        diff = float(tone[pro].mean() - tone[con].mean())
        se = float(np.sqrt(tone[pro].var() / pro.sum() + tone[con].var() / con.sum()))
        direction = -1.0 if self.removing_ else 1.0
        return 0.0 if se > 0 and diff * direction <= -2 * se else direction

    def _raw_prior(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine to "I agree" minus "I disagree" (not when self-trained, see
        ``anchor_self_trained``), plus the signed tone of the response."""
        sims = _row_dot(vectors, self.anchors_[:2])
        anchor = self.anchor_scale_ * (sims[:, 0] - sims[:, 1])
        return anchor + self.tone_weight * self.tone_sign_ * self._tone(vectors)

    def _model_decision(self, vectors: np.ndarray) -> np.ndarray:
        """The regression's log-odds of "agree", row by row (see :func:`_row_dot`)."""
        assert self.model_ is not None
        return _row_dot(vectors, self.model_.coef_)[:, 0] + float(self.model_.intercept_[0])

    def _check_fitted(self) -> None:
        if not hasattr(self, "mode_"):
            raise NotFittedError(
                "This StanceClassifier is not fitted yet: call fit(texts, vectors) first."
            )

    def _zero_shot_score(self, vectors: np.ndarray) -> np.ndarray:
        """Self-trained regression (in units of its spread) plus the weighted prior."""
        median, spread = self.prior_centre_
        prior = (self._raw_prior(vectors) - median) / spread
        if self.model_ is None:
            return prior
        return self._model_decision(vectors) / self.model_centre_[1] + (
            self.prior_weight * prior
        )

    def decision_function(
        self, texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Signed score per response: > 0 leans agree, in log-odds units."""
        self._check_fitted()
        texts = ["" if t is None else str(t) for t in texts]
        # float64, so that a score does not depend on how the rows are chunked
        vectors = self._reading(texts, self._vectors(texts, vectors)).astype(np.float64)
        if self.mode_ == "weak":
            assert self.model_ is not None
            return self._model_decision(vectors)
        score = self._zero_shot_score(vectors) - self.threshold_
        explicit = self._explicit(texts)
        score = np.where(explicit == 1, np.maximum(score, 0) + 3.0, score)
        score = np.where(explicit == 0, np.minimum(score, 0) - 3.0, score)
        return np.where(explicit == -2, 0.0, score)

    def predict_proba(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Probability of "agree" per response."""
        score = self.decision_function(texts, vectors)
        return 1.0 / (1.0 + np.exp(-np.clip(score, -35, 35)))

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> tuple[list[str], np.ndarray]:
        """(labels in {"agree", "disagree", "unclear"}, confidence of the winning side)."""
        p = self.predict_proba(texts, vectors).astype(np.float64)
        confidence = np.maximum(p, 1.0 - p)
        # Only the weak-label regression gives calibrated probabilities; a zero-shot score
        # is unclear only when it is exactly balanced (e.g. statements on both sides).
        cutoff = self.min_confidence if self.mode_ == "weak" else 0.5 + 1e-9
        labels = [
            "unclear" if c < cutoff else ("agree" if q >= 0.5 else "disagree")
            for q, c in zip(p, confidence, strict=True)
        ]
        return labels, confidence


# ---------------------------------------------------------------------------
# Does the question ask for a position at all?

_ASKS_POSITION = re.compile(
    r"\b(?:agree|disagree|support|oppose|in favou?r|for or against|should|must|"
    r"do you think|your (?:\w+ )?(?:views?|opinions?|thoughts|position)|what do you (?:think|feel)|"
    r"how (?:strongly|far)|to what extent|do you (?:want|like|back|accept)|why)\b",
    re.IGNORECASE,
)
_ASKS_NONE = re.compile(
    r"\b(?:suggest(?:ion)?s?|ideas?|anything (?:else|we could|that could)|"
    r"(?:what|how) (?:could|can|might) (?:we|the \w+|you)|improve|"
    r"request for information|please (?:provide|describe|tell us|share|list)|describe|"
    r"any other comments?|what (?:alternatives?|examples?|information|evidence|data))\b",
    re.IGNORECASE,
)
# A statement of a proposal ("We should ban X") asks for a position by itself.
_PROPOSAL = re.compile(r"^\s*(?:we|they|it|the \w+|\w+ \w+) (?:should|must)\b", re.IGNORECASE)


def position_share(texts: Sequence[str]) -> float:
    """Share of non-empty answers that state a position in generic words."""
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        return 0.0
    return sum(1 for t in texts if any(explicit_position(t, None))) / len(texts)


def asks_for_position(
    question: str | None, texts: Sequence[str], *, min_share: float = 0.15
) -> bool:
    """Whether stance should be read for this question at all.

    From the question text: asking for agreement, support, views, "should", "why" or
    stating a proposal says yes; asking for suggestions, ideas, improvements or
    information says no. A question that says neither (e.g. a column called "Comment")
    asks for a position when at least ``min_share`` of the answers state one in generic
    words ("I support", "I oppose", "I agree"…). A question that asks for suggestions
    is still read for stance when at least twice that share state a position anyway.
    """
    text = (question or "").strip()
    share = position_share(texts)
    if _ASKS_NONE.search(text) and not _PROPOSAL.search(text):
        return share >= 2 * min_share
    if _ASKS_POSITION.search(text) or _PROPOSAL.search(text):
        return True
    return share >= min_share


def stance_axis(
    classifier: StanceClassifier,
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    min_confidence: float = 0.0,
    proba: np.ndarray | None = None,
) -> np.ndarray | None:
    """Signed position per answer for theme discovery (-1 against … +1 for), or None.

    Only when the answers themselves say which side they are on (the classifier was
    self-trained on explicit statements of both sides, or given weak labels): a stance
    read without such statements is too weak to split themes by. Positions whose confidence is
    below ``min_confidence`` count as 0 (not known). ``proba``: the classifier's
    probabilities of agreeing for ``texts`` when they were already predicted.
    """
    if getattr(classifier, "mode_", None) not in ("self-trained", "weak"):
        return None
    if proba is None:
        proba = classifier.predict_proba(texts, vectors)
    p = np.asarray(proba, dtype=np.float64)
    signed = 2.0 * p - 1.0
    return np.where(np.maximum(p, 1.0 - p) >= min_confidence, signed, 0.0)
