"""Stance benchmark: zero-shot and simulated weak labels on an evaluation-layout set.

Usage: python benchmarks/explore_stance.py gambling_xs gambling_1000
Weak-label simulation: 70% of responses get their gold stance as a weak label, 10% of
those flipped; scores are on the other 30% only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, str(Path(__file__).parent))
from _vectors import get_embed, load  # noqa: E402

from heard.analysis.stance import StanceClassifier  # noqa: E402


def score(gold: list[str], pred: list[str]) -> str:
    labels = sorted(set(gold))
    acc = accuracy_score(gold, pred)
    mf1 = f1_score(gold, pred, labels=labels, average="macro", zero_division=0)
    unclear = sum(p == "unclear" for p in pred) / len(pred)
    return f"acc={acc:.3f} macroF1={mf1:.3f} (labels {labels}, unclear predicted {unclear:.0%})"


def main() -> None:
    embed = get_embed()
    for name in sys.argv[1:]:
        for q in load(name):
            gold = [s.lower() for s in q.stance]
            vec = embed(q.texts)
            zs = StanceClassifier(embed, question=q.text).fit(q.texts, vec)
            pred, _ = zs.predict(q.texts, vec)
            print(f"{name} {q.qid} zero-shot n={len(gold)}: {score(gold, pred)}")
            for seed in (0, 1, 2):
                rng = np.random.default_rng(seed)
                train = rng.random(len(gold)) < 0.7
                weak: list[str | None] = []
                for g, t in zip(gold, train, strict=True):
                    if not t or g not in ("agree", "disagree"):
                        weak.append(None)
                    elif rng.random() < 0.1:
                        weak.append("disagree" if g == "agree" else "agree")
                    else:
                        weak.append(g)
                m = StanceClassifier(embed, question=q.text, seed=seed).fit(q.texts, vec, weak)
                pred, _ = m.predict(q.texts, vec)
                test = np.flatnonzero(~train)
                print(f"{name} {q.qid} weak seed={seed} mode={m.mode_} test n={len(test)}: "
                      f"{score([gold[i] for i in test], [pred[i] for i in test])}")


if __name__ == "__main__":
    main()
