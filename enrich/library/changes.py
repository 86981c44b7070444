"""What a scan must do, decided from the walk and what the database knows (pure).

A file is read again only when its size or mtime differ from what is stored.
Tracks under the scanned roots that the walk did not find are missing (never
deleted); tracks under a folder that could not be listed are left alone.

Both sides come in path order (the walk's order is SQLite's order of the
stored paths), so :func:`compare` merges them as two streams: memory holds a
page of each side, whatever the size of the library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from enrich.library.walk import Found, display, is_under
from enrich.store.tracks import BadFile, FileState

Kind = Literal["read", "read_failed_before", "reappeared", "missing", "forget"]
# ("read", a file to read; "read_failed_before" when it failed at an earlier scan) or (what to do, a stored path)
Event = tuple[Kind, Found | str]


@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    reappeared: int = 0  # back on disk, unchanged: clear the flag
    missing: int = 0  # all tracks under the roots that are not on disk
    still_unreadable: int = 0  # unchanged files that failed before


@dataclass
class Pending:
    """A file reached through a link, with its stored state: kept or not is known at the end."""

    found: Found
    key: str
    track: FileState | None
    failed: BadFile | None


def classify(found: Found, key: str, track: FileState | None, failed: BadFile | None,
             counts: Counts) -> Event | None:
    """What one file on disk needs, given what is stored under its path."""
    if failed is not None and failed.size == found.size and failed.mtime_ns == found.mtime_ns:
        counts.still_unreadable += 1
        return None
    read: Kind = "read" if failed is None else "read_failed_before"
    if track is None:
        counts.new += 1
        return read, found
    if track.size != found.size or track.mtime_ns != found.mtime_ns:
        counts.changed += 1
        return read, found
    counts.unchanged += 1
    if track.missing:
        counts.reappeared += 1
        return "reappeared", key
    return None


def gone(path: str, track: FileState, counts: Counts) -> Event | None:
    """A stored track the walk did not find (under a scanned, listed folder)."""
    counts.missing += 1
    return None if track.missing else ("missing", path)


def compare(
    files: Iterable[Found],
    stored: Iterable[tuple[str, FileState]],
    bad: Iterable[tuple[str, BadFile]],
    scanned: Callable[[str], bool],
    counts: Counts,
    pending: list[Pending],
    on_file: Callable[[], None] | None = None,
) -> Iterator[Event]:
    """Merge the files on disk with the stored tracks and unreadable files, all three in path order.

    Yields what must be done; counts what need not. ``scanned(path)`` says whether a stored
    path not on disk is gone (under a root, in a folder that was listed) or unknown. Files
    reached through a link go to ``pending`` with their stored state (see :func:`settle`).
    A stored row is looked at only once the walk is past its path, so rows this scan writes
    meanwhile (always behind the walk) are never taken for stored state.
    """
    tracks_it, bad_it = iter(stored), iter(bad)
    track_row = next(tracks_it, None)
    bad_row = next(bad_it, None)
    last = ""
    for found in files:
        key = found.path if found.path.isascii() else display(found.path)
        if key <= last:
            raise ValueError(f"the walk is out of path order at {key!r} (after {last!r})")
        last = key
        track = failed = None
        while track_row is not None and track_row[0] <= key:
            path, state = track_row
            if path == key:
                track = state
            elif scanned(path):
                event = gone(path, state, counts)
                if event is not None:
                    yield event
            track_row = next(tracks_it, None)
        while bad_row is not None and bad_row[0] <= key:
            if bad_row[0] == key:
                failed = bad_row[1]
            elif scanned(bad_row[0]):
                yield "forget", bad_row[0]
            bad_row = next(bad_it, None)
        if on_file is not None:
            on_file()
        if found.identity is not None:
            pending.append(Pending(found, key, track, failed))
            continue
        event = classify(found, key, track, failed, counts)
        if event is not None:
            yield event
    while track_row is not None:
        if scanned(track_row[0]):
            event = gone(track_row[0], track_row[1], counts)
            if event is not None:
                yield event
        track_row = next(tracks_it, None)
    for path, _ in bad_it if bad_row is None else [bad_row, *bad_it]:
        if scanned(path):
            yield "forget", path


def settle(pending: Iterable[Pending], kept: set[str], counts: Counts) -> Iterator[Event]:
    """The files reached through a link, once the walk knows which are kept: a second name is not on disk."""
    for item in pending:
        if item.found.path in kept:
            event = classify(item.found._replace(identity=None), item.key, item.track, item.failed, counts)
        elif item.track is not None:
            event = gone(item.key, item.track, counts)
        else:
            event = ("forget", item.key) if item.failed is not None else None
        if event is not None:
            yield event


def scanned_under(roots: Iterable[str], unlisted: list[str]) -> Callable[[str], bool]:
    """Whether a stored path is under a root and not under a folder that could not be listed.

    ``unlisted`` is read at each call: the walk adds to it as it goes.
    """
    shown = [display(r) for r in roots]

    def scanned(path: str) -> bool:
        return any(is_under(path, r) for r in shown) and not any(is_under(path, display(u)) for u in unlisted)

    return scanned
