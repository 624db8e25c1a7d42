"""Benchmark duplicate and campaign detection on synthetic responses.

Run as a whole process so the peak RSS is this run's own:

    python benchmarks/bench_duplicates.py --n 100000 --campaign 15000

It builds one campaign (a form letter copied with names changed, a few words swapped and
personal sentences added before or after) plus varied texts drawn from a Zipf vocabulary
with common consultation phrases and some short stock answers, then prints the wall time
of ``find_groups``, the process's peak RSS, the summary and the campaign's recall.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time

from heard.analysis.duplicates import find_groups, summarise_groups

PHRASES = [
    "i think that",
    "the council should",
    "in my opinion",
    "this proposal would",
    "i do not agree with",
    "local people need",
    "it is important that",
    "for these reasons",
]
SHORT = ["I agree", "No", "Yes", "Agree.", "Strongly disagree", "No comment", "n/a"]


def _vocab(rnd: random.Random, size: int) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 10))) for _ in range(size)]
    cum, total = [], 0.0
    for r in range(size):
        total += 1.0 / (r + 1)
        cum.append(total)
    return words, cum


def _sentence(rnd: random.Random, words: list[str], cum_weights: list[float], n: int) -> str:
    out = rnd.choices(words, cum_weights=cum_weights, k=n)
    if rnd.random() < 0.5:
        out.insert(rnd.randrange(len(out) + 1), rnd.choice(PHRASES))
    return " ".join(out)


def make_data(n: int, campaign: int, seed: int) -> tuple[list[str], set[int]]:
    """Texts and the indices of the campaign's copies."""
    rnd = random.Random(seed)
    words, cum = _vocab(rnd, 20000)
    template = ". ".join(_sentence(rnd, words, cum, 15) for _ in range(10)) + "."
    texts: list[str] = []
    for i in range(campaign):
        body = template.split()
        for _ in range(rnd.randint(0, 3)):  # small edits
            body[rnd.randrange(len(body))] = rnd.choice(words)
        parts = [f"Dear Minister, my name is {rnd.choice(words).title()} {i}."]
        if rnd.random() < 0.4:
            parts.append(_sentence(rnd, words, cum, rnd.randint(5, 60)) + ".")
        parts.append(" ".join(body))
        if rnd.random() < 0.4:
            parts.append(_sentence(rnd, words, cum, rnd.randint(5, 60)) + ".")
        texts.append(" ".join(parts))
    for _ in range(n - campaign):
        if rnd.random() < 0.05:
            texts.append(rnd.choice(SHORT))
        else:
            length = int(min(400, max(3, rnd.lognormvariate(3.5, 0.8))))
            texts.append(_sentence(rnd, words, cum, length))
    order = list(range(n))
    rnd.shuffle(order)
    shuffled = [texts[i] for i in order]
    members = {pos for pos, i in enumerate(order) if i < campaign}
    return shuffled, members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--campaign", type=int, default=15_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    texts, members = make_data(args.n, args.campaign, args.seed)
    t1, c1 = time.perf_counter(), time.process_time()
    groups = find_groups(texts, seed=args.seed)
    t2, c2 = time.perf_counter(), time.process_time()

    summary = summarise_groups(groups, len(texts))
    largest = groups[0] if groups else None
    found = set(largest.members) if largest else set()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"texts: {len(texts)}  campaign copies: {len(members)}")
    print(f"data generation: {t1 - t0:.1f} s")
    print(f"find_groups: {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU")
    print(f"peak RSS (whole process): {peak_mb:.0f} MB")
    for key, value in summary.items():
        print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")
    if largest:
        print(f"largest group: kind={largest.kind} size={largest.size}")
        print(f"campaign recall: {len(found & members) / max(1, len(members)):.4f}")
        print(f"non-campaign texts in it: {len(found - members)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
