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


@pytest.mark.django_db(transaction=True)  # the worker closes connections between jobs
def test_upload_is_queued_and_imported_by_a_worker(client, settings, tmp_path):
    """The request only saves the files and queues the import; a worker runs it."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from heard.store.models import Consultation, Membership

    settings.HEARD_HOME = tmp_path
    boss = get_user_model().objects.create_user("boss@example.org", "boss@example.org", "x" * 12)
    Membership.objects.create(user=boss, consultation=None, role="admin")
    client.force_login(boss)
    reply = client.post(reverse("heard:upload-new"), {
        "name": "parks", "analyse": "1",
        "files": SimpleUploadedFile("answers.csv", b"id,q1\nr1,Too dear\nr2,More buses\n"),
    })
    run = Run.objects.get(kind="import")
    assert reply.status_code == 302 and reply["Location"].endswith(f"/jobs/{run.pk}/?follow=1")
    parks = Consultation.objects.get(name="parks")
    assert not parks.questions.exists() and run.status == "pending"  # nothing imported yet
    assert Membership.objects.get(consultation=parks).user == boss
    assert jobs.work(once=True) >= 1
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert parks.questions.get(key="q1").responses.count() == 2
    assert "Imported 2 answers from 2 new respondents." in run.state["messages"]
    assert not any((tmp_path / "uploads").iterdir())  # the raw upload is removed
    analysis = Run.objects.get(pk=run.state["next_run"])
    assert analysis.kind == "analyse"  # queued, as the form asked
    follow = client.get(reply["Location"])
    assert follow.status_code == 302 and f"/jobs/{analysis.pk}/" in follow["Location"]


@pytest.mark.django_db(transaction=True)  # the worker closes connections between jobs
def test_failed_upload_names_the_file_only(client, settings, tmp_path):
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from heard.store.models import Membership

    settings.HEARD_HOME = tmp_path
    boss = get_user_model().objects.create_user("boss@example.org", "boss@example.org", "x" * 12)
    Membership.objects.create(user=boss, consultation=None, role="admin")
    client.force_login(boss)
    client.post(reverse("heard:upload-new"), {
        "name": "broken", "analyse": "0",
        "files": SimpleUploadedFile("answers.csv", b"id,q1\n"),
    })
    jobs.work(once=True)
    run = Run.objects.get(kind="import")
    assert run.status == "failed"
    assert run.error.startswith("Cannot import: answers.csv")
    assert str(tmp_path) not in run.error


def test_a_second_analysis_is_not_queued_while_one_is_live(as_role, own):
    """Run the analysis or Re-map while a job is queued or running: the live job's page
    is shown with a message, and nothing new is queued or recorded."""
    from django.urls import reverse

    from heard.store.models import AuditEvent

    live = jobs.enqueue_analysis(own.consultation, AnalyseParams(), label="Analyse all questions")
    runs = Run.objects.filter(consultation=own.consultation)
    before = set(runs.values_list("pk", flat=True))
    lead = as_role("lead")
    job_page = reverse("heard:job", args=["own", live.pk])
    for url in (reverse("heard:analyse", args=["own"]),
                reverse("heard:remap", args=["own", own.question.pk])):
        reply = lead.post(url, {"rediscover": "1"})
        assert reply.status_code == 302 and reply["Location"] == job_page
        page = lead.get(job_page).content.decode()
        assert f"Analyse all questions (job {live.pk}) has not finished yet" in page
    assert set(runs.values_list("pk", flat=True)) == before
    assert not AuditEvent.objects.filter(action="re-map").exists()
    # once it has finished, the next analysis starts
    jobs.claim_next("worker")
    Run.objects.filter(pk=live.pk).update(status=Run.Status.DONE)
    reply = lead.post(reverse("heard:analyse", args=["own"]))
    new = set(runs.values_list("pk", flat=True)) - before
    assert len(new) == 1 and reply["Location"] == reverse("heard:job", args=["own", new.pop()])
