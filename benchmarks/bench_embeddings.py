"""Embedder speed, load time and peak memory on a consultation data set.

    python benchmarks/bench_embeddings.py [--data ../shared/data/gambling_1000/responses.csv]
        [--models minilm static multilingual minilm+multilingual] [--threads N] [--repeat 3]

Each model runs in its own process so that its peak RSS is its own. Throughput is the
best of ``--repeat`` runs over all the texts (after loading), in sentences per second
of wall time and per CPU second (summed over threads; steadier on a busy machine).
``process_wall_s`` is the whole process's wall time (start, imports, reading the texts,
loading and every repeat): with ``--repeat 1``, what embedding the file once costs.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "gambling_1000" / "responses.csv"
)


def measure(model: str, data: Path, threads: int | None, repeat: int) -> dict:
    """Load ``model``, embed the texts of ``data`` ``repeat`` times; figures as a dict."""
    with data.open(newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    start = time.perf_counter()
    from heard.analysis.embeddings import get_embedder, threads_keyword

    embedder = get_embedder(model, **threads_keyword(model, threads))
    embedder.load()  # type: ignore[attr-defined]
    load_s = time.perf_counter() - start
    best = best_cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        vectors = embedder.embed(texts)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "model": embedder.name,
        "texts": len(texts),
        "dim": int(vectors.shape[1]),
        "load_s": round(load_s, 2),
        "sentences_per_s": round(len(texts) / best, 1),
        # CPU seconds over all threads: a figure that a busy shared machine distorts less.
        "sentences_per_cpu_s": round(len(texts) / best_cpu, 1),
        "peak_rss_mb": round(peak_mb, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--models", nargs="+", default=["minilm", "static", "multilingual"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one model here
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.data, args.threads, args.repeat)))
        return
    for model in args.models:
        command = [sys.executable, __file__, "--one", model, "--data", str(args.data)]
        command += ["--repeat", str(args.repeat)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{model}: failed: {done.stderr.strip().splitlines()[-1]}")
            continue
        figures = json.loads(done.stdout)
        figures["process_wall_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
