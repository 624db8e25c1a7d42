"""Stance research: zero-shot settings scored on every labelled set, beside the baselines.

Usage: python benchmarks/explore_stance.py [--grid "[(tone, prior), ...]"] [-p key=value ...]
       [--embedder minilm|multilingual|...]

``-p`` sets any other ``StanceClassifier`` parameter (e.g. ``-p match_share=False``;
``-p clause_weight=0 -p anchor_self_trained=True`` reads as round 7 did). ``--variant
"C=3 clause_weight=0"`` (repeatable) adds a row per setting on the same vectors, on top
of ``-p``. ``--embedder`` names the model (default MiniLM).

Protocol (docs/evaluation.md, "How stance was chosen"): argkp's motions train04–train17
choose the settings (with gambling_xs and gambling_1000), the other 14 motions
(train18–train27, dev00–dev03) are reported and never used to choose. Macro-F1 is over the
gold labels of each question (a predicted "unclear" where gold has none is a miss),
averaged over questions. Weak-label simulation (``--weak``): 70% of the responses get
their gold stance as a weak label, 10% of those flipped; scored on the other 30%.
``--weak-draws N`` averages the simulation over N draws of that split (seeds 0…N-1;
one draw, seed 0, by default); ``--per-question`` adds a row per question of the
gambling sets.
"""

from __future__ import annotations

import argparse
import ast
import sys
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _vectors import get_embed, load  # noqa: E402

from heard.analysis.metrics import classification_scores  # noqa: E402
from heard.analysis.stance import StanceClassifier, asks_for_position  # noqa: E402
from heard.evaluation.stance_baselines import oracle_majority, prototype_difference  # noqa: E402

SETS = ("argkp", "gambling_xs", "gambling_1000")


def group(name: str, qid: str) -> str:
    """argkp-choose, argkp-report or the set's name."""
    if name != "argkp":
        return Path(name).name
    return "argkp-choose" if qid.startswith("train") and qid < "train18" else "argkp-report"


def macro(gold: list[str], pred: list[str]) -> float:
    return classification_scores(gold, pred, labels=sorted(set(gold)))["macro_f1"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", default="[(0.0, 0.5)]", help="(tone_weight, prior_weight) list")
    parser.add_argument("--weak", action="store_true", help="also simulate weak labels")
    parser.add_argument("-p", action="append", default=[], help="StanceClassifier key=value")
    parser.add_argument("--embedder", default="minilm", help="embedder name (get_embedder)")
    parser.add_argument("--sets", nargs="+", default=list(SETS), help="names or folders")
    parser.add_argument(
        "--asked-only", action="store_true",
        help="skip questions that ask for no position (as the product does)",
    )
    parser.add_argument("--variant", action="append", default=[], help='"key=value ..." row')
    parser.add_argument("--weak-draws", type=int, default=1, help="draws of the weak split")
    parser.add_argument(
        "--per-question", action="store_true", help="a column per gambling question too"
    )
    args = parser.parse_args()
    base = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.p)}
    variants = [
        {**base, **{k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in spec.split())}}
        for spec in args.variant or [""]
    ]
    embed = get_embed(args.embedder)
    data = {name: load(name) for name in args.sets}
    rows: dict[str, dict[str, list[float]]] = {}
    for name, questions in data.items():
        for q in questions:
            if args.asked_only and not asks_for_position(q.text, q.texts):
                continue
            keep = [i for i, s in enumerate(q.stance) if s]
            gold = [q.stance[i].lower() for i in keep]
            vec = embed(q.texts)
            proto = prototype_difference(vec, q.text, embed)
            g = group(name, q.qid)
            cols = [g, f"{g}:{q.qid}"] if args.per_question and name != "argkp" else [g]

            def add(key: str, value: float, cols: list[str] = cols) -> None:
                for col in cols:
                    rows.setdefault(key, {}).setdefault(col, []).append(value)

            add("prototype-difference", macro(gold, [proto[i] for i in keep]))
            add("oracle-majority", macro(gold, oracle_majority(gold)))
            for (tone, prior), params in product(ast.literal_eval(args.grid), variants):
                suffix = "".join(f" {k}={v}" for k, v in params.items())
                m = StanceClassifier(embed, tone_weight=tone, prior_weight=prior, **params)
                pred, _ = m.fit(q.texts, vec, question=q.text).predict(q.texts, vec)
                key = f"heard tone={tone} prior={prior}{suffix}"
                add(key, macro(gold, [pred[i] for i in keep]))
                for draw in range(args.weak_draws if args.weak else 0):
                    rng = np.random.default_rng(draw)
                    train = rng.random(len(q.texts)) < 0.7
                    weak = [
                        None if not t or s.lower() not in ("agree", "disagree")
                        else ({"agree": "disagree", "disagree": "agree"}[s.lower()]
                              if rng.random() < 0.1 else s.lower())
                        for s, t in zip(q.stance, train, strict=True)
                    ]
                    m = StanceClassifier(embed, tone_weight=tone, prior_weight=prior, **params)
                    pred, _ = m.fit(q.texts, vec, weak, question=q.text).predict(q.texts, vec)
                    test = [i for i in keep if not train[i]]
                    add(key + " weak", macro([q.stance[i].lower() for i in test],
                                             [pred[i] for i in test]))
    seen = list(dict.fromkeys(g for per in rows.values() for g in per))
    groups = [g for name in args.sets for g in (
        ["argkp-choose", "argkp-report"] if name == "argkp"
        else [Path(name).name] + [h for h in seen if h.startswith(Path(name).name + ":")]
    )]
    print("| system | " + " | ".join(groups) + " | mean (all but argkp-report) |")
    print("|---" * (len(groups) + 2) + "|")
    for key, per in rows.items():
        means = [float(np.mean(per[g])) if g in per else float("nan") for g in groups]
        pairs = zip(groups, means, strict=True)
        chosen = float(np.mean([m for g, m in pairs if g != "argkp-report" and ":" not in g]))
        print(f"| {key} | " + " | ".join(f"{m:.3f}" for m in means) + f" | {chosen:.3f} |")


if __name__ == "__main__":
    main()
