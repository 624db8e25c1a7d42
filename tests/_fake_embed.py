"""A tiny deterministic stand-in for a sentence embedder: hashed bag of words, unit rows."""

from __future__ import annotations

import hashlib
import re

import numpy as np

DIM = 64


def fake_embed(texts: list[str]) -> np.ndarray:
    """Each word adds a fixed pseudo-random vector; rows are L2-normalised."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", (text or "").lower()):
            if len(word) < 4:
                continue
            seed = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
            out[i] += np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)
