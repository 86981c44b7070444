"""The genres already in a file: one more source of votes, and never lost when writing (pure).

A genre the user set by hand is evidence like any other (source ``file``,
weighed by ``[genres.weights] file``). When genres are written back with
``[genres] keep_existing`` (the default), the file keeps what it had and
only gains what enrich found.
"""

from __future__ import annotations

import json

from enrich.genres.normalise import fold
from enrich.genres.votes import Vote

SOURCE = "file"


def stored_list(tag_genres: str | None) -> list[str]:
    """The JSON list kept in ``tracks.tag_genres``; anything unreadable counts as none."""
    try:
        found = json.loads(tag_genres or "[]")
    except ValueError:
        return []
    return [str(g) for g in found if str(g).strip()] if isinstance(found, list) else []


def file_votes(tag_genres: str | None, level: str = "track") -> list[Vote]:
    """One full-weight vote per genre in the file, at ``level``."""
    return [Vote(SOURCE, level, genre.strip(), 100.0) for genre in stored_list(tag_genres)]


def genres_to_write(current: list[str], found: list[str], keep_existing: bool) -> list[str]:
    """What the file should hold: the found genres, after the file's own when they are kept.

    A found genre that the file already has in another spelling ('House' / 'house') is not added twice.
    """
    if not keep_existing:
        return list(found)
    have = {fold(g) for g in current}
    return [*current, *(g for g in found if fold(g) not in have)]
