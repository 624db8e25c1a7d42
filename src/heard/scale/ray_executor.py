"""The run's chunked work on Ray workers (``pip install 'heard[ray]'``).

A thin adapter: :class:`RayExecutor` satisfies ``heard.analysis.executor.Executor``.
It starts one actor per worker (one CPU each); an actor loads the run's embedder once,
then runs whatever chunk task it is given (embedding, MinHash signatures, predictions).
Chunks go to whichever actor is free and the results come back in chunk order.

Every node of a cluster needs the same Heard version installed; the workers never
touch the store. A local instance is started without the dashboard or usage stats and
bound to the loopback address.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "Ray is not installed: pip install 'heard[ray]'"


class RayUnavailable(RuntimeError):
    """Ray is missing, or the cluster could not be reached."""


def import_ray() -> Any:
    """The ``ray`` module, with usage statistics off; :class:`RayUnavailable` if missing."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as error:
        raise RayUnavailable(INSTALL_HINT) from error
    return ray


@contextmanager
def _loopback_only() -> Iterator[None]:
    """Make Ray resolve "this node" to 127.0.0.1 while a local instance starts (otherwise
    it swaps 127.0.0.1 for the machine's network address and listens there)."""
    try:
        from ray._private import ray_constants
    except ImportError:
        ray_constants = None
    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):  # another Ray layout: its default
        yield
        return
    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def start_local(ray: Any, num_cpus: int | None = None, *, log_to_driver: bool = False) -> None:
    """Start a new single-machine Ray instance, offline and on loopback only."""
    with _loopback_only():
        ray.init(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=log_to_driver,
            logging_level=logging.WARNING,
        )


def connect(
    ray: Any, address: str, *, num_cpus: int | None = None, log_to_driver: bool = False
) -> str:
    """Join or start Ray; returns what was done, for the run's record.

    ``auto``: join the local instance (or ``RAY_ADDRESS``) if there is one, else start one.
    ``local``: always start a new local instance. Otherwise ``address`` is a cluster:
    ``ray://HOST:10001`` (Ray Client, from any machine) or ``HOST:6379`` (from a node).
    """
    if address in ("auto", "local"):
        if address == "auto":
            try:
                ray.init(address="auto", log_to_driver=log_to_driver, logging_level=logging.WARNING)
                return "auto (joined)"
            except ConnectionError:
                pass
        start_local(ray, num_cpus, log_to_driver=log_to_driver)
        return "local"
    _check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=log_to_driver, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as error:
        message = f"Could not connect to the Ray cluster at {address}: {error}"
        raise RayUnavailable(message) from error
    return address


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast on a cluster address nothing answers at (Ray itself retries for minutes).
    Loopback addresses are left to Ray, which maps them to this node's address."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or host in ("localhost", "127.0.0.1", "::1"):
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise RayUnavailable(f"Could not reach the Ray cluster at {address}: {error}") from error


def _chunk_worker(ray: Any) -> Any:
    """The actor class (defined here so that importing this module needs no Ray)."""

    @ray.remote(num_cpus=1)
    class ChunkWorker:
        def __init__(self, embedder: str | None) -> None:
            if embedder:  # load it once per worker, before the first chunk arrives
                from heard.analysis.executor import worker_embedder

                worker_embedder(embedder, threads=1)

        def run(self, fn: Callable[[Any], Any], chunk: Any) -> Any:
            return fn(chunk)

    return ChunkWorker


class RayExecutor:
    """Runs chunk tasks on Ray actors; see the module docstring.

    ``address``: ``auto``, ``local`` or a cluster address (see :func:`connect`); ignored
    when Ray is already initialised in this process. ``workers``: actors to start
    (default: every CPU of the cluster). ``embedder``: the name ``get_embedder`` knows,
    loaded by each actor at start. :meth:`close` stops the actors, and Ray too when this
    executor started or joined it.
    """

    remote = True

    def __init__(
        self,
        address: str = "auto",
        *,
        workers: int | None = None,
        embedder: str | None = None,
        log_to_driver: bool = False,
    ) -> None:
        ray = import_ray()
        from ray.util import ActorPool

        self._ray = ray
        self._owns_ray = not ray.is_initialized()
        self.address = (
            connect(ray, address, num_cpus=workers, log_to_driver=log_to_driver)
            if self._owns_ray
            else "existing"
        )
        self._actors: list[Any] = []
        try:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            self.workers = max(1, min(workers or cpus, cpus))
            worker_class = _chunk_worker(ray)
            self._actors = [worker_class.remote(embedder) for _ in range(self.workers)]
            self._pool = ActorPool(self._actors)
        except Exception:
            self.close()
            raise

    def map(self, fn: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
        if not chunks:
            return []
        fn_ref = self._ray.put(fn)  # pickled once, however many chunks
        return list(self._pool.map(lambda actor, chunk: actor.run.remote(fn_ref, chunk), chunks))

    def describe(self) -> dict:
        return {"runner": "ray", "address": self.address, "workers": self.workers}

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
