"""Blocking work that a stopped command does not wait for.

``asyncio.to_thread`` runs in the loop's default executor, whose threads
``asyncio.run`` joins before it returns: a Ctrl-C during a long folder walk
waited for the whole walk. Work that may be dropped half-way (a walk, reading)
runs here instead, in a daemon thread of its own; writes that must finish keep
using ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


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
        try:
            result = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            settle(error=exc)
        else:
            settle(result)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future
