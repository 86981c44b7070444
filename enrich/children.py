"""Child processes are the parent's to stop.

Ctrl-C in a terminal signals the whole foreground process group, children
included: a reader or analysis process still importing its modules would die
with a traceback of its own, and the parent would take that for a failed
start. So children start with SIGINT blocked or ignored (both survive fork and
exec); the parent alone handles Ctrl-C and stops them. A signal that arrives
meanwhile waits, blocked, for the parent: it is not lost.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread for the block: processes started inside inherit it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives Python's signals; children of others are out of reach
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def sigint_ignored_by_children() -> Iterator[None]:
    """Processes exec'd inside start with SIGINT ignored (for spawners that reset the mask).

    SIGINT is blocked first, so one that arrives while the parent's disposition
    is "ignore" stays pending and reaches the parent's own handler afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with sigint_blocked():
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, handler)


def silence_native_output(*fds: int) -> None:
    """Point ``fds`` (stdout, stderr) of this child process at /dev/null.

    Native decoders (libmpg123, ffmpeg, libsndfile) print warnings straight to
    file descriptor 2, past Python and past ``-q``, tearing the progress bar and
    filling cron mail. What matters reaches the parent as each file's one-line
    error; a child that dies is named by how it ended.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(devnull, fd)
    finally:
        os.close(devnull)
