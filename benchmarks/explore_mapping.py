"""Mapping research: Heard's mapper beside the two baselines on several sets at once.

Usage::

    python benchmarks/explore_mapping.py --mode fewshot --repeats 3 -p C=2.0
    python benchmarks/explore_mapping.py --mode codebook --sets argkp:choose argkp:report

A set is a folder under the shared data (``argkp``, ``cycling_de_dev/l1``, …), optionally
with ``:choose`` or ``:report`` to keep only the argkp motions used to choose defaults
(train04 to train15) or those kept for reporting (the rest). Few-shot draws use the same
``draw_examples`` as ``heard evaluate`` (``--k`` per theme; argkp uses 5), and every
response's embedding comes from the evaluation cache (set HEARD_HOME). ``-p key=value``
sets a ``ThemeMapper`` parameter. ``--stance`` reads each answer's stance as
``analyse_texts`` does (``read_stance``, where the question asks for a position) and
passes its P(agree) to the mapper's fit and predict. ``--none-examples N`` (or ``1k``,
``2k``: a multiple of each set's k) also draws up to N gold answers with no theme per
question as "no theme" examples (``draw_none_examples``, as ``heard evaluate
--none-examples`` does), for Heard and both baselines. With ``--none-held-out`` the same
answers are drawn and left out of scoring but given to no model: the control that tells
what they teach from what leaving them out of scoring changes. Prints micro-F1 per set and
the mean.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from heard.analysis import metrics as M
from heard.analysis.analyse import agree_probability, read_stance
from heard.analysis.embeddings import choose_embedder, get_embedder
from heard.analysis.mapping import ThemeMapper
from heard.analysis.text import content_hash
from heard.evaluation.baselines import embed_logreg, tfidf_logreg
from heard.evaluation.dataset import load_dataset
from heard.evaluation.modes import (
    _cached_embeddings,
    _codebook_specs,
    draw_examples,
    draw_none_examples,
    none_rng,
)

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = Path(os.environ.get("HEARD_SHARED_DATA", _SHARED))
SETS = ("argkp:choose", "cycling_de_dev/l1", "cycling_de_dev", "gambling_1000", "gambling_xs")
CHOOSE = {f"train{i:02d}" for i in range(4, 16)}  # argkp motions used to choose defaults


def _value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"None": None, "True": True, "False": False}.get(text, text)


def _micro(gold: list[set[str]], pred: list[set[str]]) -> float:
    labels = sorted({x for g in gold for x in g} | {x for p in pred for x in p})
    return M.multilabel_scores(gold, pred, labels)["micro_f1"]


def _none_count(text: str, k: int) -> int:
    """``--none-examples``: a count, or a multiple of k (``1k``, ``2k``)."""
    return int(text[:-1] or 1) * k if text.endswith("k") else int(text)


def run_set(name: str, args: argparse.Namespace, params: dict) -> dict[str, float]:
    folder, _, part = name.partition(":")
    data = load_dataset(DATA / folder, needs=("codebook", "gold_themes"))
    questions = data.question_ids
    if part == "choose":
        questions = [q for q in questions if q in CHOOSE]
    elif part == "report":
        questions = [q for q in questions if q not in CHOOSE]
    embedder_name = args.embedder
    if embedder_name == "auto":
        embedder_name = choose_embedder(data.texts)
    embedder = get_embedder(embedder_name)

    def embed(texts: list[str]) -> np.ndarray:
        return _cached_embeddings(embedder, list(texts), cache=True, log=lambda m: None)

    all_vectors = embed(data.texts)
    k = args.k or (5 if folder == "argkp" else 10)
    n_none = _none_count(args.none_examples, k)
    drawn_none = 0
    scores: dict[str, list[float]] = {"heard": [], "tfidf": [], "embed": []}
    for r in range(args.repeats if args.mode == "fewshot" else 1):
        rng, no_theme_rng = np.random.default_rng(r), none_rng(r)
        gold: list[set[str]] = []
        pred: dict[str, list[set[str]]] = {key: [] for key in scores}
        for q in questions:
            rows = data.rows(q)
            texts = [data.texts[i] for i in rows]
            vectors = all_vectors[rows]
            q_gold = [data.themes_of(i) for i in rows]
            themes = [t.theme for t in data.codebook.get(q, [])]
            train: list[int] = []
            held_out: list[int] = []
            if args.mode == "fewshot":
                keys = [content_hash(t) for t in texts]
                train = draw_examples(q_gold, themes, k, rng, keys)
                none = draw_none_examples(q_gold, n_none, no_theme_rng, train, keys)
                drawn_none += len(none)
                held_out = none if args.none_held_out else []
                train = sorted(set(train + none) - set(held_out))
            examples = [(j, sorted(q_gold[j])) for j in train] or None
            agree = None
            if args.stance:
                labels, conf, classifier = read_stance(
                    texts, vectors, embed, question=data.questions.get(q, ""), seed=r,
                    embedder_key=embedder_name,
                )
                agree = agree_probability(labels, conf) if classifier is not None else None
            mapper = ThemeMapper(embed, seed=r, **params)
            mapper.fit(
                _codebook_specs(data, q), texts=texts, vectors=vectors, examples=examples,
                agree=agree,
            )
            test = sorted(set(range(len(rows))) - set(train) - set(held_out))
            test_texts = [texts[j] for j in test]
            got = mapper.predict(test_texts, vectors[test], None if agree is None else agree[test])
            gold.extend(q_gold[j] for j in test)
            pred["heard"].extend(set(x) for x in got)
            if train:
                tr_texts, tr_gold = [texts[j] for j in train], [q_gold[j] for j in train]
                pred["tfidf"].extend(set(x) for x in tfidf_logreg(tr_texts, tr_gold, test_texts))
                pred["embed"].extend(
                    set(x) for x in embed_logreg(vectors[train], tr_gold, vectors[test])
                )
        for key in scores:
            if pred[key]:
                scores[key].append(_micro(gold, pred[key]))
    out = {key: float(np.mean(v)) for key, v in scores.items() if v}
    if n_none:
        out["none_examples_per_draw"] = float(drawn_none / max(1, len(scores["heard"])))
    return out | {"embedder": embedder_name}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("fewshot", "codebook"), default="fewshot")
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--k", type=int, default=0, help="examples per theme (0: 5 argkp, 10 else)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--none-examples", default="0",
                    help="gold answers with no theme drawn as examples per question: N, 1k, 2k")
    ap.add_argument("--embedder", default="auto")
    ap.add_argument("--none-held-out", action="store_true",
                    help="the --none-examples answers are left out of scoring, not learnt from")
    ap.add_argument("--stance", action="store_true", help="pass each answer's P(agree)")
    ap.add_argument("-p", action="append", default=[], help="ThemeMapper key=value")
    args = ap.parse_args()
    params = {key: _value(v) for key, _, v in (p.partition("=") for p in args.p)}
    heard_all = []
    for name in args.sets:
        start = time.perf_counter()
        res = run_set(name, args, params)
        heard_all.append(res["heard"])
        cells = "  ".join(f"{k} {v:.3f}" for k, v in res.items() if isinstance(v, float))
        print(f"{name:22s} {cells}  [{res['embedder']}, {time.perf_counter() - start:.0f}s]",
              flush=True)
    print(f"{'mean heard':22s} {np.mean(heard_all):.3f}  params {params}"
          f"{'  stance' if args.stance else ''}")


if __name__ == "__main__":
    main()
