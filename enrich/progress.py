"""How long work tells the outside world how far it is.

Library code calls these methods; the CLI decides how they look (a bar on a
terminal, periodic plain lines under cron, nothing with -q).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, label: str, total: int | None) -> None:
        """A stage begins; ``total`` items are expected (``None`` if unknown)."""

    def advance(self, n: int = 1) -> None:
        """``n`` more items are finished (succeeded or failed)."""

    def finish(self) -> None:
        """The stage is over."""


class NoProgress:
    """Progress that shows nothing (tests, library use, -q)."""

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass
