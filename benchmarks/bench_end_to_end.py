"""End-to-end benchmark: import → analyse → export of N generated responses.

Each step runs as its own process against a fresh HEARD_HOME (SQLite); the data are
written first by `heard sample-data` (not counted). The figure is the sum of the three
steps' wall times and the largest peak RSS of any step. Several sizes give the curve,
and the cost ratio between sizes ten times apart.

    python -m benchmarks.bench_end_to_end --sizes 10000 50000 [--embedder minilm]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import Measurement, fresh_env, heard_executable, machine, measure

# (responses, wall seconds, peak RSS MB) targets from the engine issue.
TARGETS = {50_000: (300.0, 4 * 1024), 1_000_000: (3600.0, 16 * 1024)}


@dataclass
class Run:
    responses: int
    embedder: str
    steps: dict[str, Measurement]

    @property
    def wall_s(self) -> float:
        return sum(m.wall_s for m in self.steps.values())

    @property
    def cpu_s(self) -> float:
        return sum(m.cpu_s for m in self.steps.values())

    @property
    def peak_rss_mb(self) -> float:
        return max(m.peak_rss_mb for m in self.steps.values())

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.steps.values())


def run_size(responses: int, embedder: str, workdir: Path, seed: int = 0) -> Run:
    heard = heard_executable()
    data = workdir / f"data-{responses}"
    env = fresh_env(workdir / f"home-{responses}-{embedder}")
    if not (data / "responses.csv").exists():
        made = measure(
            [heard, "sample-data", str(data), "--responses", str(responses), "--seed", str(seed)]
        )
        if not made.ok:
            raise SystemExit(f"sample-data failed: {made.stderr[-500:]}")
    steps: dict[str, Measurement] = {}
    commands = {
        "import": [heard, "import", str(data), "--consultation", "bench"],
        "analyse": [heard, "analyse", "bench", "--embedder", embedder, "--seed", str(seed)],
        "export": [
            heard,
            "export",
            "bench",
            "--format",
            "csv",
            "-o",
            str(workdir / f"export-{responses}.csv"),
        ],
    }
    for name, command in commands.items():
        steps[name] = measure(command, env=env)
        if not steps[name].ok:
            print(f"{name} failed:\n{steps[name].stderr[-2000:]}", file=sys.stderr)
            break
    return Run(responses, embedder, steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--workdir", type=Path, help="keep data here (default: a temp dir)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="heard-e2e-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        runs = [run_size(n, args.embedder, workdir) for n in args.sizes]

    print(f"\nMachine: {machine()}\n")
    print(
        "| responses | embedder | import (s) | analyse (s) | export (s) | total wall (s) "
        "| total CPU (s) | peak RSS (MB) | target | result |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|---|")
    failed = False
    for run in runs:
        target = TARGETS.get(run.responses)
        verdict = "ok" if run.ok else "FAILED"
        if target and run.ok:
            within = run.wall_s <= target[0] and run.peak_rss_mb <= target[1]
            verdict = "meets target" if within else "misses target"
            failed |= not within
        failed |= not run.ok
        step = {k: f"{m.wall_s:.1f}" for k, m in run.steps.items()}
        target_text = f"≤ {target[0]:.0f} s, ≤ {target[1] / 1024:.0f} GB" if target else "–"
        print(
            f"| {run.responses:,} | {run.embedder} | {step.get('import', '–')} | "
            f"{step.get('analyse', '–')} | {step.get('export', '–')} | {run.wall_s:.1f} | "
            f"{run.cpu_s:.1f} | {run.peak_rss_mb:.0f} | {target_text} | {verdict} |"
        )
    by_size = {r.responses: r for r in runs if r.ok}
    for small, run in sorted(by_size.items()):
        big = by_size.get(small * 10)
        if big:
            ratio = big.wall_s / run.wall_s
            print(
                f"\ncost({big.responses:,}) / cost({small:,}) = {ratio:.1f} (wall), "
                f"{big.cpu_s / run.cpu_s:.1f} (CPU)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
