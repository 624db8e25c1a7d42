"""Mapping benchmark: zero-shot and few-shot micro-F1 and ECE on an evaluation-layout set.

Usage: python benchmarks/explore_mapping.py gambling_xs [--shots 3] [--seeds 0 1 2] [-p key=value]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _vectors import get_embed, load  # noqa: E402

from heard.analysis.mapping import ThemeMapper  # noqa: E402


def sample_examples(gold: list[list[str]], keys: list[str], shots: int, seed: int) -> list[int]:
    """Up to ``shots`` responses per theme (a response counts for all its themes)."""
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for key in keys:
        have = sum(1 for i in chosen if key in gold[i])
        cands = [i for i, g in enumerate(gold) if key in g and i not in chosen]
        rng.shuffle(cands)
        chosen.update(cands[: max(0, shots - have)])
    return sorted(chosen)


def micro_f1(pred: list[list[str]], gold: list[list[str]], rows) -> tuple[float, float, float]:
    tp = sum(len(set(pred[i]) & set(gold[i])) for i in rows)
    npred = sum(len(pred[i]) for i in rows)
    ngold = sum(len(gold[i]) for i in rows)
    p, r = tp / max(1, npred), tp / max(1, ngold)
    return 2 * p * r / max(1e-9, p + r), p, r


def oracle_f1(prob: np.ndarray, y: np.ndarray) -> float:
    """Best micro-F1 over one global threshold (top theme always kept): ranking quality."""
    best = 0.0
    for t in np.linspace(0.02, 0.98, 49):
        pred = prob >= t
        pred[np.arange(len(prob)), prob.argmax(1)] = True
        best = max(best, 2 * (pred & (y > 0)).sum() / (pred.sum() + y.sum()))
    return float(best)


def ece(prob: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    p, t = prob.ravel(), y.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    return float(sum(abs(p[which == b].mean() - t[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("-p", action="append", default=[], help="ThemeMapper parameter key=value")
    ap.add_argument("--zero-only", action="store_true")
    args = ap.parse_args()
    params = {k: eval(v) for k, v in (s.split("=", 1) for s in args.p)}  # scratch script
    embed = get_embed()
    for q in load(args.dataset):
        keys = [t.key for t in q.themes]
        vec = embed(q.texts)
        Y = np.array([[k in g for k in keys] for g in q.gold], dtype=float)
        modes = [0] if args.zero_only else [0, args.shots]
        for shots in modes:
            f1s, eces = [], []
            for seed in args.seeds if shots else [0]:
                ex = sample_examples(q.gold, keys, shots, seed) if shots else []
                t0 = time.time()
                m = ThemeMapper(embed, seed=seed, **params).fit(
                    q.themes, q.texts, vec, [(i, q.gold[i]) for i in ex] or None)
                rows = [i for i in range(len(q.texts)) if i not in set(ex)]
                prob = m.predict_proba(q.texts, vec)
                pred = m.predict(q.texts, vec)
                f1, p, r = micro_f1(pred, q.gold, rows)
                e = ece(prob[rows], Y[rows])
                f1s.append(f1)
                eces.append(e)
                print(f"{args.dataset} {q.qid} shots={shots} seed={seed} n_ex={len(ex)} "
                      f"microF1={f1:.3f} P={p:.3f} R={r:.3f} "
                      f"oracle={oracle_f1(prob[rows], Y[rows]):.3f} ECE={e:.3f} "
                      f"thr={m.threshold_:.2f} "
                      f"{time.time() - t0:.1f}s", flush=True)
            print(f"== {args.dataset} {q.qid} shots={shots}: micro-F1 mean {np.mean(f1s):.3f} "
                  f"ECE {np.mean(eces):.3f}")


if __name__ == "__main__":
    main()
