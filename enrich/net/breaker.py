"""Circuit breaker: after N failed attempts in a row a source is off for the run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Breaker:
    threshold: int
    failures: int = 0
    unreachable: int = 0  # attempts in a row that could not connect at all
    reason: str = ""  # set once open; never closes within a run

    @property
    def is_open(self) -> bool:
        return bool(self.reason)

    def success(self) -> None:
        self.failures = 0
        self.unreachable = 0

    def failure(self, why: str, unreachable_after: int | None = None) -> bool:
        """Count a failed attempt; True when this one opened the breaker.

        ``unreachable_after`` is given for attempts that could not connect at
        all: a source nobody can reach trips sooner than one that stumbles.
        """
        self.failures += 1
        self.unreachable = self.unreachable + 1 if unreachable_after else 0
        if not self.reason and unreachable_after and self.unreachable >= unreachable_after:
            self.reason = f"unreachable: {self.unreachable} attempts in a row could not connect (last: {why})"
            return True
        if not self.reason and self.failures >= self.threshold:
            self.reason = f"{self.failures} failures in a row (last: {why})"
            return True
        return False

    def trip(self, why: str) -> bool:
        if not self.reason:
            self.reason = why
            return True
        return False
