"""Time to first insight: a wide CSV uploaded through the web app, to themes on screen.

For each size: ``heard sample-data`` writes N answers (N/4 respondents, three open
questions and one closed), rewritten here as one wide CSV (a row per respondent, a
column per question, as Citizen Space exports it). A real ``heard serve`` on a fresh
HEARD_HOME (SQLite) receives the upload over HTTP with "Run the analysis after the import"
ticked, and the benchmark polls the jobs' JSON as the browser does. It records, from the
moment the upload is sent:

- import: the import job is done;
- first themes: the first question's themes are saved and its page shows them;
- all questions: the analysis job is done (every question refined by the normal pass);

and the server's CPU time and peak RSS (its whole process, worker thread included), and
the machine load (``uptime``) before and after.

    python -m benchmarks.bench_first_insight [--answers 10000 40000 200000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import fresh_env, heard_executable, machine

from heard.demo.generator import write_wide_csv

PASSWORD = "bench-password-123"
POLL = 1.0  # seconds between two looks at a job: the job page's own rate (job.js)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _proc_figures(pid: int) -> tuple[float, float]:
    """(peak RSS in MB, CPU seconds) of a live process, from /proc."""
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return peak, (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Result:
    answers: int
    respondents: int
    import_s: float
    first_s: float
    first_pass_all_s: float
    all_s: float
    cpu_s: float
    peak_rss_mb: float
    load_before: str
    load_after: str


def _wait_json(client, path: str, until, timeout: float) -> dict:
    import json

    deadline = time.monotonic() + timeout
    while True:
        reply = client.get(path)
        job = json.loads(reply.body) if reply.status == 200 else {}
        if job and until(job):
            return job
        if job.get("finished") or time.monotonic() > deadline:
            raise SystemExit(f"{path}: stopped waiting at {job}")
        time.sleep(POLL)


def run_case(answers: int, seed: int, workdir: Path, timeout: float) -> Result:
    from tests.web.live_server import Client, start_server

    heard = heard_executable()
    long_dir, wide = workdir / "long", workdir / "wide.csv"
    subprocess.run([heard, "sample-data", str(long_dir), "--responses", str(answers),
                    "--seed", str(seed)], check=True, capture_output=True)
    respondents = write_wide_csv(long_dir, wide)
    env = fresh_env(workdir / "home")
    subprocess.run([heard, "user", "add", "bench@example.org", "--role", "admin",
                    "--password", PASSWORD], env=env, check=True, capture_output=True)
    server = start_server(env, workdir / "serve.log")
    try:
        client = Client(server.url, timeout=600)
        client.sign_in("bench@example.org", PASSWORD)
        load_before = uptime()
        started = time.monotonic()
        reply = client.post("/upload/", {"name": "bench", "analyse": "1"},
                            files={"files": ("wide.csv", wide.read_bytes())})
        found = re.search(r"/jobs/(\d+)/", reply.headers.get("Location", ""))
        if reply.status != 302 or not found:
            raise SystemExit(f"upload failed ({reply.status}): {reply.body[:500]}")
        imported = _wait_json(client, f"/c/bench/jobs/{found.group(1)}.json",
                              lambda j: j["status"] == "done", timeout)
        import_s = time.monotonic() - started
        analysis = f"/c/bench/jobs/{imported['next_run']}.json"
        job = _wait_json(client, analysis, lambda j: j["ready"] or j["finished"], timeout)
        page = client.get(f"/c/bench/q/{job['ready'][0]}/").body
        if "heard-theme-table" not in page or 'id="no-themes"' in page:
            raise SystemExit("the first question's page shows no themes")
        first_s = time.monotonic() - started
        open_questions = 3  # the sample consultation's open questions
        job = _wait_json(client, analysis,
                         lambda j: len(j["ready"]) >= open_questions or j["finished"], timeout)
        first_pass_all_s = time.monotonic() - started
        job = _wait_json(client, analysis, lambda j: j["finished"], timeout)
        all_s = time.monotonic() - started
        if job["status"] != "done":
            raise SystemExit(f"the analysis ended {job['status']}: {job['error']}")
        peak, cpu = _proc_figures(server.process.pid)
        load_after = uptime()
    finally:
        server.stop()
    return Result(answers, respondents, import_s, first_s, first_pass_all_s, all_s, cpu, peak,
                  load_before, load_after)


HEADER = (
    "| answers (respondents) | import (s) | first question's themes on screen (s) "
    "| every question's first-pass themes (s) | all questions done (s) | server CPU (s) "
    "| server peak RSS (MB) | load before → after |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _load(text: str) -> str:
    return text.rsplit("load average:", 1)[-1].strip()


def row(r: Result) -> str:
    return (f"| {r.answers:,} ({r.respondents:,}) | {r.import_s:.1f} | {r.first_s:.1f} "
            f"| {r.first_pass_all_s:.1f} | {r.all_s:.1f} | {r.cpu_s:.1f} | {r.peak_rss_mb:.0f} "
            f"| {_load(r.load_before)} → {_load(r.load_after)} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, nargs="+", default=[10_000, 40_000, 200_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per wait")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    print(HEADER)
    for answers in args.answers:
        with tempfile.TemporaryDirectory(prefix="heard-bench-") as tmp:
            print(row(run_case(answers, args.seed, Path(tmp), args.timeout)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
