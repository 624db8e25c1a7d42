"""Stance baselines scored beside Heard in ``heard evaluate --mode stance``.

Pure functions over texts' vectors and labels, no store:

- :func:`prototype_difference`: the ten-line zero-shot baseline. Cosine of each answer
  to "I agree: <proposal>" minus its cosine to "I disagree: <proposal>", centred on
  the question's median; above the median is agree.
- :func:`oracle_majority`: every answer gets the most frequent **gold** label of the
  scored set. It reads the gold labels, so it is an oracle figure (the floor a useful
  model must clear), not a method one could run on a new consultation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

EmbedFn = Callable[[list[str]], np.ndarray]

PROTOTYPE = "prototype-difference"
MAJORITY = "oracle-majority"
STANCE_BASELINES = (PROTOTYPE, MAJORITY)


def prototype_difference(vectors: np.ndarray, question: str | None, embed: EmbedFn) -> list[str]:
    """agree / disagree per answer from its centred cosine difference to two sentences."""
    vectors = np.asarray(vectors, np.float32)
    if len(vectors) == 0:
        return []
    proposal = (question or "the proposal").strip().rstrip("?.! ") or "the proposal"
    anchors = np.asarray(embed([f"I agree: {proposal}", f"I disagree: {proposal}"]), np.float32)
    sims = vectors @ anchors.T
    score = sims[:, 0] - sims[:, 1]
    score = score - np.median(score)
    return ["agree" if s > 0 else "disagree" for s in score]


def oracle_majority(gold: Sequence[str]) -> list[str]:
    """The most frequent gold label for every answer (ties: the first in sorted order)."""
    if not gold:
        return []
    counts = Counter(gold)
    top = max(sorted(counts), key=lambda label: counts[label])
    return [top] * len(gold)
