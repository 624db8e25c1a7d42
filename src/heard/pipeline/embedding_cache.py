"""Embeddings cached in the store, keyed by (embedder name, content hash).

A re-run embeds only texts it has not seen before with the same embedder. The
cache logic itself is :func:`heard.analysis.embeddings.embed_with_cache`; this
module only reads and writes :class:`heard.store.models.EmbeddingCache` rows in bulk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from heard.analysis.embeddings import Embedder, ProgressFn, embed_with_cache

#: Rows per ``IN (...)`` query and per bulk insert: well under SQLite's variable limit.
CHUNK = 500


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_vectors(model: str, hashes: Sequence[str], dim: int) -> dict[str, np.ndarray]:
    """Cached vectors of ``model`` for those of ``hashes`` that are stored."""
    from heard.store.models import EmbeddingCache

    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for chunk in _chunks(unique, CHUNK):
        rows = EmbeddingCache.objects.filter(model=model, content_hash__in=chunk).values_list(
            "content_hash", "vector"
        )
        for content_hash, blob in rows:
            vector = np.frombuffer(bytes(blob), dtype=np.float32)
            if vector.shape == (dim,):  # a row of another shape is stale: embed again
                found[content_hash] = vector
    return found


def save_vectors(model: str, vectors: dict[str, np.ndarray]) -> int:
    """Store ``vectors`` (content hash -> vector) for ``model``; returns how many were given.

    Rows that already exist are left as they are (a concurrent run may have written them).
    """
    from heard.store.models import EmbeddingCache

    items = list(vectors.items())
    for start in range(0, len(items), CHUNK):
        EmbeddingCache.objects.bulk_create(
            [
                EmbeddingCache(
                    model=model,
                    content_hash=key,
                    vector=np.ascontiguousarray(vector, dtype=np.float32).tobytes(),
                )
                for key, vector in items[start : start + CHUNK]
            ],
            ignore_conflicts=True,
        )
    return len(items)


def embed_cached(
    embedder: Embedder,
    texts: Sequence[str],
    hashes: Sequence[str],
    *,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Vectors for ``texts`` (float32, unit rows), using and filling the store's cache.

    ``hashes[i]`` is the content hash of ``texts[i]`` (``Response.content_hash``).
    Only texts whose hash is not cached for ``embedder.name`` are embedded, and each
    distinct hash once; ``progress(done, total)`` counts those.
    """
    if len(texts) != len(hashes):
        raise ValueError(f"{len(texts)} texts but {len(hashes)} hashes")
    cache = load_vectors(embedder.name, hashes, embedder.dim)
    known = set(cache)
    vectors = embed_with_cache(embedder, texts, hashes, cache, progress=progress)
    save_vectors(embedder.name, {k: v for k, v in cache.items() if k not in known})
    return vectors


class StoreCachedEmbedder:
    """An :class:`Embedder` that reads and fills the store's cache on every call.

    Keys are content hashes of the texts (what ``Response.content_hash`` holds), so the
    responses, their clauses and quote sentences are each embedded once per model.
    ``key`` (the name ``get_embedder`` knows) is passed through for remote workers.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.dim = embedder.dim
        self.key = getattr(embedder, "key", None)

    def embed(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> np.ndarray:
        from heard.analysis.text import content_hash

        texts = list(texts)
        return embed_cached(
            self.embedder, texts, [content_hash(t) for t in texts], progress=progress
        )
