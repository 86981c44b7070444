"""One rate budget per service for every enrich process on the machine.

A token bucket kept as GCRA (one number: the theoretical arrival time, TAT, of
the next request) in a small file beside the cache, ``<cache_dir>/rate/``,
read and moved under an fcntl lock. Every process that shares the cache dir (a
nightly ``genres`` and a ``genres --dry-run`` beside it, two ``genres`` on
different databases) takes its tokens from the same bucket, so together they
send no faster than one would. A token is taken only when it can be used at
once (not reserved ahead): a process that stalls and wakes late then sends one
request, not all it had reserved at once. Times are CLOCK_MONOTONIC seconds,
which every process on the machine shares; a TAT further ahead than any
pause allows (left from before a reboot) is ignored.

Without a writable folder the bucket lives in memory: one process, one budget.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import urllib.parse
from collections.abc import Callable
from pathlib import Path

_TAT = struct.Struct("<d")
# A stored TAT more than this ahead of now cannot be ours (a pause is capped by
# [http] max_wait); it is stale, e.g. from before a reboot.
_STALE_AFTER_S = 24 * 3600.0


def budget_file(cache_dir: Path, source: str, base_url: str) -> Path:
    """The bucket's file: per source and per host it talks to (credentials left out)."""
    parts = urllib.parse.urlsplit(base_url)
    origin = f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"
    return Path(cache_dir) / "rate" / f"{source}-{hashlib.sha256(origin.encode()).hexdigest()[:16]}.bucket"


class Budget:
    """``rate`` requests per second, ``burst`` at once, shared through ``path``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float], path: Path | None = None):
        self.interval = 1.0 / rate
        self.tolerance = (max(1, burst) - 1) * self.interval
        self.clock = clock
        self.path = path
        self._fd: int | None = None
        self._tat = 0.0  # the in-memory state, when there is no file
        self.shared = path is not None

    def take(self) -> float:
        """Take a token if one is there now (0.0), else the seconds until one may be."""
        return self._update(self._take)

    def hold(self, seconds: float) -> None:
        """No token for anyone sharing this budget for ``seconds`` from now
        (a 429/503 pause reaches the other processes too)."""
        until = self.clock() + seconds + self.tolerance
        self._update(lambda tat, now: (max(tat, until), 0.0))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ------------------------------------------------------------ internals

    def _take(self, tat: float, now: float) -> tuple[float, float]:
        wait = tat - self.tolerance - now
        if wait > 0:
            return tat, wait
        return max(tat, now) + self.interval, 0.0

    def _update(self, step: Callable[[float, float], tuple[float, float]]) -> float:
        fd = self._open()
        if fd is None:
            self._tat, result = step(self._tat, self.clock())
            return result
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(fd, _TAT.size, 0)
                now = self.clock()
                tat = _TAT.unpack(raw)[0] if len(raw) == _TAT.size else 0.0
                if tat - now > _STALE_AFTER_S:
                    tat = 0.0
                tat, result = step(tat, now)
                os.pwrite(fd, _TAT.pack(tat), 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            self.close()
            self.path, self.shared = None, False  # the file failed us: go on alone, in memory
            self._tat, result = step(self._tat, self.clock())
        return result

    def _open(self) -> int | None:
        if self._fd is None and self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self.path, self.shared = None, False  # go on alone, in memory
        return self._fd
