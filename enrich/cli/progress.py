"""Progress on stderr: a live bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def clock_text(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StreamProgress:
    """Shared arithmetic: rate over the stage, ETA from the rate."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.clock = clock
        self.label, self.done, self.began = "", 0, 0.0
        self.total: int | None = None

    def start(self, label: str, total: int | None) -> None:
        self.label, self.total, self.done, self.began = label, total, 0, self.clock()
        self.show(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.show()

    def finish(self) -> None:
        self.show(force=True)
        self.end_line()

    def status(self) -> str:
        elapsed = max(self.clock() - self.began, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done}"
        if self.total:
            text += f"/{self.total} ({100 * self.done / self.total:.0f}%)"
        text += f" {rate:.1f}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f" ETA {clock_text((self.total - self.done) / rate)}"
        else:
            text += f" {clock_text(elapsed)}"
        return text

    def show(self, force: bool = False) -> None:
        raise NotImplementedError

    def end_line(self) -> None:
        pass

    def clear(self) -> None:
        """Make room for a log line."""


class TerminalProgress(StreamProgress):
    """A bar redrawn in place, at most ten times a second."""

    width = 28

    def __init__(self, stream: TextIO = sys.stderr, clock: Callable[[], float] = time.monotonic):
        super().__init__(stream, clock)
        self.last = 0.0
        self.drawn = False

    def show(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        bar = ""
        if self.total:
            filled = int(self.width * min(self.done, self.total) / self.total)
            bar = "[" + "#" * filled + "-" * (self.width - filled) + "] "
        self.stream.write("\r\x1b[K" + bar + self.status())
        self.stream.flush()
        self.drawn = True

    def end_line(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False


class PlainProgress(StreamProgress):
    """One line every ``every`` seconds: readable in a cron mail or a log."""

    def __init__(self, stream: TextIO = sys.stderr, every: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__(stream, clock)
        self.every = every
        self.last = float("-inf")

    def show(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.last < self.every:
            return
        self.last = now
        self.stream.write(self.status() + "\n")
        self.stream.flush()
