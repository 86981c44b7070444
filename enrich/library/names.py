"""Artist, title and album from a file's name and folders, for files whose tags have none (pure).

The scan calls :func:`fill_from_name` once per file it reads and stores the
result in the ordinary columns, with the list of fields that came from the
name, so genres, playlists and everything after them see one answer. Forms
understood (``_`` counts as a space in names without spaces)::

    Artist - Title.mp3               artist, title
    01 - Artist - Title.mp3          track number, artist, title
    Artist - 01 - Title.mp3          artist, track number, title
    01. Title.mp3, 01 Title.mp3      track number, title; artist and album from the folders
    Title.mp3                        title; artist and album from the folders

Folders: the one holding the file is the album ("Artist - Album" gives both)
and the one above it the artist, counting only folders inside the scanned root;
a single folder level says nothing (it may be an artist, an album or "Downloads").
A leading number is a track number only when a separator follows it or it is
zero-padded, so "16 Horsepower - Haw" keeps its artist.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

TRACK_NUMBER = re.compile(r"^(?:(?P<n>\d{1,3})\s*(?:[.)]|-(?!\d))\s*|(?P<padded>0\d{1,2})\s+)(?=\S)")
PARTS = re.compile(r"\s+[-\u2013\u2014]\s+")  # " - ", with an en or em dash too
NUMBER_ONLY = re.compile(r"\d{1,3}")
YEAR_ONLY = re.compile(r"(?:19|20)\d\d")
# Fields the name can give, in the order they are recorded.
FIELDS = ("artist", "title", "album", "track_number")


@dataclass(frozen=True, slots=True)
class NameParts:
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    track_number: int | None = None


def readable(name: str) -> str:
    """A file or folder name as text: names that are not UTF-8 are nearly always Latin-1/cp1252."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def tidy(text: str) -> str:
    if " " not in text and "_" in text:
        text = text.replace("_", " ")
    return " ".join(text.split())


def parse_stem(stem: str) -> NameParts:
    """A file name without its extension -> what it says."""
    text = tidy(stem)
    number = None
    match = TRACK_NUMBER.match(text)
    if match:
        number = int(match.group("n") or match.group("padded"))
        text = text[match.end():]
    parts = [p for p in PARTS.split(text) if p]
    if not parts:
        return NameParts(title=tidy(stem) or None)
    if len(parts) == 1:
        return NameParts(title=parts[0], track_number=number)
    # "Artist - 01 - Title" or "Artist - Album - 01 - Title": a bare number in the middle is the track.
    middle = next((i for i in range(1, len(parts) - 1) if NUMBER_ONLY.fullmatch(parts[i])), None)
    if middle is not None:
        album = " - ".join(parts[1:middle]) or None
        return NameParts(parts[0], " - ".join(parts[middle + 1:]), album, number or int(parts[middle]))
    return NameParts(parts[0], " - ".join(parts[1:]), None, number)


def folder_parts(path: str, root: str | None) -> NameParts:
    """Artist and album from the folders between ``root`` and the file."""
    folder = os.path.dirname(path)
    inside: list[str] = []
    while root is not None and folder.rstrip(os.sep) != root.rstrip(os.sep) and len(inside) < 2:
        parent = os.path.dirname(folder)
        if parent == folder or not folder.startswith(root.rstrip(os.sep) + os.sep):
            break
        inside.append(tidy(readable(os.path.basename(folder))))
        folder = parent
    if not inside:
        return NameParts()
    album_folder = inside[0]
    pieces = PARTS.split(album_folder)
    if len(pieces) >= 2 and not YEAR_ONLY.fullmatch(pieces[0]):
        return NameParts(artist=pieces[0], album=" - ".join(pieces[1:]))
    if len(pieces) >= 2:  # "1997 - Homework"
        album_folder = " - ".join(pieces[1:])
    if len(inside) == 2:
        return NameParts(artist=inside[1], album=album_folder)
    return NameParts()  # one folder alone may be an artist, an album or "Downloads": no guess


def from_path(path: str, root: str | None) -> NameParts:
    """What the file's name and folders say, the name winning over the folders."""
    stem = os.path.splitext(readable(os.path.basename(path)))[0]
    named = parse_stem(stem)
    folders = folder_parts(path, root)
    return NameParts(
        artist=named.artist or folders.artist,
        title=named.title,
        album=named.album or folders.album,
        track_number=named.track_number,
    )


def fill_from_name(tags: dict[str, Any], path: str, root: str | None) -> list[str]:
    """Fill in ``tags`` (the tracks columns read from a file) what its tags lack but its name says.

    Only for files whose tags have no artist or no title; an album or track
    number is taken from the name only along with them. Returns the fields filled.
    """
    has_artist = bool(tags.get("artist") or tags.get("album_artist"))
    if has_artist and tags.get("title"):
        return []
    parts = from_path(path, root)
    filled = []
    for name in FIELDS:
        value = getattr(parts, name)
        present = has_artist if name == "artist" else tags.get(name) not in (None, "")
        if value not in (None, "") and not present:
            tags[name] = value
            filled.append(name)
    return filled
