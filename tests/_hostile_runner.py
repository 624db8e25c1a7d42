"""Run `heard import` on each prepared input in a forked child, with a time limit and a
memory ceiling, and record its exit code, output, peak memory and whether the store changed.

Usage: python tests/_hostile_runner.py CASES.json RESULTS.json (HEARD_HOME names the store).
Each case is {"name", "args", "env"}. The store is opened (and seeded) once; every child
starts from it, so one slow start-up serves the whole corpus.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

#: A child may take this long (seconds) before it is killed.
TIME_LIMIT = 30
#: Address-space ceiling of a child: a regression fails the case instead of taking the machine.
ADDRESS_SPACE = 6 * 1024**3


def _counts() -> dict[str, int]:
    from django.apps import apps

    return {m.__name__: m.objects.count() for m in apps.get_app_config("heard").get_models()}


def _child(case: dict, out: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    signal.alarm(TIME_LIMIT)
    os.environ.update(case.get("env", {}))
    from click.testing import CliRunner

    from heard.cli import main

    result = CliRunner().invoke(main, ["import", *case["args"]])
    crash = result.exception
    out.write_text(json.dumps({
        "code": result.exit_code,
        "output": result.output,
        "exception": None if crash is None or isinstance(crash, SystemExit) else repr(crash),
    }), encoding="utf-8")


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    from heard.store.setup import open_store

    open_store()
    from click.testing import CliRunner
    from django.db import connections

    from heard.cli import main as heard_main

    seed = Path(sys.argv[1]).with_name("seed.csv")
    seeded = CliRunner().invoke(heard_main, ["import", str(seed), "--consultation", "bad"])
    assert seeded.exit_code == 0, seeded.output
    results = {}
    for number, case in enumerate(cases):
        before = _counts()
        connections.close_all()  # the child opens its own connection
        out = Path(sys.argv[2]).with_name(f"case-{number}.json")
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                _child(case, out)
            finally:
                os._exit(0)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.monotonic() - start
        record = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
        results[case["name"]] = {
            **record,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "store_changed": _counts() != before,
        }
    Path(sys.argv[2]).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
