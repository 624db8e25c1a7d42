"""Clauses of a response, and response vectors that weigh each point it makes.

Consultation answers often make two or three points in one breath. An answer's own
embedding leans towards whichever point dominates its wording; the mean of its
clauses' embeddings gives each point a say. :func:`blend_clauses` mixes the two, and
theme discovery clusters the mix (docs/evaluation.md, "Third round").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

EmbedFn = Callable[[list[str]], np.ndarray]

# Clause boundaries: sentence ends, semicolons, and contrast words that join two points.
_SENTENCE = re.compile(r"(?<=[.!?])\s+|;\s*|\n+")
_CONTRAST = re.compile(
    r"(?:^|,?\s+)\b(?:but|however|yet|although|though|whereas|on the other hand|"
    r"on the flip side|that said|still|nevertheless)\b[,]?\s+",
    re.IGNORECASE,
)
_MIN_CLAUSE_CHARS = 25


def split_clauses(text: str, *, max_clauses: int = 8) -> list[str]:
    """Clauses of a response: sentences, split again at contrast words; short bits merged."""
    parts: list[str] = []
    for sentence in _SENTENCE.split(text or ""):
        parts.extend(p.strip() for p in _CONTRAST.split(sentence) if p and p.strip())
    merged: list[str] = []
    for part in parts:
        if merged and (len(part) < _MIN_CLAUSE_CHARS or len(merged[-1]) < _MIN_CLAUSE_CHARS):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    if len(merged) > max_clauses:  # keep the cost bounded on very long texts
        merged = merged[: max_clauses - 1] + [" ".join(merged[max_clauses - 1 :])]
    return merged


def clause_pieces(texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Distinct clauses of the texts that have more than one, and who owns which.

    Returns ``(clauses, owner, piece)``: ``clauses[piece[j]]`` is the ``j``-th clause
    occurrence and belongs to ``texts[owner[j]]``. A one-clause text has no entries.
    """
    index: dict[str, int] = {}
    owner: list[int] = []
    piece: list[int] = []
    for i, text in enumerate(texts):
        clauses = split_clauses(text)
        if len(clauses) > 1:
            for clause in clauses:
                owner.append(i)
                piece.append(index.setdefault(clause, len(index)))
    return list(index), np.asarray(owner, dtype=np.int64), np.asarray(piece, dtype=np.int64)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def blend_clauses(
    texts: Sequence[str],
    vectors: np.ndarray,
    embed: EmbedFn,
    *,
    weight: float = 0.5,
) -> np.ndarray:
    """Unit vectors ``(1 - weight) * answer + weight * mean of its clauses``, per text.

    ``vectors`` are the texts' own unit embeddings; ``embed`` embeds clauses with the
    same model, and is called once, on the distinct clauses of multi-clause texts.
    One-clause texts and ``weight == 0`` return the answer's own vector.
    """
    x = _unit(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1, not {weight}")
    if weight == 0.0 or not len(texts):
        return x
    clauses, owner, piece = clause_pieces(texts)
    if not clauses:
        return x
    clause_vectors = _unit(np.asarray(embed(clauses), dtype=np.float32))
    sums = np.zeros_like(x)
    np.add.at(sums, owner, clause_vectors[piece])
    multi = np.unique(owner)
    out = x.copy()
    out[multi] = _unit((1.0 - weight) * x[multi] + weight * _unit(sums[multi]))
    return out
