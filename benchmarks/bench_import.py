"""Import benchmark: write N responses with `heard sample-data`, then time `heard import`.

Each step runs as its own process. The import gets a fresh HEARD_HOME (SQLite), and
afterwards `heard status bench --json` must report exactly the rows that were written.
With DATABASE_URL set to a PostgreSQL server, the store is instead a new database created
on that server for the run and dropped after it (the database in the URL is not touched).

    python -m benchmarks.bench_import --responses 200000
    DATABASE_URL=postgres://heard:heard@127.0.0.1:5432/heard python -m benchmarks.bench_import
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import (
    TABLE_HEADER,
    Measurement,
    fresh_env,
    heard_executable,
    markdown_row,
    measure,
    scratch_postgres,
)

TARGET_WALL_S = 60.0
TARGET_RSS_MB = 1.5 * 1024


@dataclass
class ImportBenchmark:
    """The outcome of one run, with the rows for docs/benchmarks.md."""

    responses: int
    generate: Measurement
    store: str = "SQLite"
    load: Measurement | None = None
    expected_rows: int = 0
    stored: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def rows(self) -> list[str]:
        n = f"{self.responses:,}"
        out = [
            markdown_row(
                f"sample-data {n}",
                self.generate,
                "ok" if self.generate.ok else "failed",
                f"heard sample-data DIR --responses {self.responses}",
            )
        ]
        if self.load is not None:
            verdict = "ok" if self.passed else "FAIL: " + "; ".join(self.problems)
            out.append(
                markdown_row(
                    f"import {n} responses ({self.stored.get('respondents', 0):,} respondents,"
                    f" {self.store})",
                    self.load,
                    verdict,
                    "heard import DIR --consultation bench",
                )
            )
        return out


def _count_rows(path: Path) -> tuple[int, int]:
    """(answers, distinct respondents) in an evaluation-layout responses.csv."""
    respondents: set[str] = set()
    answers = 0
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            answers += 1
            respondents.add(row["response_id"])
    return answers, len(respondents)


def run_import_benchmark(
    responses: int,
    workdir: Path,
    *,
    seed: int = 0,
    timeout_s: float = 3600,
    database_url: str | None = None,
) -> ImportBenchmark:
    """Generate, import and check; every step is a separate `heard` process.

    ``database_url``: a PostgreSQL server to import into (a scratch database on it).
    """
    postgres = bool(database_url) and not database_url.startswith("sqlite")
    with scratch_postgres(database_url) if postgres else nullcontext(None) as store_url:
        bench = _run(responses, workdir, seed, timeout_s, store_url)
    if postgres:
        bench.store = "PostgreSQL"
    return bench


def _run(
    responses: int, workdir: Path, seed: int, timeout_s: float, store_url: str | None
) -> ImportBenchmark:
    heard = heard_executable()
    data, home = workdir / "data", workdir / "home"
    env = fresh_env(home, store_url)
    generate = measure(
        [heard, "sample-data", str(data), "--responses", str(responses), "--seed", str(seed)],
        env=env,
        timeout_s=timeout_s,
    )
    bench = ImportBenchmark(responses, generate)
    if not generate.ok:
        bench.problems.append(f"sample-data failed: {generate.stderr.strip()[-500:]}")
        return bench
    bench.expected_rows, expected_respondents = _count_rows(data / "responses.csv")

    bench.load = measure(
        [heard, "import", str(data), "--consultation", "bench"], env=env, timeout_s=timeout_s
    )
    if not bench.load.ok:
        why = "timed out" if bench.load.timed_out else bench.load.stderr.strip()[-500:]
        bench.problems.append(f"import failed: {why}")
        return bench

    status = measure([heard, "status", "bench", "--json"], env=env, timeout_s=600)
    if not status.ok:
        bench.problems.append(f"status failed: {status.stderr.strip()[-500:]}")
        return bench
    report = json.loads(status.stdout)
    bench.stored = {"responses": report["responses"], "respondents": report["respondents"]}
    if report["responses"] != bench.expected_rows:
        bench.problems.append(
            f"stored {report['responses']:,} answers, wrote {bench.expected_rows:,}"
        )
    if report["respondents"] != expected_respondents:
        bench.problems.append(
            f"stored {report['respondents']:,} respondents, wrote {expected_respondents:,}"
        )
    if bench.load.wall_s > TARGET_WALL_S:
        bench.problems.append(f"wall {bench.load.wall_s:.0f} s > {TARGET_WALL_S:.0f} s")
    if bench.load.peak_rss_mb > TARGET_RSS_MB:
        bench.problems.append(f"peak RSS {bench.load.peak_rss_mb:.0f} MB > {TARGET_RSS_MB:.0f} MB")
    return bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--responses", type=int, default=200_000, help="responses to write (4 per respondent)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="keep data and store here (default: temp)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="heard-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        bench = run_import_benchmark(
            args.responses, workdir, seed=args.seed, database_url=os.environ.get("DATABASE_URL")
        )
    print(TABLE_HEADER)
    print("\n".join(bench.rows()))
    if bench.stored:
        print(f"\nwritten {bench.expected_rows:,} answers; stored {bench.stored}")
    for problem in bench.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 0 if bench.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
