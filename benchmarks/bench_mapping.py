"""Cost of the mapper, few-shot (with and without self-training) and zero-shot, as whole
processes.

    python -m benchmarks.bench_mapping --answers 20000 50000
    python -m benchmarks.bench_mapping --answers 20000 50000 --rounds 1 --round6
    python -m benchmarks.bench_mapping --answers 20000 50000 --zero-shot

Each case runs in a child process that builds N synthetic answers (12 themes, 384-d unit
vectors around one centre per theme, 12 words from an overlapping vocabulary per theme),
fits ``ThemeMapper`` on 10 examples per theme (or, with ``--zero-shot``, on the theme
texts alone: today's defaults, and round 6's for comparison) and predicts every
answer; the harness
records the child's wall time, CPU time and peak RSS. Prints one markdown row per case
for docs/benchmarks.md. The answers are synthetic: quality is measured in
docs/evaluation.md, not here.
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks.harness import markdown_row, measure

CHILD = """
import sys, time
import numpy as np
from heard.analysis.clustering import ThemeSpec
from heard.analysis.mapping import ThemeMapper

n, rounds, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
k, d = 12, 384
label = rng.integers(0, k, n)
vectors = rng.normal(size=(k, d))[label] + rng.normal(scale=3.0, size=(n, d))
vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
words = [f"w{i}" for i in range(1500)]
texts = [" ".join(rng.choice(words[j * 100 : j * 100 + 400], 12)) for j in label]
# zero-shot reads the theme texts: five of each theme's own words describe it
zero = mode.startswith("zero-shot")
about = [" ".join(words[j * 100 : j * 100 + 5]) if zero else "" for j in range(k)]
themes = [ThemeSpec(key=f"t{j}", label=f"theme {j}", description=about[j]) for j in range(k)]

def embed(batch):
    x = np.random.default_rng(len(batch)).normal(size=(len(batch), d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

examples = [(int(i), [f"t{j}"]) for j in range(k) for i in np.flatnonzero(label == j)[:10]]
# round 6: zero-shot prototypes not moved towards their answers; few-shot themes not
# shifted to their estimated share of the pool
params = {
    "zero-shot-round6": {"expand_rounds": 0},
    "few-shot-round6": {"few_shot_share_prior": 0.0},
}.get(mode, {})
examples = examples if mode.startswith("few-shot") else None
start = time.perf_counter()
mapper = ThemeMapper(embed, few_shot_rounds=rounds, clauses=False, **params)
mapper.fit(themes, texts, vectors, examples)
fitted = time.perf_counter() - start
pred = mapper.predict(texts, vectors)
right = sum(p[:1] == [f"t{j}"] for p, j in zip(pred, label))
print(f"fit {fitted:.1f} s, fit+predict {time.perf_counter() - start:.1f} s, "
      f"{len(mapper.pseudo_)} pseudo-examples, top theme right {right / n:.2f}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", nargs="+", type=int, default=[20000])
    ap.add_argument("--rounds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--zero-shot", action="store_true",
                    help="zero-shot cases (today's and round 6's defaults) instead of few-shot")
    ap.add_argument("--round6", action="store_true",
                    help="few-shot: also round 6's defaults (no share shift), one round")
    args = ap.parse_args()
    cases = (
        [("zero-shot", 1), ("zero-shot-round6", 1)]
        if args.zero_shot
        else [("few-shot", rounds) for rounds in args.rounds]
        + ([("few-shot-round6", 1)] if args.round6 else [])
    )
    for n in args.answers:
        for mode, rounds in cases:
            m = measure([sys.executable, "-c", CHILD, str(n), str(rounds), mode])
            if m.returncode:
                raise SystemExit(m.stderr)
            if mode.startswith("few-shot"):
                command = f"python -m benchmarks.bench_mapping --answers {n} --rounds {rounds}"
                command += " --round6" if mode == "few-shot-round6" else ""
                case = f"{mode} mapping, {n:,} answers, {rounds} self-training round(s)"
            else:
                command = f"python -m benchmarks.bench_mapping --answers {n} --zero-shot"
                case = f"{mode} mapping, {n:,} answers"
            print(markdown_row(case, m, m.stdout.strip(), command), flush=True)
            time.sleep(1)


if __name__ == "__main__":
    main()
