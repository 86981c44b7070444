"""Blocking work that a stopped command does not wait for.

``asyncio.to_thread`` runs in the loop's default executor, whose threads
``asyncio.run`` joins before it returns: a Ctrl-C during a long folder walk
waited for the whole walk. Work that may be dropped half-way (a walk, reading)
runs here instead, in a daemon thread of its own; writes that must finish keep
using ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def droppable(fn: Callable[..., T], *args: Any, name: str = "enrich-background") -> T:
    """``fn(*args)`` in a daemon thread; cancelling the caller abandons it instead of waiting."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any = None, error: BaseException | None = None) -> None:
        def land() -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(land)

    def target() -> None:
        # Signals are the main thread's: one delivered here could land while the main thread has
        # SIGINT ignored for a moment (starting a child process) and be lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            result = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            settle(error=exc)
        else:
            settle(result)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future


class Dropped(Exception):
    """The side that takes from a :class:`Handoff` has gone: the thread should stop."""


class Handoff(Generic[T]):
    """Items from a daemon thread to the event loop, at most ``size`` waiting: the thread blocks for room.

    The thread calls :meth:`put` and, at the very end, :meth:`end`; the loop awaits :meth:`get`
    (None once ended) and calls :meth:`close` when it stops taking, which makes a blocked
    ``put`` raise :class:`Dropped`.
    """

    def __init__(self, size: int):
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[T | None] = asyncio.Queue()
        self.room = threading.Semaphore(size)
        self.closed = threading.Event()

    def put(self, item: T) -> None:
        while not self.room.acquire(timeout=0.2):
            if self.closed.is_set():
                raise Dropped()
        self.hand(item)

    def end(self) -> None:
        self.hand(None)

    def hand(self, item: T | None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody takes any more
            raise Dropped() from None

    async def get(self) -> T | None:
        item = await self.queue.get()
        if item is not None:
            self.room.release()
        return item

    def close(self) -> None:
        self.closed.set()

    def call(self, work: Coroutine[Any, Any, R]) -> R:
        """From the thread: run ``work`` on the loop and wait for its result."""
        if self.closed.is_set():
            work.close()
            raise Dropped()
        try:
            future = asyncio.run_coroutine_threadsafe(work, self.loop)
        except RuntimeError:
            work.close()
            raise Dropped() from None
        while True:
            try:
                return future.result(timeout=0.2)
            except concurrent.futures.TimeoutError:
                if self.closed.is_set():
                    future.cancel()
                    raise Dropped() from None
