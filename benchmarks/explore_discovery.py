"""Scratch benchmark for theme discovery: quality, stability and speed.

Usage::

    python benchmarks/explore_discovery.py gambling_xs            # per question scores
    python benchmarks/explore_discovery.py gambling_1000 --seeds 0 1 2
    python benchmarks/explore_discovery.py --speed 50000          # synthetic timing

Vectors come from ``heard.analysis.embeddings`` (MiniLM) and are cached as ``.npy``
under ``HEARD_BENCH_CACHE`` (default: the system temporary folder).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from heard.analysis.clustering import ThemeDiscoverer

DATA = Path(
    os.environ.get("HEARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CACHE = Path(os.environ.get("HEARD_BENCH_CACHE", Path(tempfile.gettempdir()) / "heard-discovery"))


def load(name: str) -> dict[str, tuple[list[str], list[str], list[set[str]]]]:
    """Per question: response ids, texts and gold theme sets."""
    folder = DATA / name
    gold: dict[str, set[str]] = defaultdict(set)
    with open(folder / "gold_themes.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            gold[row["response_id"]].add(row["theme"])
    out: dict[str, tuple[list[str], list[str], list[set[str]]]] = {}
    with open(folder / "responses.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            ids, texts, golds = out.setdefault(row["question_id"], ([], [], []))
            ids.append(row["response_id"])
            texts.append(row["text"])
            golds.append(gold.get(row["response_id"], set()))
    return out


def vectors(name: str, qid: str, texts: list[str]) -> np.ndarray:
    """MiniLM vectors, cached per data set and question."""
    path = CACHE / f"{name}-{qid}-minilm.npy"
    if path.exists():
        v = np.load(path)
        if len(v) == len(texts):
            return v
    from heard.analysis.embeddings import get_embedder

    v = get_embedder("minilm").embed(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, v)
    return v


def purity(gold: Sequence[set[str]], clusters: Sequence[str]) -> tuple[float, float, float]:
    """Purity, inverse purity and their harmonic mean (multi-label gold, single-label clusters)."""
    rows = [i for i, g in enumerate(gold) if g]
    by_cluster: dict[str, Counter[str]] = defaultdict(Counter)
    for i in rows:
        by_cluster[clusters[i]].update(gold[i])
    major = {c: cnt.most_common(1)[0][0] for c, cnt in by_cluster.items()}
    pur = sum(major[clusters[i]] in gold[i] for i in rows) / len(rows)
    by_label: dict[str, Counter[str]] = defaultdict(Counter)
    for i in rows:
        for g in gold[i]:
            by_label[g][clusters[i]] += 1
    inv = sum(max(c.values()) for c in by_label.values()) / sum(
        sum(c.values()) for c in by_label.values()
    )
    return pur, inv, 2 * pur * inv / (pur + inv)


def flat(model: ThemeDiscoverer) -> list[str]:
    """Primary leaf per text ("other" / "empty" as their own groups)."""
    pairs = zip(model.labels_, model.outcomes_, strict=True)
    return [labs[0] if labs else out[0] for labs, out in pairs]


def evaluate(name: str, seeds: Sequence[int], show: bool) -> None:
    for qid, (_, texts, gold) in load(name).items():
        x = vectors(name, qid, texts)
        runs = []
        for seed in seeds:
            t = time.perf_counter()
            model = ThemeDiscoverer(seed=seed).fit(texts, x)
            secs = time.perf_counter() - t
            lab = flat(model)
            runs.append(lab)
            p, ip, hm = purity(gold, lab)
            single = [i for i, g in enumerate(gold) if len(g) == 1]
            g1 = [next(iter(gold[i])) for i in single]
            p1 = [lab[i] for i in single]
            leaves = [t for t in model.themes_ if t.parent]
            other = sum(o[0] == "other" for o in model.outcomes_) / len(texts)
            print(
                f"{name}/{qid} seed={seed} leaves={len(leaves)} "
                f"parents={len(model.themes_) - len(leaves)} purity={p:.3f} inverse={ip:.3f} "
                f"hm={hm:.3f} ARI={adjusted_rand_score(g1, p1):.3f} "
                f"NMI={normalized_mutual_info_score(g1, p1):.3f} (single-label n={len(single)}) "
                f"other={other:.3f} secs={secs:.2f}"
            )
            if show and seed == seeds[0]:
                print("  silhouettes:", {k: round(v, 3) for k, v in model.silhouettes_.items()})
                for th in model.themes_:
                    pad = "    " if th.parent else "  "
                    print(f"{pad}{th.key} [{th.size:.0f}] {th.label} | {th.key_phrases[:5]}")
                    if th.parent and th.quotes:
                        print(f"{pad}   \u201c{th.quotes[0][1]}\u201d")
        base = purity(gold, ["all"] * len(texts))
        print(f"  one cluster: purity={base[0]:.3f} inverse={base[1]:.3f} hm={base[2]:.3f}")
        for (a, la), (b, lb) in combinations(zip(seeds, runs, strict=True), 2):
            print(f"  stability ARI seed {a} vs {b}: {adjusted_rand_score(la, lb):.3f}")


def speed(n: int, dim: int = 384, seed: int = 0) -> None:
    """Time a fit on ``n`` synthetic unit vectors drawn around 15 topic centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(15, dim))
    x = centres[rng.integers(0, 15, n)] + 2.5 * rng.normal(size=(n, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    texts = [f"Response {i} about {words[i % 5]} and more." for i in range(n)]
    t = time.perf_counter()
    model = ThemeDiscoverer(seed=seed).fit(texts, x)
    leaves = sum(1 for th in model.themes_ if th.parent)
    print(f"n={n} fit secs={time.perf_counter() - t:.1f} leaves={leaves}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", nargs="?")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--speed", type=int)
    args = ap.parse_args()
    if args.speed:
        speed(args.speed)
    if args.dataset:
        evaluate(args.dataset, args.seeds, args.show)


if __name__ == "__main__":
    main()
