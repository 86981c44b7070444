"""What a scan must do, decided from the walk and what the database knows (pure).

A file is read again only when its size or mtime differ from what is stored.
Tracks under the scanned roots that the walk did not find are missing (never
deleted); tracks under a folder that could not be listed are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from enrich.library.walk import Found, Walked, display, is_under
from enrich.store.tracks import BadFile, FileState


@dataclass
class Plan:
    to_read: list[Found] = field(default_factory=list)  # new and changed, in walk order
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    reappeared: list[str] = field(default_factory=list)  # back on disk, unchanged: clear the flag
    newly_missing: list[str] = field(default_factory=list)  # gone since the last scan: set the flag
    missing: int = 0  # all tracks under the roots that are not on disk
    still_unreadable: list[str] = field(default_factory=list)  # unchanged files that failed before
    forget_unreadable: list[str] = field(default_factory=list)  # failed before, now gone


def plan(walked: Walked, known: Mapping[str, FileState], bad: Mapping[str, BadFile]) -> Plan:
    result = Plan()
    seen: set[str] = set()
    # The loop below runs once per file on every rescan: local names, no throwaway tuples.
    remember, stored, failed_before = seen.add, known.get, bad.get if bad else None
    for found in walked.files:
        key = found.path if found.path.isascii() else display(found.path)
        remember(key)
        if failed_before is not None:
            failed = failed_before(key)
            if failed is not None and failed.size == found.size and failed.mtime_ns == found.mtime_ns:
                result.still_unreadable.append(key)
                continue
        track = stored(key)
        if track is None:
            result.new += 1
            result.to_read.append(found)
        elif track.size != found.size or track.mtime_ns != found.mtime_ns:
            result.changed += 1
            result.to_read.append(found)
        else:
            result.unchanged += 1
            if track.missing:
                result.reappeared.append(key)

    roots = [display(r) for r in walked.roots]
    unlisted = [display(u) for u in walked.unlisted]

    def scanned(path: str) -> bool:
        return any(is_under(path, r) for r in roots) and not any(is_under(path, u) for u in unlisted)

    for path, track in known.items():
        if path not in seen and scanned(path):
            result.missing += 1
            if not track.missing:
                result.newly_missing.append(path)
    result.forget_unreadable = [p for p in bad if p not in seen and scanned(p)]
    return result
