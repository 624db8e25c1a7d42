"""Scratch benchmark for theme discovery: quality, stability and speed.

Usage::

    python benchmarks/explore_discovery.py DIR [DIR ...]             # scores per data set
    python benchmarks/explore_discovery.py DIR --seeds 0 1 2          # plus seed stability
    python benchmarks/explore_discovery.py DIR --set k_rule=silhouette --set text_dims=0
    python benchmarks/explore_discovery.py --speed 50000              # synthetic timing

``DIR`` is a folder in the evaluation layout (a bare name is looked up under
``HEARD_SHARED_DATA``), optionally with ``:choose`` or ``:report`` to keep only the argkp
motions used to choose defaults (train04 to train15) or those kept for reporting (the
rest). Scores are the ones ``heard evaluate --mode discover`` reports (the same scoring
function, on the questions kept). ``--set NAME=VALUE`` overrides a ``ThemeDiscoverer``
parameter. The answers' vectors come from the evaluation cache (set HEARD_HOME); other
texts (clauses, quote sentences) and the stance axis are cached as ``.npy`` under
``HEARD_BENCH_CACHE`` (default: the system temporary folder).

``--kmeans`` also scores a baseline: k-means (scikit-learn, 10 starts, the same seed) on
the answers' own unit vectors with k = the question's number of gold themes, one theme
per answer; it is told the gold count, which discovery has to find.

``--stance C`` gives discovery the gated stance ``analyse_texts`` gives it (positions of
confidence below C count as 0); ``split_leaves`` counts the leaves split by side. The
generated development sets are made with ``heard sample-data DIR --responses 1500 --seed
11`` and ``--responses 800 --seed 13`` (seed 12 is held out); pass their folders.
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
from heard.evaluation.modes import _cached_embeddings, discovery_scores

DATA = Path(
    os.environ.get("HEARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CHOOSE = {f"train{i:02d}" for i in range(4, 16)}  # argkp motions used to choose defaults
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


def stance_of(
    texts: list[str], x: np.ndarray, question: str, embedder: str, min_confidence: float
) -> np.ndarray | None:
    """The signed stance ``analyse_texts`` gives discovery (None when it gives none)."""
    from heard.analysis.stance import StanceClassifier, asks_for_position, stance_axis

    key = "\x00".join([question, *texts]).encode("utf-8")
    path = CACHE / f"stance-{embedder}-{hashlib.sha1(key).hexdigest()[:16]}.npy"
    if path.exists():  # an empty array stands for "no stance"
        axis = np.load(path)
    else:
        axis = np.zeros(0)
        if asks_for_position(question or None, texts):
            embed = lambda more: vectors(list(more), embedder)  # noqa: E731
            classifier = StanceClassifier(embed, question=question or None).fit(texts, x)
            found = stance_axis(classifier, texts, x)
            axis = axis if found is None else found
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, axis)
    if not len(axis):
        return None
    # as ``stance_axis(..., min_confidence)``: max(p, 1 - p) >= c is |2p - 1| >= 2c - 1
    return np.where(np.abs(axis) >= 2.0 * min_confidence - 1.0, axis, 0.0)


def evaluate(
    folder: str,
    seeds: Sequence[int],
    params: dict[str, Any],
    embedder: str,
    show: bool,
    stance_confidence: float | None = None,
    kmeans: bool = False,
) -> dict[str, float]:
    """Discovery scores for the first seed (and stability over all seeds), printed."""
    folder, _, part = folder.partition(":")
    path = Path(folder) if Path(folder).is_dir() else DATA / folder
    data = load_dataset(path, needs=["gold_themes"])
    if part:
        wanted = part == "choose"
        data.questions = {q: t for q, t in data.questions.items() if (q in CHOOSE) == wanted}
    questions = [q for q in data.question_ids if any(data.themes_of(i) for i in data.rows(q))]
    from heard.analysis.embeddings import get_embedder

    answers = _cached_embeddings(get_embedder(embedder), data.texts, cache=True, log=print)
    runs: dict[int, dict[str, list[list[str]]]] = {s: {} for s in seeds}
    baseline: dict[str, list[list[str]]] = {}
    secs = 0.0
    splits = 0  # leaves split by side (seed of the scores)
    for q in questions:
        rows = data.rows(q)
        texts = [data.texts[i] for i in rows]
        x = answers[rows]
        stance = None
        question = data.questions.get(q, "")
        if stance_confidence is not None:
            stance = stance_of(texts, x, question, embedder, stance_confidence)
        if kmeans:
            baseline[q] = kmeans_labels(x, data, rows, seeds[0])
        for seed in seeds:
            t = time.perf_counter()
            model = ThemeDiscoverer(
                seed=seed, embed=lambda more: vectors(list(more), embedder), **params
            ).fit(texts, x, stance=stance, question=question)
            secs += time.perf_counter() - t
            runs[seed][q] = [list(labs) for labs in model.labels_]
            if seed == seeds[0]:
                split = int(np.count_nonzero(getattr(model, "leaf_side_", [])) // 2)
                splits += split
            if show and seed == seeds[0]:
                print(f"  {q}: k scores {getattr(model, 'k_scores_', {})}")
                for th in model.themes_:
                    pad = "    " if th.parent else "  "
                    print(f"{pad}{th.key} [{th.size:.0f}] {th.label} | {th.key_phrases[:4]}")
    found = {q: runs[seeds[0]].get(q, [[] for _ in data.rows(q)]) for q in data.question_ids}
    metrics, _, _ = discovery_scores(data, found)
    name = path.name + (f":{part}" if part else "")
    print(f"{name} seed={seeds[0]} " + " ".join(f"{k}={metrics[k]:.3f}" for k in SHOWN)
          + f" split_leaves={splits} fit_secs={secs / len(seeds):.1f}")
    if kmeans:
        found = {q: baseline.get(q, [[] for _ in data.rows(q)]) for q in data.question_ids}
        km, _, _ = discovery_scores(data, found)
        print(f"{name} k-means (k = gold) " + " ".join(f"{k}={km[k]:.3f}" for k in SHOWN))
    for a, b in combinations(seeds, 2):
        aris = []
        for q in questions:
            pa = [x[0] if x else "other" for x in runs[a][q]]
            pb = [x[0] if x else "other" for x in runs[b][q]]
            aris.append(adjusted_rand_score(pa, pb))
        print(f"  stability ARI seed {a} vs {b}: " + " ".join(f"{v:.3f}" for v in aris))
    return metrics


def kmeans_labels(x: np.ndarray, data: Any, rows: Sequence[int], seed: int) -> list[list[str]]:
    """The k-means baseline's theme per answer, k = the question's gold theme count."""
    from sklearn.cluster import KMeans

    k = len({t for i in rows for t in data.themes_of(i)})
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    labels = KMeans(min(k, len(rows)), n_init=10, random_state=seed).fit_predict(unit)
    return [[f"k{c}"] for c in labels]


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
    ap.add_argument("--stance", type=float, default=None, metavar="MIN_CONFIDENCE",
                    help="give discovery the signed stance (positions below MIN_CONFIDENCE: 0)")
    ap.add_argument("--kmeans", action="store_true",
                    help="also score k-means with k = the gold theme count")
    args = ap.parse_args()
    if args.speed:
        speed(args.speed)
    params = parse_sets(args.sets)
    means: dict[str, list[float]] = {}
    for name in args.datasets:
        for k, v in evaluate(
            name, args.seeds, params, args.embedder, args.show, args.stance, args.kmeans
        ).items():
            means.setdefault(k, []).append(v)
    if len(args.datasets) > 1:
        print("MEAN " + " ".join(f"{k}={np.mean(means[k]):.3f}" for k in SHOWN))


if __name__ == "__main__":
    main()
