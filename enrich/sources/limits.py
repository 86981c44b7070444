"""How much of a track's tags the web sources are sent: the one place that caps it.

Tags are data from anywhere: a title of a megabyte once became a 250,000-token
Claude request and a Last.fm URL refused with HTTP 400 on every run. Real
names fit well within these caps (the longest classical titles run to about
200 characters); whatever is longer is cut, at a word boundary when one is near.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, TypeVar

MAX_ARTIST = 120
MAX_TITLE = 250
MAX_ALBUM = 250
MAX_TAG = 60           # one tag from a source, passed on to Claude as a hint
MAX_HINTS = 10         # hints per track in a Claude request
# One MusicBrainz search asks several artists at once; their escaped names joined
# stay under this, so the URL (percent-encoded: up to 9 bytes a character) stays
# under the 8 KB that servers accept.
MAX_SEARCH_QUERY = 800


def capped(text: str | None, limit: int) -> str | None:
    """``text`` cut to at most ``limit`` characters (at a space in its last fifth, if any)."""
    if text is None or len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit * 4 // 5 else cut).rstrip()


class Named(Protocol):
    @property
    def artist(self) -> str | None: ...
    @property
    def album_artist(self) -> str | None: ...
    @property
    def album(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...


T = TypeVar("T", bound=Named)


def capped_names(track: T) -> T:
    """A copy of a track (a dataclass) whose names are within the caps; the same object when they are."""
    changes = {}
    for name, limit in (("artist", MAX_ARTIST), ("album_artist", MAX_ARTIST), ("album", MAX_ALBUM),
                        ("title", MAX_TITLE)):
        value = getattr(track, name)
        cut = capped(value, limit)
        if cut is not value:
            changes[name] = cut
    return dataclasses.replace(track, **changes) if changes else track  # type: ignore[type-var]  # a dataclass


def capped_hints(hints: tuple[str, ...] | list[str]) -> list[str]:
    return [h for h in (capped(h, MAX_TAG) for h in list(hints)[:MAX_HINTS]) if h]
