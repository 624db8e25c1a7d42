"""Durable background jobs, kept in the database as :class:`~heard.store.models.Run` rows.

A job is a run with status ``pending``. A worker (``heard worker``, or the thread that
``heard serve`` starts) claims the oldest pending job with a conditional UPDATE, so two
workers never take the same job; it then runs it, records progress and a heartbeat, and
honours cancellation. When a worker starts it re-queues jobs left ``running`` by a worker
whose heartbeat stopped, and ``run_analysis`` resumes them question by question.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone

from heard.pipeline.analysis import AnalyseParams, run_analysis
from heard.pipeline.import_jobs import KIND as IMPORT_KIND
from heard.pipeline.import_jobs import run_import_job
from heard.store.models import Consultation, Run

log = logging.getLogger(__name__)

#: Seconds between heartbeats of a running job.
HEARTBEAT_EVERY = 5.0
#: A running job whose heartbeat is older than this many seconds belongs to a dead worker.
STALE_AFTER = 60.0
JOB_KINDS = ("analyse", "import")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def enqueue_analysis(
    consultation: Consultation, params: AnalyseParams, *, user=None, label: str = ""
) -> Run:
    """Queue an analysis run; a worker picks it up. Returns the pending run."""
    return Run.objects.create(
        consultation=consultation,
        kind="analyse",
        status=Run.Status.PENDING,
        params=params.as_dict(),
        seed=params.seed,
        state={"done": [], "label": label} if label else {"done": []},
        created_by=user if user is not None and user.is_authenticated else None,
    )


def request_cancel(run: Run) -> Run:
    """Ask a job to stop. A pending job is cancelled at once; a running one between stages."""
    Run.objects.filter(pk=run.pk, status=Run.Status.PENDING).update(
        status=Run.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(cancel_requested=True)
    run.refresh_from_db()
    return run


def requeue_stale(stale_after: float = STALE_AFTER) -> int:
    """Put jobs whose worker stopped beating back in the queue; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    stale = Run.objects.filter(
        status=Run.Status.RUNNING, kind__in=JOB_KINDS, heartbeat_at__lt=cutoff
    )
    count = 0
    for run in stale:
        if run.cancel_requested:
            count += Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
                status=Run.Status.CANCELLED, finished_at=timezone.now()
            )
        else:
            count += Run.objects.filter(
                pk=run.pk, status=Run.Status.RUNNING, heartbeat_at__lt=cutoff
            ).update(status=Run.Status.PENDING, worker="")
            log.info("re-queued run %s left running by %s", run.pk, run.worker)
    return count


def claim_next(worker: str) -> Run | None:
    """Atomically take the oldest pending job (None when the queue is empty)."""
    for run_id in Run.objects.filter(status=Run.Status.PENDING, kind__in=JOB_KINDS).order_by(
        "created_at", "id"
    ).values_list("id", flat=True)[:5]:
        taken = Run.objects.filter(pk=run_id, status=Run.Status.PENDING).update(
            status=Run.Status.RUNNING, worker=worker, heartbeat_at=timezone.now()
        )
        if taken:
            return Run.objects.get(pk=run_id)
    return None


class _Heartbeat(threading.Thread):
    """Touch ``heartbeat_at`` every few seconds while a job runs."""

    def __init__(self, run_id: int, every: float) -> None:
        super().__init__(daemon=True, name=f"heard-heartbeat-{run_id}")
        self.run_id, self.every = run_id, every
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # e.g. the store busy with the job's own write: try later
                    log.warning("heartbeat of run %s missed", self.run_id, exc_info=True)
        finally:
            close_old_connections()


def run_job(run: Run, heartbeat_every: float = HEARTBEAT_EVERY) -> Run:
    """Run one claimed job to its end (done, failed or cancelled)."""
    beat = _Heartbeat(run.pk, heartbeat_every)
    beat.start()
    try:
        if run.cancel_requested:
            Run.objects.filter(pk=run.pk).update(
                status=Run.Status.CANCELLED, finished_at=timezone.now()
            )
        else:
            try:
                if run.kind == IMPORT_KIND:
                    run_import_job(run)
                else:
                    run_analysis(run)
            except Exception:  # recorded on the run by run_analysis; the worker carries on
                log.exception("run %s (%s) failed", run.pk, run.kind)
                Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
                    status=Run.Status.FAILED, finished_at=timezone.now()
                )
                Run.objects.filter(pk=run.pk, error="").update(
                    error="The job stopped because of an error in the server; it is in the "
                    f"server's log under run {run.pk}."
                )
    finally:
        beat.stopped.set()
        beat.join(timeout=heartbeat_every + 1)
    run.refresh_from_db()
    return run


def work(
    stop: threading.Event | None = None,
    *,
    poll: float = 1.0,
    once: bool = False,
    stale_after: float = STALE_AFTER,
) -> int:
    """Process jobs until ``stop`` is set (or the queue is empty, with ``once``).

    Returns the number of jobs run.
    """
    stop = stop or threading.Event()
    name = worker_name()
    done = 0
    last_sweep = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - last_sweep > stale_after / 2:
                requeue_stale(stale_after)
                last_sweep = time.monotonic()
            run = claim_next(name)
            if run is None:
                if once:
                    break
                stop.wait(poll)
                continue
            run_job(run)
            done += 1
        except Exception:  # a database hiccup must not kill a long-lived worker
            log.exception("worker error")
            if once:
                raise
            stop.wait(poll)
        finally:
            close_old_connections()
    return done


def start_worker_thread(poll: float = 1.0) -> tuple[threading.Thread, threading.Event]:
    """A worker inside the current process (used by `heard serve`)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=work, args=(stop,), kwargs={"poll": poll}, daemon=True, name="heard-worker"
    )
    thread.start()
    return thread, stop
