"""Evidence-rich responses: figures, sources, concrete examples and lived experience.

:func:`detect_evidence` is a transparent rule-based scorer: each cue found adds its
weight, the response is evidence-rich when the total reaches ``threshold``, and the
reason names the cues (with the matched words) so an analyst can check it.
:class:`EvidenceClassifier` adds a small learned layer on the same cues plus word
n-grams when labelled examples exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Cue:
    """One kind of evidence: a name for the reason, a pattern and a weight."""

    name: str
    pattern: re.Pattern[str]
    weight: float


_I = re.IGNORECASE
CUES: tuple[Cue, ...] = (
    Cue(
        "figure",
        re.compile(
            r"(?:[£$€]\s?\d[\d,.]*\s?(?:k|m|bn|million|billion)?|\d[\d,.]*\s?(?:%|per ?cent)"
            r"|\b\d[\d,.]*\s?(?:million|billion|thousand|hours?|days?|weeks?|months?|years?"
            r"|people|pounds|times|adverts?|ads|bets?)\b|\b(?:one|two|three|four|five|six|seven"
            r"|eight|nine|ten|twenty|hundreds?|thousands?|millions?) (?:in|out of) \w+)",
            _I,
        ),
        1.0,
    ),
    Cue(
        "source",
        re.compile(
            r"(?:https?://\S+|www\.\S+|\baccording to\b|\b(?:a |the |recent )?"
            r"(?:study|studies|research|survey|report|review|statistics|data|evidence)"
            r" (?:shows?|showed|found|finds|suggests?|indicates?)\b|\bpublished\b|"
            r"\b(?:NHS|ONS|Gambling Commission|GambleAware|WHO|OECD|university)\b)",
            _I,
        ),
        1.0,
    ),
    Cue(
        "example",
        re.compile(
            r"\b(?:for example|for instance|such as|e\.g\.|like in|in (?:countries like )?"
            r"(?:Italy|Spain|Australia|Belgium|Germany|France|the Netherlands|Ireland|Scotland|"
            r"Wales|England|the US|America)|when I (?:saw|watched|was)|last (?:week|month|year|"
            r"season)|just look at)\b",
            _I,
        ),
        1.0,
    ),
    Cue(
        "lived experience",
        re.compile(
            r"\b(?:my (?:son|daughter|husband|wife|partner|brother|sister|father|mother|dad|"
            r"mum|mom|friend|family|uncle|cousin|nephew|child|children|kids|local)|"
            r"(?:as|I am|I'm) an? (?:\w+ ){0,2}(?:parent|father|mother|teacher|nurse|doctor|"
            r"coach|counsell?or|addict|gambler|worker|volunteer|owner|fan)|"
            r"in my (?:experience|work|job|practice|family|area|town)|I(?:'ve| have)? "
            r"(?:worked|work|lost|saw|seen|watched|struggled|spent|owned|run|ran|coached|"
            r"treated|taught)|I was (?:a|an|addicted|in)|lost my|from (?:following|working|"
            r"my)|someone working in|those of us who)\b",
            _I,
        ),
        1.0,
    ),
)


def evidence_cues(text: str) -> dict[str, list[str]]:
    """Cue name → the matched words in ``text`` (only cues that matched)."""
    found: dict[str, list[str]] = {}
    for cue in CUES:
        hits = [m.group(0).strip() for m in cue.pattern.finditer(text or "")]
        if hits:
            found[cue.name] = hits
    return found


def _reason(found: dict[str, list[str]]) -> str:
    if not found:
        return "no figures, sources, examples or lived experience found"
    return "; ".join(
        f"{name}: " + ", ".join(repr(h) for h in hits[:2]) for name, hits in found.items()
    )


def detect_evidence(texts: Sequence[str], *, threshold: float = 1.0) -> list[tuple[bool, str]]:
    """(evidence_rich, reason) per text: rich when the cue weights found reach ``threshold``."""
    weights = {c.name: c.weight for c in CUES}
    out: list[tuple[bool, str]] = []
    for text in texts:
        found = evidence_cues(text)
        score = sum(weights[name] for name in found)
        out.append((score >= threshold, _reason(found)))
    return out


def cue_matrix(texts: Sequence[str]) -> np.ndarray:
    """(n, number of cues) counts of each cue, log-scaled."""
    out = np.zeros((len(texts), len(CUES)), dtype=np.float32)
    for i, text in enumerate(texts):
        for j, cue in enumerate(CUES):
            out[i, j] = len(cue.pattern.findall(text or ""))
    return np.log1p(out)


class EvidenceClassifier:
    """Learned evidence flag from labelled examples: cues ⊕ word n-gram TF-IDF.

    ``predict`` returns the same (flag, reason) pairs as :func:`detect_evidence`; the
    reason still names the cues found, and says when the flag came from wording alone.
    """

    def __init__(self, *, seed: int = 0, C: float = 1.0, cue_weight: float = 2.0) -> None:
        self.seed = seed
        self.C = C
        self.cue_weight = cue_weight

    def _features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.hstack(
            [sparse.csr_matrix(cue_matrix(texts) * self.cue_weight), self.tfidf_.transform(texts)],
            format="csr",
        )

    def fit(self, texts: Sequence[str], labels: Sequence[bool]) -> EvidenceClassifier:
        """Learn from texts and their evidence-rich flags."""
        texts = list(texts)
        y = np.asarray(labels, dtype=bool)
        if len(set(y.tolist())) < 2:
            raise ValueError("EvidenceClassifier.fit needs both evidence-rich and other examples")
        self.tfidf_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(texts)
        self.model_ = LogisticRegression(
            C=self.C, max_iter=2000, class_weight="balanced", random_state=self.seed
        ).fit(self._features(texts), y)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability that each text is evidence-rich."""
        return self.model_.predict_proba(self._features(list(texts)))[:, 1]

    def predict(self, texts: Sequence[str]) -> list[tuple[bool, str]]:
        """(evidence_rich, reason) per text."""
        texts = list(texts)
        out: list[tuple[bool, str]] = []
        for text, p in zip(texts, self.predict_proba(texts), strict=True):
            found = evidence_cues(text)
            reason = _reason(found) if found else f"wording like evidence-rich examples (p={p:.2f})"
            out.append((bool(p >= 0.5), reason if p >= 0.5 or found else _reason(found)))
        return out
