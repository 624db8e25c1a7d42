"""Time two parts of the analysis core whose speed the unit tests used to assert on.

Unit tests check behaviour only; the times live here, measured on purpose:

    python benchmarks/bench_core.py                      # both
    python benchmarks/bench_core.py --only normalise

- ``normalise``: ``normalise_text`` on a word, a run of N punctuation marks and a word, for
  N from 50,000 to 400,000. The time per 1,000 characters stays flat when the regular
  expressions are linear; a backtracking pattern makes it grow with N.
- ``discovery``: theme discovery on the shared ``gambling_1000`` set with the shipped static
  embedder, three seeds (what tests/test_clustering.py checks for stability and purity).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "src"))

from heard.analysis.text import normalise_text  # noqa: E402

SHARED_DATA = Path(os.environ.get("HEARD_SHARED_DATA", PROJECT.parent / "shared" / "data"))


def bench_normalise(sizes: tuple[int, ...] = (50_000, 100_000, 200_000, 400_000)) -> None:
    print("| punctuation run | seconds | µs per 1,000 chars |")
    print("|---:|---:|---:|")
    for size in sizes:
        text = "word " + "!" * size + " end"
        started = time.perf_counter()
        normalise_text(text)
        seconds = time.perf_counter() - started
        print(f"| {size:,} | {seconds:.4f} | {seconds / len(text) * 1e9:.1f} |")


def bench_discovery(seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    from heard.analysis.clustering import ThemeDiscoverer
    from heard.analysis.embeddings import get_embedder

    folder = SHARED_DATA / "gambling_1000"
    if not folder.exists():
        print(f"discovery: shared data set not found at {folder} (set HEARD_SHARED_DATA)")
        return
    with open(folder / "responses.csv", newline="", encoding="utf-8") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    started = time.perf_counter()
    vectors = get_embedder("static").embed(texts)
    embed_seconds = time.perf_counter() - started
    print(f"\n{len(texts):,} responses; static embeddings in {embed_seconds:.2f} s")
    print("| seed | discovery seconds |")
    print("|---:|---:|")
    total = 0.0
    for seed in seeds:
        started = time.perf_counter()
        ThemeDiscoverer(seed=seed).fit(texts, vectors)
        seconds = time.perf_counter() - started
        total += seconds
        print(f"| {seed} | {seconds:.2f} |")
    print(f"| all {len(seeds)} | {total:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("normalise", "discovery"))
    args = parser.parse_args(argv)
    if args.only in (None, "normalise"):
        bench_normalise()
    if args.only in (None, "discovery"):
        bench_discovery()
    return 0


if __name__ == "__main__":
    sys.exit(main())
