"""Evidence as plain data: one vote per raw tag a source gave."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LEVELS = ("track", "album", "artist")


@dataclass(frozen=True)
class Vote:
    """``source`` said ``raw`` about the track's ``level`` with ``weight`` (0..100)."""

    source: str          # lastfm, musicbrainz, musicbrainz_tags, claude
    level: str           # track, album or artist
    raw: str
    weight: float
    fetched_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "level": self.level, "raw": self.raw,
                "weight": round(self.weight, 3), "fetched_at": self.fetched_at}


def from_tags(source: str, level: str, tags: Iterable[tuple[str, float]], fetched_at: float = 0.0) -> list[Vote]:
    """Votes from (name, weight) pairs; weights below or at zero say nothing and are skipped."""
    return [Vote(source, level, str(name), float(weight), fetched_at) for name, weight in tags
            if name and float(weight) > 0]
