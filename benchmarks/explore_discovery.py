"""Scratch benchmark for theme discovery: quality, stability and speed.

Usage::

    python benchmarks/explore_discovery.py DIR [DIR ...]             # scores per data set
    python benchmarks/explore_discovery.py DIR --seeds 0 1 2          # plus seed stability
    python benchmarks/explore_discovery.py DIR --set k_rule=silhouette --set text_dims=0
    python benchmarks/explore_discovery.py --speed 50000              # synthetic timing

``DIR`` is a folder in the evaluation layout (a bare name is looked up under
``HEARD_SHARED_DATA``). Scores are the ones ``heard evaluate --mode discover`` reports
(the same scoring function). ``--set NAME=VALUE`` overrides a ``ThemeDiscoverer``
parameter. Vectors come from ``heard.analysis.embeddings`` and are cached as ``.npy``
under ``HEARD_BENCH_CACHE`` (default: the system temporary folder).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from heard.analysis.clustering import ThemeDiscoverer
from heard.evaluation.dataset import load_dataset
from heard.evaluation.modes import discovery_scores

DATA = Path(
    os.environ.get("HEARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CACHE = Path(os.environ.get("HEARD_BENCH_CACHE", Path(tempfile.gettempdir()) / "heard-discovery"))
SHOWN = ("harmonic_purity", "purity", "inverse_purity", "matched_f1", "code_recall", "nmi",
         "ari", "other_share", "n_themes", "n_gold_themes")


def vectors(texts: list[str], embedder: str) -> np.ndarray:
    """Embeddings of ``texts``, cached by the embedder name and a hash of the texts."""
    digest = hashlib.sha1("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    path = CACHE / f"{embedder}-{digest}.npy"
    if path.exists():
        return np.load(path)
    from heard.analysis.embeddings import get_embedder

    v = np.asarray(get_embedder(embedder).embed(texts), dtype=np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, v)
    return v


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``name=value`` pairs; values are read as int, float, None or text."""
    out: dict[str, Any] = {}
    for item in items:
        name, value = item.split("=", 1)
        parsed: Any = value
        if value == "None":
            parsed = None
        else:
            for cast in (int, float):
                try:
                    parsed = cast(value)
                    break
                except ValueError:
                    continue
        out[name] = parsed
    return out


def evaluate(
    folder: str, seeds: Sequence[int], params: dict[str, Any], embedder: str, show: bool
) -> dict[str, float]:
    """Discovery scores for the first seed (and stability over all seeds), printed."""
    path = Path(folder) if Path(folder).is_dir() else DATA / folder
    data = load_dataset(path, needs=["gold_themes"])
    questions = [q for q in data.question_ids if any(data.themes_of(i) for i in data.rows(q))]
    runs: dict[int, dict[str, list[list[str]]]] = {s: {} for s in seeds}
    secs = 0.0
    for q in questions:
        rows = data.rows(q)
        texts = [data.texts[i] for i in rows]
        x = vectors(texts, embedder)
        for seed in seeds:
            t = time.perf_counter()
            model = ThemeDiscoverer(
                seed=seed, embed=lambda more: vectors(list(more), embedder), **params
            ).fit(texts, x)
            secs += time.perf_counter() - t
            runs[seed][q] = [list(labs) for labs in model.labels_]
            if show and seed == seeds[0]:
                print(f"  {q}: k scores {getattr(model, 'k_scores_', {})}")
                for th in model.themes_:
                    pad = "    " if th.parent else "  "
                    print(f"{pad}{th.key} [{th.size:.0f}] {th.label} | {th.key_phrases[:4]}")
    found = {q: runs[seeds[0]].get(q, [[] for _ in data.rows(q)]) for q in data.question_ids}
    metrics, _, _ = discovery_scores(data, found)
    print(f"{path.name} seed={seeds[0]} " + " ".join(f"{k}={metrics[k]:.3f}" for k in SHOWN)
          + f" fit_secs={secs / len(seeds):.1f}")
    for a, b in combinations(seeds, 2):
        aris = []
        for q in questions:
            pa = [x[0] if x else "other" for x in runs[a][q]]
            pb = [x[0] if x else "other" for x in runs[b][q]]
            aris.append(adjusted_rand_score(pa, pb))
        print(f"  stability ARI seed {a} vs {b}: " + " ".join(f"{v:.3f}" for v in aris))
    return metrics


def speed(n: int, dim: int = 384, seed: int = 0) -> None:
    """Time a fit on ``n`` synthetic unit vectors drawn around 15 topic centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(15, dim))
    topic = rng.integers(0, 15, n)
    x = centres[topic] + 2.5 * rng.normal(size=(n, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    texts = [
        f"Response {i} about {words[topic[i] % 8]} {words[(topic[i] * 3) % 8]} and more."
        for i in range(n)
    ]
    t = time.perf_counter()
    model = ThemeDiscoverer(seed=seed).fit(texts, x)
    leaves = sum(1 for th in model.themes_ if th.parent)
    print(f"n={n} fit secs={time.perf_counter() - t:.1f} leaves={leaves}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("datasets", nargs="*")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--set", dest="sets", action="append", default=[])
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--speed", type=int)
    args = ap.parse_args()
    if args.speed:
        speed(args.speed)
    params = parse_sets(args.sets)
    means: dict[str, list[float]] = {}
    for name in args.datasets:
        for k, v in evaluate(name, args.seeds, params, args.embedder, args.show).items():
            means.setdefault(k, []).append(v)
    if len(args.datasets) > 1:
        print("MEAN " + " ".join(f"{k}={np.mean(means[k]):.3f}" for k in SHOWN))


if __name__ == "__main__":
    main()
