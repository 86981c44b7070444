"""Per-source counters of one run, for the end-of-run report."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SourceStats:
    requests: int = 0  # sent over the network (each retry counts)
    cache_hits: int = 0
    cache_misses: int = 0
    retries: int = 0
    pauses: int = 0  # times the whole source was paused (429/503)
    waited_s: float = 0.0  # time spent waiting on rate limits, pauses and back-off
    not_found: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # final failures by reason kind
    breaker: str | None = None  # why the source was switched off, if it was

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = dict(self.errors)
        d["waited_s"] = round(self.waited_s, 3)
        return d
