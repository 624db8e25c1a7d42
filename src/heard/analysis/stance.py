"""Stance of a response towards the proposal: agree, disagree or unclear, with confidence.

Two paths, one estimator (:class:`StanceClassifier`):

- **Weak labels** (preferred): when the question is paired with a closed question
  (agree / disagree), each respondent's tick is a free, noisy label for their free
  text. A logistic regression on [embeddings ⊕ lexical cues] learns from those
  labels and then reads the responses whose tick is missing or conflicting.
- **Zero-shot**: without weak labels, a response's cosine to prototype sentences
  of agreement and disagreement (written around the question text when given),
  plus lexical cues ("I support", "oppose", "excessive", …), gives a signed score.
  The most clearly signed responses then act as pseudo-labels for the same
  regression (self-training), which carries the stance to responses that use no
  cue word but argue like those that do.

A prediction is "unclear" when its confidence is below ``min_confidence`` (weak
labels), or, zero-shot, when it is among the ``unclear_share`` least confident of
the pool: a zero-shot score has no calibrated scale, so the band is set by a prior
share rather than by a fixed probability.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

EmbedFn = Callable[[list[str]], np.ndarray]
LABELS = ("agree", "disagree", "unclear")

_AGREE_CUES = re.compile(
    r"\b(i (?:strongly |fully |completely )?(?:agree|support|welcome|back)|"
    r"(?:fully |strongly )?support(?:s|ed)? (?:the|this|a) (?:ban|proposal|measure|change)|"
    r"in favou?r|good idea|long overdue|right thing|absolutely|should be banned|"
    r"ban them|yes\b|must be (?:stopped|banned)|(?:is|are) (?:necessary|essential|vital)|"
    r"protect(?:s|ing)?|would help|will help|can help|benefit)",
    re.IGNORECASE,
)
_DISAGREE_CUES = re.compile(
    r"\b(i (?:strongly |completely )?(?:disagree|oppose|object)|against (?:the|this|a)|"
    r"oppose[sd]?|no\b|not (?:needed|necessary|the answer|the solution)|excessive|"
    r"overreach|over-?regulation|nanny state|unnecessary|unfair|won'?t (?:work|stop|help)|"
    r"will not (?:work|stop|help)|counterproductive|ineffective|personal responsibility|"
    r"freedom of choice|own choices|hurt|harm(?:s|ed)? (?:legitimate |the )?business|"
    r"lose|loss of|revenue|circumvent|workaround|unregulated|black market)",
    re.IGNORECASE,
)
# The clause after a contrast word usually carries the writer's final weight.
_CONTRAST = re.compile(r"\b(?:but|however|yet|still|nevertheless|although)\b", re.IGNORECASE)


def lexical_cues(texts: Sequence[str]) -> np.ndarray:
    """(n, 4) cue features: agree and disagree counts, overall and after the last contrast."""
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for i, text in enumerate(texts):
        text = text or ""
        parts = _CONTRAST.split(text)
        tail = parts[-1] if len(parts) > 1 else ""
        out[i] = (
            len(_AGREE_CUES.findall(text)),
            len(_DISAGREE_CUES.findall(text)),
            len(_AGREE_CUES.findall(tail)),
            len(_DISAGREE_CUES.findall(tail)),
        )
    return np.log1p(out)


def prototype_sentences(question: str | None) -> tuple[list[str], list[str]]:
    """Sentences of plain agreement and disagreement, anchored on the question if given."""
    q = (question or "the proposal").strip().rstrip("?")
    agree = [
        f"I agree with this. {q}: yes, I support it.",
        "I strongly support this proposal; it should go ahead.",
        "Yes, this is the right thing to do and it will help people.",
    ]
    disagree = [
        f"I disagree with this. {q}: no, I oppose it.",
        "I strongly oppose this proposal; it should not go ahead.",
        "No, this is a bad idea; it goes too far and will do more harm than good.",
    ]
    return agree, disagree


class StanceClassifier:
    """Agree / disagree / unclear per response.

    Parameters
    ----------
    embed:
        Texts to unit-norm vectors (the model behind ``vectors``).
    seed:
        Seed for the regression solver (results are deterministic for a seed).
    question:
        The question text, used to anchor the zero-shot prototypes.
    min_confidence:
        Below this probability of the winning side, the label is "unclear".
    C:
        Inverse regularisation of the weak-label regression.
    cue_weight:
        Scale of the lexical cue features next to the embedding.
    min_weak:
        Fewest weak labels of each side needed to train on them; otherwise zero-shot.
    unclear_share:
        Zero-shot: share of the pool, least confident first, labelled "unclear".
    pseudo_share:
        Zero-shot: share of the pool, most clearly signed first, used as pseudo-labels
        for self-training (0 turns self-training off).
    """

    def __init__(
        self,
        embed: EmbedFn,
        *,
        seed: int = 0,
        question: str | None = None,
        min_confidence: float = 0.6,
        C: float = 1.0,
        cue_weight: float = 0.5,
        min_weak: int = 5,
        unclear_share: float = 0.15,
        pseudo_share: float = 0.5,
    ) -> None:
        self.embed = embed
        self.seed = seed
        self.question = question
        self.min_confidence = min_confidence
        self.C = C
        self.cue_weight = cue_weight
        self.min_weak = min_weak
        self.unclear_share = unclear_share
        self.pseudo_share = pseudo_share

    def _features(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        return np.hstack([np.asarray(vectors, np.float32), lexical_cues(texts) * self.cue_weight])

    def _margin(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine to the closest agree prototype minus the closest disagree one."""
        sims = np.asarray(vectors, np.float32) @ self.prototypes_.T
        half = self.prototypes_.shape[0] // 2
        return sims[:, :half].max(axis=1) - sims[:, half:].max(axis=1)

    def _zero_shot_score(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Signed score: > 0 leans agree. The margin is in units of its spread on the pool."""
        cues = lexical_cues(texts)
        lex = (cues[:, 0] - cues[:, 1]) + (cues[:, 2] - cues[:, 3])
        z = np.clip(self._margin(vectors) / self.margin_scale_, -3.0, 3.0)
        return 0.5 * z + 1.5 * lex

    def fit(
        self,
        texts: Sequence[str],
        vectors: np.ndarray | None = None,
        weak_labels: Sequence[str | None] | None = None,
    ) -> StanceClassifier:
        """Learn from weak labels ("agree"/"disagree"/None per text) when there are enough."""
        texts = list(texts)
        if vectors is None:
            vectors = np.asarray(self.embed(texts), np.float32)
        agree, disagree = prototype_sentences(self.question)
        self.prototypes_ = np.asarray(self.embed(agree + disagree), np.float32)
        margins = self._margin(vectors)
        self.margin_scale_ = float(margins.std()) if len(margins) > 1 else 0.0
        if not self.margin_scale_ > 1e-6:
            self.margin_scale_ = 0.01  # typical spread of MiniLM margins
        self.model_: LogisticRegression | None = None
        self.mode_ = "zero-shot"
        self.cutoff_ = self.min_confidence
        y = np.full(len(texts), -1)
        if weak_labels is not None:
            if len(weak_labels) != len(texts):
                raise ValueError(f"{len(weak_labels)} weak labels for {len(texts)} texts")
            y = np.array([1 if w == "agree" else 0 if w == "disagree" else -1 for w in weak_labels])
        if (y == 1).sum() >= self.min_weak and (y == 0).sum() >= self.min_weak:
            self._fit_model(texts, vectors, y)
            self.mode_ = "weak"
            return self
        score = self._zero_shot_score(texts, vectors)
        n_pseudo = int(self.pseudo_share * len(texts))
        if n_pseudo >= 2 * self.min_weak:
            # Self-training: the most clearly signed responses (ties broken by position).
            order = np.argsort(-np.abs(score), kind="stable")[:n_pseudo]
            pseudo = np.full(len(texts), -1)
            pseudo[order] = np.where(score[order] > 0, 1, np.where(score[order] < 0, 0, -1))
            if (pseudo == 1).sum() >= self.min_weak and (pseudo == 0).sum() >= self.min_weak:
                self._fit_model(texts, vectors, pseudo)
                self.mode_ = "self-trained"
        if len(texts) >= 2:
            p = self.predict_proba(texts, vectors)
            confidence = np.maximum(p, 1.0 - p)
            self.cutoff_ = float(np.quantile(confidence, self.unclear_share))
        return self

    def _fit_model(self, texts: Sequence[str], vectors: np.ndarray, y: np.ndarray) -> None:
        """Logistic regression on [embeddings ⊕ cues] over the rows with a label (y >= 0)."""
        rows = np.flatnonzero(y >= 0)
        X = self._features([texts[i] for i in rows], np.asarray(vectors)[rows])
        self.model_ = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        self.model_.fit(X, y[rows])

    def predict_proba(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Probability of "agree" per response."""
        texts = list(texts)
        if vectors is None:
            vectors = np.asarray(self.embed(texts), np.float32)
        if self.model_ is not None:
            p = self.model_.predict_proba(self._features(texts, vectors))[:, 1]
            if self.mode_ == "weak":
                return p
            # self-trained: the model's log-odds plus the zero-shot score it learnt from
            logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
            score = logit + self._zero_shot_score(texts, vectors)
            return 1.0 / (1.0 + np.exp(-np.clip(score, -35, 35)))
        score = self._zero_shot_score(texts, vectors)
        return 1.0 / (1.0 + np.exp(-np.clip(score, -35, 35)))

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> tuple[list[str], np.ndarray]:
        """(labels in {"agree", "disagree", "unclear"}, confidence of the winning side)."""
        p = self.predict_proba(texts, vectors)
        confidence = np.maximum(p, 1.0 - p)
        cutoff = getattr(self, "cutoff_", self.min_confidence)
        labels = [
            "unclear" if c < cutoff else ("agree" if q >= 0.5 else "disagree")
            for q, c in zip(p, confidence, strict=True)
        ]
        return labels, confidence
