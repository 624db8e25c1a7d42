"""Run leases: one live analysis per consultation, with two real `heard analyse` processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

WORDS = ("parking", "buses", "rent", "schools", "cycling", "trees", "noise", "housing",
         "council", "library", "roads", "trains", "water", "energy", "shops")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HEARD_HOME": str(home), **extra}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _heard(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("heard")
    return subprocess.run([str(command), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen:
    command = Path(sys.executable).with_name("heard")
    return subprocess.Popen([str(command), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _lease(home: Path) -> tuple | None:
    with sqlite3.connect(home / "heard.sqlite3", timeout=30) as db:
        return db.execute("SELECT holder, run_id FROM heard_runlease").fetchone()


def _wait_for_lease(home: Path, process: subprocess.Popen) -> tuple:
    while process.poll() is None:
        lease = _lease(home)
        if lease is not None:
            return lease
        time.sleep(0.02)
    raise AssertionError("the first run ended before it was seen holding the lease: "
                         + process.stderr.read())


@pytest.fixture
def store(tmp_path, heard_home) -> dict[str, str]:
    rows = []
    for n in range(800):
        a, b, c = WORDS[n % 15], WORDS[(n * 7) % 15], WORDS[(n * 11) % 15]
        rows.append(f"r{n},More {a} and fewer {b} please; the {c} plan is wrong ({n})")
    table = tmp_path / "answers.csv"
    table.write_text("respondent_id,Why?\n" + "\n".join(rows) + "\n", encoding="utf-8")
    env = _env(heard_home)
    imported = _heard("import", str(table), "-c", "town", env=env)
    assert imported.returncode == 0, imported.stderr
    return env


ANALYSE = ("analyse", "town", "--embedder", "static", "--seed", "1")


def test_second_run_refused_while_first_holds_the_lease(store, heard_home):
    first = _start(*ANALYSE, env=store)
    try:
        holder, run_id = _wait_for_lease(heard_home, first)
        os.kill(first.pid, signal.SIGSTOP)  # the first run holds the lease, mid-work
        try:
            second = _heard(*ANALYSE, env=store, timeout=120)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert second.returncode != 0
        message = " ".join(second.stderr.split())
        assert f"'town' is being analysed by run {run_id}" in message
        assert "--wait" in message and "Traceback" not in message
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
    assert _lease(heard_home) is None  # released at the end
    with sqlite3.connect(heard_home / "heard.sqlite3") as db:
        statuses = db.execute("SELECT status FROM heard_run ORDER BY id").fetchall()
    assert statuses == [("done",)]  # one run: the second never touched it
    again = _heard(*ANALYSE, env=store)  # free again: a third run goes ahead
    assert again.returncode == 0, again.stderr


def test_a_crashed_runs_lease_expires(store, heard_home):
    env = {**store, "HEARD_LEASE_SECONDS": "10"}
    first = _start(*ANALYSE, env=env)
    _wait_for_lease(heard_home, first)
    os.kill(first.pid, signal.SIGKILL)  # crash: no release
    first.wait(timeout=30)
    assert _lease(heard_home) is not None
    refused = _heard(*ANALYSE, env=env, timeout=120)
    if refused.returncode == 0:  # only if the 10 s lease lapsed before this run began
        pytest.skip("the machine was too slow to see the crashed run's lease still live")
    assert "is being analysed" in " ".join(refused.stderr.split())
    with sqlite3.connect(heard_home / "heard.sqlite3") as db:
        expires = db.execute("SELECT expires_at FROM heard_runlease").fetchone()[0]
    left = datetime.fromisoformat(expires).replace(tzinfo=UTC) - datetime.now(UTC)
    time.sleep(max(left.total_seconds(), 0) + 0.5)  # no heartbeat since the crash: expired
    resumed = _heard(*ANALYSE, env=env)
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(heard_home / "heard.sqlite3") as db:
        statuses = db.execute("SELECT status FROM heard_run ORDER BY id").fetchall()
    assert statuses == [("done",)]  # the crashed run was resumed, not run twice


def test_wait_takes_the_lease_when_the_first_run_ends(store, heard_home):
    first = _start(*ANALYSE, env=store)
    try:
        _wait_for_lease(heard_home, first)
        second = _heard(*ANALYSE, "--wait", "300", "--seed", "2", env=store)
        assert second.returncode == 0, second.stderr
        assert first.wait(timeout=300) == 0
    finally:
        if first.poll() is None:
            first.kill()
    with sqlite3.connect(heard_home / "heard.sqlite3") as db:
        runs = db.execute("SELECT status, started_at, finished_at FROM heard_run ORDER BY id"
                          ).fetchall()
    assert [r[0] for r in runs] == ["done", "done"]
    assert runs[1][1] >= runs[0][2]  # the second started after the first had finished


# --- the lease itself, in one process -------------------------------------------------------


@pytest.fixture
def consultation(db):
    from heard.store.models import Consultation

    return Consultation.objects.create(name="leased")


def test_one_holder_at_a_time_and_expiry(consultation, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from heard.pipeline import leases
    from heard.store.models import RunLease

    assert leases.try_acquire(consultation, "a")
    assert not leases.try_acquire(consultation, "b")
    assert leases.try_acquire(consultation, "a")  # ours already: renewed
    with pytest.raises(leases.LeaseHeld, match="'leased' is being analysed"):
        leases.ensure_free(consultation)
    RunLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # a crash
    leases.ensure_free(consultation)
    assert not leases.renew(consultation, "b")
    assert leases.try_acquire(consultation, "b")  # the expired lease is taken over
    assert not leases.renew(consultation, "a")  # and "a" knows it lost it
    leases.release(consultation, "a")  # not the holder: nothing happens
    assert RunLease.objects.get().holder == "b"
    leases.release(consultation, "b")
    assert not RunLease.objects.exists()


def test_the_worker_leaves_a_leased_consultation_for_later(consultation, monkeypatch):
    from heard.pipeline import jobs, leases
    from heard.pipeline.analysis import AnalyseParams
    from heard.store.models import Run

    run = jobs.enqueue_analysis(consultation, AnalyseParams())
    assert leases.try_acquire(consultation, "a run from the command line")
    assert jobs.claim_next("worker") is None
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)  # claimed just before
    jobs.run_job(Run.objects.get(pk=run.pk), heartbeat_every=60)
    run.refresh_from_db()
    assert run.status == Run.Status.PENDING and run.started_at is None  # untouched, re-queued
    leases.release(consultation, "a run from the command line")
    assert jobs.claim_next("worker").pk == run.pk
