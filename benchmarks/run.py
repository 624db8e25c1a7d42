"""Benchmark runner: ``python -m benchmarks.run CASE [options]`` from the project root.

Cases:
  import       sample-data N responses, then time `heard import` (fresh HEARD_HOME)
               and check the stored count (see bench_import.py)
  sample-data  time `heard sample-data` alone for N responses
  cmd          time any command: python -m benchmarks.run cmd -- heard status demo
  first-insight  upload a wide CSV to `heard serve`: time to the first question's themes
               and to all questions (see bench_first_insight.py)

Each prints markdown rows for docs/benchmarks.md: wall time and peak RSS of the whole
child process, the machine and the date.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks import bench_first_insight, bench_import
from benchmarks.harness import TABLE_HEADER, heard_executable, markdown_row, measure


def _sample_data(responses: int, seed: int) -> int:
    with tempfile.TemporaryDirectory(prefix="heard-bench-") as tmp:
        cmd = [heard_executable(), "sample-data", str(Path(tmp) / "data")]
        m = measure([*cmd, "--responses", str(responses), "--seed", str(seed)])
        size_mb = sum(p.stat().st_size for p in (Path(tmp) / "data").glob("*.csv")) / 2**20
    print(TABLE_HEADER)
    result = f"ok, {size_mb:,.0f} MB written" if m.ok else f"failed: {m.stderr[-300:]}"
    cmd_text = f"heard sample-data DIR --responses {responses}"
    print(markdown_row(f"sample-data {responses:,}", m, result, cmd_text))
    return 0 if m.ok else 1


def _command(command: list[str]) -> int:
    if command and command[0] == "heard":
        command = [heard_executable(), *command[1:]]
    m = measure(command)
    print(TABLE_HEADER)
    print(markdown_row("cmd", m, "ok" if m.ok else f"exit {m.returncode}"))
    return 0 if m.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="case", required=True)
    imp = sub.add_parser("import", help="generate, import and check")
    imp.add_argument("--responses", type=int, default=200_000)
    imp.add_argument("--seed", type=int, default=0)
    imp.add_argument("--workdir", type=Path)
    gen = sub.add_parser("sample-data", help="time the generator")
    gen.add_argument("--responses", type=int, default=200_000)
    gen.add_argument("--seed", type=int, default=0)
    first = sub.add_parser("first-insight", help="upload through the web app, time the themes")
    first.add_argument("--answers", type=int, nargs="+", default=[10_000, 40_000, 200_000])
    first.add_argument("--seed", type=int, default=1)
    cmd = sub.add_parser("cmd", help="time any command (after --)")
    cmd.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.case == "import":
        forwarded = ["--responses", str(args.responses), "--seed", str(args.seed)]
        if args.workdir:
            forwarded += ["--workdir", str(args.workdir)]
        return bench_import.main(forwarded)
    if args.case == "first-insight":
        return bench_first_insight.main(
            ["--answers", *map(str, args.answers), "--seed", str(args.seed)]
        )
    if args.case == "sample-data":
        return _sample_data(args.responses, args.seed)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("cmd needs a command after --")
    return _command(command)


if __name__ == "__main__":
    sys.exit(main())
