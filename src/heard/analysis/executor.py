"""Where the run's chunked work happens: in this process (the default) or on workers.

The run cuts three kinds of work into chunks of texts and hands them to an
:class:`Executor`: embedding (including the mapper's clauses and the quotes), MinHash
signatures (duplicates) and prediction (stance with the fitted classifier, evidence).
An executor maps a function over the chunks and returns the results in order;
:class:`InProcess` simply loops, the Ray executor (``heard.scale.ray_executor``) sends
the chunks to worker processes. Each chunk's result depends on that chunk alone, so the
output does not depend on the executor.

Nothing here imports Django: worker processes unpickle these tasks without a store.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from heard.analysis.embeddings import (
    Embedder,
    ProgressFn,
    get_embedder,
    threads_keyword,
)

T = TypeVar("T")
R = TypeVar("R")

#: Texts per chunk. A multiple of 1,024 so that chunk edges fall on the MiniLM
#: embedder's own length-sorting groups, whatever the split.
DEFAULT_CHUNK_SIZE = 4096
_ALIGN = 1024


class Executor(Protocol):
    """Runs ``fn`` over chunks, possibly elsewhere; results come back in chunk order."""

    workers: int
    remote: bool  # True when ``fn`` and the chunks are pickled to other processes

    def map(self, fn: Callable[[T], R], chunks: Sequence[T]) -> list[R]: ...

    def describe(self) -> dict: ...


class InProcess:
    """The default executor: a plain loop in this process."""

    workers = 1
    remote = False

    def map(self, fn: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
        return [fn(chunk) for chunk in chunks]

    def describe(self) -> dict:
        return {"runner": "in-process", "workers": 1}


def chunk_bounds(n: int, chunk_size: int, workers: int = 1) -> list[tuple[int, int]]:
    """(start, stop) of each chunk of ``n`` items: at most ``chunk_size`` each, and enough
    chunks for every worker when ``n`` allows (sizes stay multiples of 1,024)."""
    if n <= 0:
        return []
    per_worker = math.ceil(math.ceil(n / max(1, workers)) / _ALIGN) * _ALIGN
    size = max(1, min(chunk_size, per_worker))
    return [(start, min(n, start + size)) for start in range(0, n, size)]


# ---------------------------------------------------------------- embedders on workers

_worker_embedders: dict[str, Embedder] = {}


def worker_embedder(name: str, threads: int | None = None) -> Embedder:
    """The embedder ``name`` of this process, built (and loaded) once."""
    embedder = _worker_embedders.get(name)
    if embedder is None:
        embedder = get_embedder(name, **threads_keyword(name, threads))
        load = getattr(embedder, "load", None)
        if load is not None:
            load()
        _worker_embedders[name] = embedder
    return embedder


class EmbedTask:
    """``embed(texts)`` with the embedder ``name``: the given instance in this process,
    and after pickling, the worker's own (built once per worker process)."""

    def __init__(self, name: str, local: Embedder | None = None) -> None:
        self.name = name
        self.local = local

    def __getstate__(self) -> dict:
        return {"name": self.name, "local": None}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        embedder = self.local if self.local is not None else worker_embedder(self.name)
        return embedder.embed(list(texts))


class SpreadEmbedder:
    """An :class:`Embedder` whose ``embed`` cuts the texts into chunks for an executor.

    ``key`` is the name ``get_embedder`` knows (``"minilm"``), used to rebuild the
    embedder on a worker; ``name`` and ``dim`` are the wrapped embedder's.
    """

    def __init__(
        self,
        embedder: Embedder,
        key: str,
        executor: Executor,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.embedder = embedder
        self.key = key
        self.executor = executor
        self.chunk_size = chunk_size
        self.name = embedder.name
        self.dim = embedder.dim
        self.task = EmbedTask(key, embedder)

    def embed(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> np.ndarray:
        texts = list(texts)
        bounds = chunk_bounds(len(texts), self.chunk_size, self.executor.workers)
        if not bounds:
            return np.zeros((0, self.dim), dtype=np.float32)
        if progress is not None and not self.executor.remote:
            # in this process: the same calls as ``EmbedTask``, reporting as they go
            parts = [
                self.embedder.embed(
                    texts[a:b], progress=lambda done, _, a=a: progress(a + done, len(texts))
                )
                for a, b in bounds
            ]
            return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])
        parts = self.executor.map(self.task, [texts[a:b] for a, b in bounds])
        if progress is not None:
            progress(len(texts), len(texts))
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])


# ---------------------------------------------------------------- duplicates


class SignTask:
    """MinHash signatures of a chunk of normalised texts (``duplicates.minhash_signatures``)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        from heard.analysis.duplicates import minhash_signatures

        return minhash_signatures(texts, seed=self.seed)


def spread_signer(
    executor: Executor, seed: int, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Callable[[list[str]], tuple[np.ndarray, np.ndarray]]:
    """A ``sign`` for ``duplicates.find_groups`` that signs chunks on the executor."""
    task = SignTask(seed)

    def sign(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        bounds = chunk_bounds(len(texts), chunk_size, executor.workers)
        parts = executor.map(task, [texts[a:b] for a, b in bounds])
        return (
            np.concatenate([sigs for sigs, _ in parts]),
            np.concatenate([counts for _, counts in parts]),
        )

    return sign


# ---------------------------------------------------------------- prediction


def _shippable(model: Any, embedder_key: str) -> Any:
    """A shallow copy of a fitted model whose ``embed`` callable (often a loaded model
    that cannot be pickled) becomes an :class:`EmbedTask`, rebuilt on the worker."""
    shipped = copy.copy(model)
    if hasattr(shipped, "embed"):
        shipped.embed = EmbedTask(embedder_key)
    return shipped


class PredictTask:
    """Calls ``model.<method>(texts, vectors)`` for each of ``methods`` on one chunk.

    In this process the model is used as fitted; pickled, it travels as
    :func:`_shippable` makes it.
    """

    def __init__(self, model: Any, methods: tuple[str, ...], embedder_key: str) -> None:
        self.model = model
        self.methods = methods
        self.embedder_key = embedder_key

    def __getstate__(self) -> dict:
        return {
            "model": _shippable(self.model, self.embedder_key),
            "methods": self.methods,
            "embedder_key": self.embedder_key,
        }

    def __call__(self, chunk: tuple[list[str], np.ndarray]) -> tuple:
        texts, vectors = chunk
        return tuple(getattr(self.model, method)(texts, vectors) for method in self.methods)


def predict_chunks(
    executor: Executor,
    model: Any,
    methods: tuple[str, ...],
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    embedder_key: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[list]:
    """``model.<method>(chunk texts, chunk vectors)`` over chunks, per method the chunk
    results joined in order (lists extended, arrays concatenated)."""
    texts = list(texts)
    bounds = chunk_bounds(len(texts), chunk_size, executor.workers)
    task = PredictTask(model, methods, embedder_key)
    parts = executor.map(task, [(texts[a:b], vectors[a:b]) for a, b in bounds])
    return [_join([part[m] for part in parts]) for m in range(len(methods))]


def map_chunks(
    executor: Executor,
    fn: Callable[[list[str]], list[R]],
    texts: Sequence[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> list[R]:
    """``fn`` (a picklable function of a list of texts, returning a list) over chunks."""
    texts = list(texts)
    bounds = chunk_bounds(len(texts), chunk_size, executor.workers)
    return _join(executor.map(fn, [texts[a:b] for a, b in bounds]))


def _join(parts: list) -> Any:
    if parts and isinstance(parts[0], tuple):  # e.g. (labels, confidence) per chunk
        return tuple(_join(list(items)) for items in zip(*parts, strict=True))
    if parts and isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [item for part in parts for item in part]
