"""Cost of few-shot mapping with and without self-training, as whole processes.

    python -m benchmarks.bench_mapping --answers 20000 50000

Each case runs in a child process that builds N synthetic answers (12 themes, 384-d unit
vectors around one centre per theme, 12 words from an overlapping vocabulary per theme),
fits ``ThemeMapper`` on 10 examples per theme and predicts every answer; the harness
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

n, rounds = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
k, d = 12, 384
label = rng.integers(0, k, n)
vectors = rng.normal(size=(k, d))[label] + rng.normal(scale=3.0, size=(n, d))
vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
words = [f"w{i}" for i in range(1500)]
texts = [" ".join(rng.choice(words[j * 100 : j * 100 + 400], 12)) for j in label]
themes = [ThemeSpec(key=f"t{j}", label=f"theme {j}") for j in range(k)]

def embed(batch):
    x = np.random.default_rng(len(batch)).normal(size=(len(batch), d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

examples = [(int(i), [f"t{j}"]) for j in range(k) for i in np.flatnonzero(label == j)[:10]]
start = time.perf_counter()
mapper = ThemeMapper(embed, few_shot_rounds=rounds, clauses=False)
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
    args = ap.parse_args()
    for n in args.answers:
        for rounds in args.rounds:
            m = measure([sys.executable, "-c", CHILD, str(n), str(rounds)])
            if m.returncode:
                raise SystemExit(m.stderr)
            command = f"python -m benchmarks.bench_mapping --answers {n} --rounds {rounds}"
            case = f"few-shot mapping, {n:,} answers, {rounds} self-training round(s)"
            print(markdown_row(case, m, m.stdout.strip(), command), flush=True)
            time.sleep(1)


if __name__ == "__main__":
    main()
