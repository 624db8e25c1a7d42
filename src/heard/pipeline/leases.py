"""Run leases: one live analysis per consultation.

Two runs on one consultation at once write over each other's themes and assignments.
Before a run touches the results it takes the consultation's lease, a
:class:`~heard.store.models.RunLease` row (one per consultation, by a unique key). It keeps
the lease alive with a heartbeat and gives it back when it ends. A second run finds the
lease held and stops with :class:`LeaseHeld` (or waits, with ``wait``); the lease of a run
that crashed expires after ``HEARD_LEASE_SECONDS`` and the next run takes it over.

Every step is one atomic statement (an INSERT guarded by the unique key, or a conditional
UPDATE / DELETE that names the holder), so it is race-free on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from heard.store.models import Consultation, Run, RunLease

log = logging.getLogger(__name__)

#: Seconds a lease lives without a heartbeat (a crashed run blocks others this long).
DEFAULT_LEASE_SECONDS = 60.0


def lease_seconds() -> float:
    """The lease time: HEARD_LEASE_SECONDS, else 60 s."""
    try:
        value = float(os.environ.get("HEARD_LEASE_SECONDS", ""))
    except ValueError:
        return DEFAULT_LEASE_SECONDS
    return value if value > 0 else DEFAULT_LEASE_SECONDS


class LeaseHeld(Exception):
    """Another live run holds the consultation's lease."""

    def __init__(self, consultation: Consultation, lease: RunLease | None) -> None:
        self.consultation = consultation
        self.lease = lease
        run = f"run {lease.run_id}" if lease and lease.run_id else "another run"
        holder = f" ({lease.holder.rsplit(':', 1)[0]})" if lease else ""
        expires = (f"; if that run has crashed, its lease expires at "
                   f"{lease.expires_at:%H:%M:%S} UTC") if lease else ""
        super().__init__(
            f"{consultation.name!r} is being analysed by {run}{holder}{expires}. "
            "Wait for it to finish (see `heard status` or the web app's jobs), or run again "
            "with --wait."
        )


def new_holder() -> str:
    """A name no other holder has: host, process, thread and a random token."""
    return (f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:"
            f"{uuid.uuid4().hex[:12]}")[-200:]


def current(consultation: Consultation) -> RunLease | None:
    """The live lease on ``consultation`` (None when free or expired)."""
    return RunLease.objects.filter(
        consultation=consultation, expires_at__gt=timezone.now()
    ).first()


def live_consultations() -> Q:
    """A filter on Run: runs whose consultation is leased by a live holder."""
    return Q(consultation__lease__expires_at__gt=timezone.now())


def try_acquire(consultation: Consultation, holder: str, run: Run | None = None) -> bool:
    """Take the lease if it is free, expired or already ours; True when we hold it."""
    now = timezone.now()
    expires = now + timedelta(seconds=lease_seconds())
    run_id = run.pk if run is not None else None
    taken = RunLease.objects.filter(consultation=consultation).filter(
        Q(expires_at__lte=now) | Q(holder=holder)
    ).update(holder=holder, run_id=run_id, acquired_at=now, expires_at=expires)
    if taken:
        return True
    try:
        with transaction.atomic():
            RunLease.objects.create(consultation=consultation, holder=holder, run_id=run_id,
                                    acquired_at=now, expires_at=expires)
        return True
    except IntegrityError:  # someone else's row exists and is live
        return False


def renew(consultation: Consultation, holder: str) -> bool:
    """Move our lease's expiry forward; False when it is no longer ours."""
    expires = timezone.now() + timedelta(seconds=lease_seconds())
    return bool(RunLease.objects.filter(consultation=consultation, holder=holder)
                .update(expires_at=expires))


def release(consultation: Consultation, holder: str) -> None:
    RunLease.objects.filter(consultation=consultation, holder=holder).delete()


def ensure_free(consultation: Consultation) -> None:
    """Raise :class:`LeaseHeld` when a live run holds ``consultation``."""
    lease = current(consultation)
    if lease is not None:
        raise LeaseHeld(consultation, lease)


def wait_for_lease(consultation: Consultation, wait: float) -> None:
    """Wait up to ``wait`` seconds for the consultation's lease to be free; then
    :class:`LeaseHeld` if it is still held."""
    deadline = time.monotonic() + wait
    while (lease := current(consultation)) is not None:
        if time.monotonic() >= deadline:
            raise LeaseHeld(consultation, lease)
        time.sleep(min(1.0, max(lease_seconds() / 10, 0.1)))


class _Heartbeat(threading.Thread):
    def __init__(self, consultation: Consultation, holder: str) -> None:
        super().__init__(daemon=True, name=f"heard-lease-{consultation.pk}")
        self.consultation, self.holder = consultation, holder
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        every = max(lease_seconds() / 4, 0.2)
        try:
            while not self.stopped.wait(every):
                try:
                    if not renew(self.consultation, self.holder):
                        self.lost = True
                        log.warning("lost the lease on consultation %s", self.consultation.pk)
                        return
                except Exception:  # a busy database: try again on the next beat
                    log.exception("lease heartbeat failed")
        finally:
            close_old_connections()


@contextmanager
def hold(consultation: Consultation, run: Run | None = None, *,
         wait: float = 0.0) -> Iterator[str]:
    """Hold the consultation's lease for the block, with a heartbeat; yields the holder.

    Raises :class:`LeaseHeld` when another live run holds it after ``wait`` seconds.
    """
    holder = new_holder()
    deadline = time.monotonic() + wait
    while not try_acquire(consultation, holder, run):
        if time.monotonic() >= deadline:
            raise LeaseHeld(consultation, current(consultation))
        time.sleep(min(1.0, max(lease_seconds() / 10, 0.1)))
    beat = _Heartbeat(consultation, holder)
    beat.start()
    try:
        yield holder
    finally:
        beat.stopped.set()
        beat.join(timeout=5)
        release(consultation, holder)


F = TypeVar("F", bound=Callable)


def holds_run_lease(function: F) -> F:
    """Decorate ``f(run, …)`` so it runs holding ``run.consultation``'s lease."""

    @functools.wraps(function)
    def wrapper(run: Run, *args, **kwargs):
        with hold(run.consultation, run, wait=float(kwargs.pop("lease_wait", 0.0) or 0.0)):
            return function(run, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
