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
from heard.pipeline.leases import LeaseHeld, live_consultations
from heard.store.models import Consultation, Run

log = logging.getLogger(__name__)

#: Seconds between heartbeats of a running job.
HEARTBEAT_EVERY = 5.0
#: A running job whose heartbeat is older than this many seconds belongs to a dead worker.
STALE_AFTER = 60.0
JOB_KINDS = ("analyse", "import")
#: A job in one of these states is live: queued, or being worked on.
LIVE = (Run.Status.PENDING, Run.Status.RUNNING)
#: What each stage of a question's analysis does, in words.
STAGE_WORDS = {
    "load": "loading the answers",
    "prepare": "preparing the answers",
    "duplicates": "finding duplicates and campaigns",
    "embed": "embedding the answers",
    "themes": "finding themes",
    "stance": "reading stance",
    "evidence": "flagging evidence",
    "save": "saving",
    "done": "saving",
}
PASS_WORDS = {"first": "First pass (quick)", "refine": "Refining"}


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


def live_job(consultation: Consultation) -> Run | None:
    """The consultation's queued or running job (analysis or import), oldest first."""
    return (
        Run.objects.filter(consultation=consultation, kind__in=JOB_KINDS, status__in=LIVE)
        .order_by("created_at", "id")
        .first()
    )


def first_pass_only(run: Run | None) -> set[int]:
    """Ids of the questions whose themes are from ``run``'s first pass, not yet refined."""
    if run is None or run.status not in LIVE:
        return set()
    state = run.state or {}
    return {int(q) for q in state.get("first_pass", {})} - set(state.get("done", []))


def questions_ready(run: Run) -> set[int]:
    """Ids of the questions ``run`` has saved themes for so far (first pass or final)."""
    state = run.state or {}
    return {int(q) for q in state.get("first_pass", {})} | set(state.get("done", []))


def seconds_left(run: Run, now=None) -> float | None:
    """Time left, extrapolated from the time taken so far (None until it can be told)."""
    if run.status != Run.Status.RUNNING or run.started_at is None or run.progress < 0.02:
        return None
    elapsed = ((now or timezone.now()) - run.started_at).total_seconds()
    if elapsed < 2:
        return None
    return max(0.0, elapsed * (1 - run.progress) / run.progress)


def _about(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s left"
    return f"about {round(seconds / 60)} min left"


def progress_line(run: Run, now=None) -> str:
    """What a job is doing, in words: "Refining · question 2 of 3 (Why?) · embedding the
    answers, 6,000 of 10,000 · about 40 s left". Empty when there is nothing to say."""
    if run.status == Run.Status.PENDING:
        return ""
    if run.status != Run.Status.RUNNING:
        return "" if run.stage in ("", "done") else f"stopped at {run.stage}"
    if run.kind != "analyse":
        parts = [run.stage or "working"]
    else:
        now_doing = (run.state or {}).get("progress") or {}
        parts = [PASS_WORDS[now_doing["pass"]]] if now_doing.get("pass") in PASS_WORDS else []
        if now_doing.get("question"):
            text = now_doing.get("text") or now_doing["question"]
            text = text if len(text) <= 50 else text[:49].rstrip() + "…"
            parts.append(f"question {now_doing['index']} of {now_doing['of']} ({text})")
        stage = now_doing.get("stage") or run.stage.rpartition(": ")[2]
        words = STAGE_WORDS.get(stage, stage)
        if now_doing.get("total"):
            thing = "answers" if stage == "embed" else "passages"
            words = (f"{words}, {now_doing['done']:,} of {now_doing['total']:,} {thing} embedded"
                     if stage != "embed" else
                     f"embedding {now_doing['done']:,} of {now_doing['total']:,} {thing}")
        if words:
            parts.append(words)
    left = seconds_left(run, now)
    if left is not None:
        parts.append(_about(left))
    return " · ".join(parts)


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
    for run_id in Run.objects.filter(status=Run.Status.PENDING, kind__in=JOB_KINDS).exclude(
        live_consultations()  # another run is analysing that consultation: later
    ).order_by("created_at", "id").values_list("id", flat=True)[:5]:
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
            except LeaseHeld:  # a run from the CLI took the consultation first: re-queue
                log.info("run %s waits: %s", run.pk, "consultation busy")
                Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
                    status=Run.Status.PENDING, worker=""
                )
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


def warm_up() -> None:
    """Load what every analysis needs (the core's libraries, the language model) before the
    first job arrives, so that its first themes are not delayed by it."""
    try:
        import heard.analysis.analyse  # noqa: F401
        import heard.analysis.clustering  # noqa: F401
        import heard.analysis.stance  # noqa: F401
        from heard.analysis.prepare import LanguageDetector

        LanguageDetector().detect("Loading the language model before the first job.")
    except Exception:  # a job reports the same problem clearly when it runs
        log.warning("could not load the analysis libraries ahead of the first job",
                    exc_info=True)


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
    if not once:
        warm_up()
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
