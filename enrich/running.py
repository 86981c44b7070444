"""Running a command's coroutine to its end from plain (blocking) code.

`enrich.Library` and the command line both go through :func:`run`, so Ctrl-C
and SIGTERM end every long command the same way: the work is cancelled, what
was finished stays stored, and :class:`~enrich.errors.Interrupted` (exit 130)
says how to resume.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from enrich.errors import Interrupted

T = TypeVar("T")

INTERRUPTED = "interrupted; what was finished is saved; run the same command again to resume"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with SIGTERM treated like Ctrl-C: cancel, clean up, raise Interrupted."""

    async def guarded() -> T:
        task = asyncio.current_task()
        assert task is not None  # run by asyncio.run
        loop = asyncio.get_running_loop()
        # Signal handlers can be set only from the main thread; elsewhere the caller owns signals.
        handles_term = threading.current_thread() is threading.main_thread()
        if handles_term:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coro
        finally:
            if handles_term:
                loop.remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise Interrupted(INTERRUPTED) from None
