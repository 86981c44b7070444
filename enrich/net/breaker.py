"""Circuit breaker: after N failed attempts in a row a source is off for the run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Breaker:
    threshold: int
    failures: int = 0
    reason: str | None = None  # set once open; never closes within a run

    @property
    def is_open(self) -> bool:
        return self.reason is not None

    def success(self) -> None:
        self.failures = 0

    def failure(self, why: str) -> bool:
        """Count a failed attempt; True when this one opened the breaker."""
        self.failures += 1
        if self.reason is None and self.failures >= self.threshold:
            self.reason = f"{self.failures} failures in a row (last: {why})"
            return True
        return False

    def trip(self, why: str) -> bool:
        if self.reason is None:
            self.reason = why
            return True
        return False
