"""One writing run per database, so two cron jobs never interleave.

An advisory ``flock`` on ``<db>.lock``: the kernel drops it when the holder
dies, even by SIGKILL, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from enrich.errors import LockedError, StoreError


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


@contextmanager
def database_lock(db: Path, command: str) -> Iterator[None]:
    """Hold the write lock of ``db`` for the duration of the block."""
    path = lock_path(Path(db))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the lock file: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"{db}: another enrich run is using this database ({holder(fd)});"
                              " try again when it ends") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command, "since": time.time()}).encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(info["since"]))
        return f"'enrich {info['command']}', pid {info['pid']}, since {since}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"


def live_holder(db: Path) -> dict[str, Any] | None:
    """Who holds the write lock of ``db`` now ({pid, command, since}), or None when nobody does.

    Reads the holder's note and checks that its process is alive; only then is
    the lock itself probed (a shared probe, dropped at once), in case the pid
    was reused. A run left 'running' by a process that died holds nothing.
    """
    path = lock_path(Path(db))
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            info: dict[str, Any] = json.loads(os.pread(fd, 4096, 0) or b"{}")
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, another user's
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return info  # held for writing
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
