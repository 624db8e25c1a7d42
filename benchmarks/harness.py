"""Run a whole command as a child process and record its wall time, CPU time and peak memory.

CPU time (user + system) is reported beside wall time because a shared machine can
stretch wall time several-fold while CPU time stays close to the work done.

Peak RSS comes from ``os.wait4`` on the child, which reports the largest resident set
of the child and of any descendants it waited for (Linux reports kilobytes).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT = Path(__file__).resolve().parents[1]


@dataclass
class Measurement:
    """One finished command: how long it took, how much memory it held, what it said."""

    command: list[str]
    wall_s: float
    cpu_s: float  # user + system time of the child and its descendants
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def heard_executable() -> str:
    """The `heard` script of the running interpreter's environment (or the one on PATH)."""
    beside = Path(sys.executable).parent / "heard"
    if beside.exists():
        return str(beside)
    found = shutil.which("heard")
    if found is None:
        raise SystemExit("Cannot find the `heard` command: install the project first.")
    return found


def measure(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout_s: float | None = None,
) -> Measurement:
    """Run command to completion and measure it; output is captured, not streamed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(command), stdout=out, stderr=err, env=env, cwd=cwd)
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout_s, _kill) if timeout_s else None
        if timer is not None:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer is not None:
                timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Measurement(
            command=list(command),
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=timed_out.is_set(),
        )


def machine() -> str:
    """Cores, memory, CPU model and load: enough to compare runs fairly."""
    cores = os.cpu_count() or 0
    mem_gb = 0.0
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    py = platform.python_version()
    return f"{cores} cores ({model}), {mem_gb:.0f} GB RAM, Python {py}, load {load:.1f}"


def shown(command: Sequence[str]) -> str:
    """The command as a user would type it (the heard script shown as `heard`)."""
    parts = ["heard" if Path(c).name == "heard" and os.sep in c else c for c in command]
    return shlex.join(parts)


TABLE_HEADER = (
    "| case | command | wall (s) | CPU (s) | peak RSS (MB) | result | machine | date |\n"
    "|---|---|---:|---:|---:|---|---|---|"
)


def markdown_row(case: str, m: Measurement, result: str, command: str | None = None) -> str:
    """One row of the table in docs/benchmarks.md."""
    today = dt.date.today().isoformat()
    cmd = command or shown(m.command)
    return (
        f"| {case} | `{cmd}` | {m.wall_s:.1f} | {m.cpu_s:.1f} | {m.peak_rss_mb:.0f} | {result} "
        f"| {machine()} | {today} |"
    )


def fresh_env(heard_home: Path, database_url: str | None = None) -> dict[str, str]:
    """The current environment with a fresh HEARD_HOME, and the store at ``database_url``
    (default: SQLite in that HEARD_HOME)."""
    env = dict(os.environ)
    env["HEARD_HOME"] = str(heard_home)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``server_url``, dropped afterwards.

    Yields its URL. The database named in ``server_url`` is only used to connect; nothing
    in it is touched, so each run starts from an empty store as with a fresh HEARD_HOME.
    """
    import psycopg

    parts = urlsplit(server_url)
    name = f"heard_bench_{os.getpid()}_{int(time.time())}"

    def admin(sql: str) -> None:
        with psycopg.connect(urlunsplit(parts), autocommit=True) as conn:
            conn.execute(sql)

    admin(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
