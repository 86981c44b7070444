"""A track's exported row as the tag fields taggers import (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The names taggers use (Vorbis comments; Mp3tag and puddletag import these headers).
TAG_COLUMNS = ("path", "ARTIST", "ALBUMARTIST", "ALBUM", "TITLE", "DATE", "TRACKNUMBER", "DISCNUMBER", "GENRE",
               "BPM", "INITIALKEY")


def tag_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """One track as tag fields: genres joined with ';', BPM whole, key as 'Am' (as --write-tags writes)."""
    key = row["key"]
    initial = None
    if key:
        note, mode = key.split(" ")
        initial = note + ("m" if mode == "minor" else "")
    return {"path": row["path"], "ARTIST": row["artist"], "ALBUMARTIST": row["album_artist"],
            "ALBUM": row["album"], "TITLE": row["title"], "DATE": row["year"], "TRACKNUMBER": row["track"],
            "DISCNUMBER": row["disc"], "GENRE": ";".join(row["genres"]) or None,
            "BPM": None if row["bpm"] is None else round(row["bpm"]), "INITIALKEY": initial}
