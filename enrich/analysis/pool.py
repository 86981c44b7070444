"""A process pool for analysis that loses only the file a worker dies on.

Each worker is a process with its own pipe, so the parent always knows which
file a worker holds. One async *slot* per worker feeds it a job at a time and
waits on the pipe and the process sentinel together:

- a reply: hand it on; after ``max_tasks`` replies the worker is replaced (memory stays flat);
- the process died (crash, OOM killer, kill -9): that file fails, its reason naming how the
  worker ended, and a fresh worker takes the slot;
- ``timeout`` passed: the worker is killed, the file fails, a fresh worker takes the slot.

Work in flight is one job per worker, so memory does not grow with the library.
Workers come from a fork server that has already imported the analysis code,
and each warms up once (filter banks, code paths) before its first job.
Nothing here imports numpy: the parent stays light.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from enrich.analysis.featureset import Features
from enrich.background import droppable
from enrich.children import sigint_ignored_by_children
from enrich.errors import EnrichError

if TYPE_CHECKING:  # only for annotations: the parent never imports the analysis code
    from multiprocessing.connection import Connection

    from enrich.analysis.settings import AnalysisConfig

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # s for a worker to import and warm up
STOP_GRACE = 5.0  # s a worker asked to exit may take before it is killed
WORKER_MODULE = "enrich.analysis.worker"
CHILD_PREAMBLE = "enrich.child_preamble"  # preloaded first: Ctrl-C and stdout/stderr are the parent's


@dataclass(frozen=True)
class Job:
    """One file for a worker (defined here, not in the worker, so the parent never imports numpy)."""

    track_id: int
    path: str


@dataclass(frozen=True)
class Reply:
    """A worker's answer to one job (here, so unpickling it in the parent loads nothing heavy)."""

    track_id: int
    features: Features | None
    error: str | None  # one-line reason when features is None
    cpu_seconds: float
    peak_rss_mb: float


@dataclass(frozen=True)
class Outcome:
    """What became of one job: features, or a one-line error."""

    job: Job
    features: Features | None
    error: str | None
    crashed: bool = False
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class PoolStats:
    workers_started: int = 0
    crashed: int = 0
    timed_out: int = 0
    recycled: int = 0
    peak_rss_mb: float = 0.0
    cpu_seconds: float = 0.0


_context: Any = None  # a multiprocessing context, made once


def context() -> Any:
    """The fork server context: children fork from a clean process that preloaded the analysis code."""
    global _context
    if _context is None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        _context = multiprocessing.get_context(method)
        if method == "forkserver":
            _context.set_forkserver_preload([CHILD_PREAMBLE, WORKER_MODULE])
    return _context


def start_fork_server() -> None:
    """Start the fork server now, from this (main) thread, with Ctrl-C ignored from its first moment.

    Its preload covers the seconds of importing numpy and scipy; this covers
    Python's own start-up before it. Later workers are forked from it.
    """
    if context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with sigint_ignored_by_children():
            forkserver.ensure_running()


def worker_entry(conn: Connection, settings: AnalysisConfig) -> None:
    """Process target; imports the heavy module only in the child."""
    import importlib

    importlib.import_module(WORKER_MODULE).serve(conn, settings)


_TIMEOUT = object()
_DIED = object()


class WorkerProcess:
    def __init__(self, settings: AnalysisConfig) -> None:
        ctx = context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=worker_entry, args=(child, settings), daemon=True, name="enrich-analysis")
        self.child_end = child
        self.tasks = 0

    async def start(self) -> None:
        # The first start waits for the fork server to import numpy and scipy (seconds):
        # in a thread, so Ctrl-C meanwhile stops the command at once.
        await droppable(self.process.start, name="enrich-analysis-start")
        self.child_end.close()

    @property
    def pid(self) -> int | None:
        pid: int | None = self.process.pid
        return pid

    async def receive(self, timeout: float) -> Any:
        """The next message, ``_DIED`` if the process ended, ``_TIMEOUT`` if nothing came in time."""
        loop = asyncio.get_running_loop()
        woken = loop.create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        fds = (self.conn.fileno(), self.process.sentinel)
        for fd in fds:
            loop.add_reader(fd, wake)
        try:
            await asyncio.wait_for(woken, timeout)
        except TimeoutError:
            return _TIMEOUT
        finally:
            for fd in fds:
                loop.remove_reader(fd)
        try:
            if self.conn.poll():
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        return _DIED

    def death_reason(self, what: str = "the analysis process died on this file") -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
            return "the analysis process stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"{what} ({name})"
        return f"{what} (exit status {code})"

    def kill(self, wait: bool = True) -> None:
        """SIGKILL; ``wait=False`` (the command is stopping) does not wait for the exit to be seen."""
        with contextlib.suppress(ValueError):  # never started
            if self.process.is_alive():
                self.process.kill()
            if wait:
                self.process.join(2.0)
        self.conn.close()

    async def stop(self) -> None:
        """Ask the worker to exit; kill it if it does not within the grace period."""
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        else:
            loop = asyncio.get_running_loop()
            gone = loop.create_future()
            loop.add_reader(self.process.sentinel, lambda: None if gone.done() else gone.set_result(None))
            try:
                await asyncio.wait_for(gone, STOP_GRACE)
            except TimeoutError:
                pass
            finally:
                loop.remove_reader(self.process.sentinel)
        self.kill()


class AnalysisPool:
    """``await AnalysisPool(n, settings, timeout=..., max_tasks=...).run(jobs, handle)``."""

    def __init__(self, workers: int, settings: AnalysisConfig, *, timeout: float, max_tasks: int,
                 start_timeout: float = START_TIMEOUT):
        self.size = max(1, workers)
        self.settings = settings
        self.timeout = timeout
        self.max_tasks = max(1, max_tasks)
        self.start_timeout = start_timeout
        self.stats = PoolStats()
        self.pids: set[int] = set()  # live worker pids (tests kill one on purpose)

    async def run(self, jobs: AsyncIterator[Job], handle: Callable[[Outcome], Awaitable[None]]) -> PoolStats:
        """Analyse every job from ``jobs``; ``handle`` gets each outcome as it comes."""
        start_fork_server()
        lock = asyncio.Lock()
        source = aiter(jobs)
        exhausted = False

        async def next_job() -> Job | None:
            nonlocal exhausted
            async with lock:
                if exhausted:
                    return None
                try:
                    return await anext(source)
                except StopAsyncIteration:
                    exhausted = True
                    return None

        try:
            async with asyncio.TaskGroup() as group:
                for i in range(self.size):
                    group.create_task(self.slot(next_job, handle), name=f"analysis-slot-{i}")
        except BaseExceptionGroup as group_error:
            # One clear error for the caller, not a group: the first is the cause.
            raise group_error.exceptions[0] from None
        return self.stats

    async def start_worker(self) -> WorkerProcess:
        failures = []
        for _ in range(2):
            worker = WorkerProcess(self.settings)
            await worker.start()
            self.stats.workers_started += 1
            try:
                reply = await worker.receive(self.start_timeout)
            except BaseException:  # stopped while it warmed up: it goes too, at once (its exit is
                worker.kill(wait=False)  # reported by a fork server that may still be importing)
                raise
            if reply == "ready" and worker.pid is not None:
                self.pids.add(worker.pid)
                return worker
            failures.append("did not start in time" if reply is _TIMEOUT else worker.death_reason("exited"))
            worker.kill()
        raise EnrichError(f"analysis processes cannot start ({'; '.join(failures)}); try `enrich analyze -v`")

    def retire(self, worker: WorkerProcess) -> None:
        self.pids.discard(worker.pid)

    async def slot(self, next_job: Callable[[], Awaitable[Job | None]],
                   handle: Callable[[Outcome], Awaitable[None]]) -> None:
        worker: WorkerProcess | None = None
        try:
            while (job := await next_job()) is not None:
                if worker is None:
                    worker = await self.start_worker()
                outcome, healthy = await self.ask(worker, job)
                if not healthy:
                    self.retire(worker)
                    worker.kill()
                    worker = None
                elif worker.tasks >= self.max_tasks:
                    self.stats.recycled += 1
                    self.retire(worker)
                    await worker.stop()
                    worker = None
                await handle(outcome)
        finally:
            if worker is not None:
                self.retire(worker)
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    worker.kill()  # quick: SIGKILL, and the fork server, long since started, reports it
                else:
                    await worker.stop()

    async def ask(self, worker: WorkerProcess, job: Job) -> tuple[Outcome, bool]:
        """Run one job on ``worker``: the outcome, and whether the worker is still usable."""
        try:
            worker.conn.send(job)
        except (BrokenPipeError, OSError):
            self.stats.crashed += 1
            return Outcome(job, None, worker.death_reason(), crashed=True), False
        reply = await worker.receive(self.timeout)
        worker.tasks += 1
        if reply is _TIMEOUT:
            self.stats.timed_out += 1
            log.warning("%s: analysis took longer than %.0f s; its process is replaced", job.path, self.timeout)
            why = f"analysis took longer than {self.timeout:g} s (analysis.timeout); stopped"
            return Outcome(job, None, why), False
        if reply is _DIED:
            self.stats.crashed += 1
            reason = worker.death_reason()
            log.warning("%s: %s; a fresh process takes over", job.path, reason)
            return Outcome(job, None, reason, crashed=True), False
        self.stats.cpu_seconds += reply.cpu_seconds
        self.stats.peak_rss_mb = max(self.stats.peak_rss_mb, reply.peak_rss_mb)
        return Outcome(job, reply.features, reply.error, False, reply.cpu_seconds, reply.peak_rss_mb), True
