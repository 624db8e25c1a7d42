"""Durable jobs: atomic claiming, heartbeats, stale re-queueing and cancellation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from heard.pipeline import jobs
from heard.pipeline.analysis import AnalyseParams
from heard.store.models import Run


def test_claim_is_exclusive_and_in_order(own):
    first = jobs.enqueue_analysis(own.consultation, AnalyseParams(seed=1))
    second = jobs.enqueue_analysis(own.consultation, AnalyseParams(seed=2))
    a = jobs.claim_next("worker-a")
    b = jobs.claim_next("worker-b")
    assert (a.pk, b.pk) == (first.pk, second.pk)
    assert jobs.claim_next("worker-c") is None
    assert a.status == "running" and a.worker == "worker-a" and a.heartbeat_at is not None


def test_stale_running_jobs_are_requeued(own):
    run = jobs.enqueue_analysis(own.consultation, AnalyseParams())
    jobs.claim_next("dead-worker")
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    fresh = jobs.enqueue_analysis(own.consultation, AnalyseParams(seed=3))
    jobs.claim_next("live-worker")
    assert jobs.requeue_stale(stale_after=60) == 1
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == "pending" and run.worker == ""
    assert fresh.status == "running"
    # A run started from the CLI (no heartbeat) is never touched.
    cli = Run.objects.create(consultation=own.consultation, status="running")
    jobs.requeue_stale(stale_after=0)
    cli.refresh_from_db()
    assert cli.status == "running"


def test_cancel_pending_job_at_once(own):
    run = jobs.enqueue_analysis(own.consultation, AnalyseParams())
    jobs.request_cancel(run)
    assert run.status == "cancelled" and run.cancel_requested
    assert jobs.claim_next("w") is None


@pytest.mark.django_db(transaction=True)  # the worker closes connections between jobs
def test_worker_runs_a_job_and_records_failure(own, monkeypatch):
    calls = []

    def fake_run(run):
        calls.append(run.pk)
        run.status = "done"
        run.progress = 1.0
        run.save()
        return run

    monkeypatch.setattr(jobs, "run_analysis", fake_run)
    ok = jobs.enqueue_analysis(own.consultation, AnalyseParams())
    assert jobs.work(once=True, poll=0.01) == 1
    ok.refresh_from_db()
    assert calls == [ok.pk] and ok.status == "done"

    def broken(run):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "run_analysis", broken)
    bad = jobs.enqueue_analysis(own.consultation, AnalyseParams())
    jobs.work(once=True, poll=0.01)
    bad.refresh_from_db()
    assert bad.status == "failed"


@pytest.mark.django_db(transaction=True)
def test_heartbeat_moves_while_running(own, monkeypatch):
    import time

    seen = []

    def slow(run):
        before = Run.objects.get(pk=run.pk).heartbeat_at
        time.sleep(0.35)
        seen.append(Run.objects.get(pk=run.pk).heartbeat_at > before)
        Run.objects.filter(pk=run.pk).update(status="done")
        return run

    monkeypatch.setattr(jobs, "run_analysis", slow)
    run = jobs.enqueue_analysis(own.consultation, AnalyseParams())
    jobs.run_job(jobs.claim_next("w"), heartbeat_every=0.1)
    assert seen == [True]
    run.refresh_from_db()
    assert run.status == "done"
