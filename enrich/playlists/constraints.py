"""Which tracks may join a playlist: the rules, and relaxing them out loud.

Candidates are taken best score first. Never relaxed: a track that cannot be
compared, a missing file, the seed (or another version of a seed's song), two
copies of one song: the same artist and title under version notes, the same
MusicBrainz recording id, or the same audio whatever the tags say (as `enrich
duplicates` finds them; playlists/songs.py). When the library is too small for the rest, the rules
are relaxed one at a time (artists, then durations, then the genre floor) and
each relaxation is reported in the playlist's notes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from enrich.numeric import median
from enrich.playlists.songs import EXCLUDED, ChosenSongs
from enrich.playlists.titles import artist_key
from enrich.store.library_view import LibraryView


@dataclass(frozen=True)
class Rules:
    min_duration: float = 0.0      # seconds; 0 = no bound
    max_duration: float = 0.0
    max_per_artist: int = 0        # 0 = no bound
    artist_window: int = 0         # no artist twice within this many tracks; 0/1 = off
    genre_threshold: float = 0.0   # minimum genre similarity; 0 = off


@dataclass
class Selection:
    chosen: list[int]                      # library rows, the seeds first
    rules: Rules                           # the rules in force at the end
    notes: list[str] = field(default_factory=list)   # every relaxation, in words
    excluded: Counter[str] = field(default_factory=Counter)


def window_cap(rules: Rules, length: int) -> int:
    """Tracks one artist may have so that W apart still fits in ``length`` places.

    Place 1 belongs to the seed, so another artist has places 2..length: with
    W apart that is at most (length - 2) // W + 1 tracks.
    """
    cap = rules.max_per_artist or length
    if rules.artist_window > 1:
        cap = min(cap, (max(length, 2) - 2) // rules.artist_window + 1)
    return max(cap, 1)


def base_mask(view: LibraryView, total: np.ndarray) -> np.ndarray:
    """Tracks that can ever join: comparable and not known to be missing."""
    return np.asarray(np.isfinite(total) & ~view.missing)


def rule_mask(view: LibraryView, genre: np.ndarray, rules: Rules) -> np.ndarray:
    ok = np.ones(len(view), dtype=bool)
    if rules.min_duration > 0 or rules.max_duration > 0:
        d = view.duration
        ok &= np.isfinite(d)
        if rules.min_duration > 0:
            ok &= d >= rules.min_duration
        if rules.max_duration > 0:
            ok &= d <= rules.max_duration
    if rules.genre_threshold > 0:
        ok &= np.nan_to_num(genre, nan=0.0) >= rules.genre_threshold
    return ok


def relaxations(rules: Rules) -> list[tuple[Rules, str]]:
    """The rules to try, each looser than the last, with what was given up."""
    steps, current = [], rules
    if current.max_per_artist or current.artist_window > 1:
        current = replace(current, max_per_artist=0, artist_window=0)
        steps.append((current, f"allowed more than {rules.max_per_artist or 'any'} tracks per artist and "
                               f"artists closer than {rules.artist_window} tracks apart"))
    if current.min_duration > 0 or current.max_duration > 0:
        current = replace(current, min_duration=0.0, max_duration=0.0)
        steps.append((current, f"allowed tracks outside {rules.min_duration:g}-{rules.max_duration:g} s "
                               "(or of unknown length)"))
    if current.genre_threshold > 0:
        current = replace(current, genre_threshold=0.0)
        steps.append((current, f"allowed tracks below the genre similarity {rules.genre_threshold:g}"))
    return steps


def select(
    view: LibraryView,
    total: np.ndarray,
    genre: np.ndarray,
    seeds: list[int],
    rules: Rules,
    *,
    count: int | None = None,
    seconds: float | None = None,
    allowed: np.ndarray | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> Selection:
    """Pick the best tracks under ``rules`` until ``count`` tracks or ``seconds`` are reached."""
    length_hint = count if count is not None else estimate_length(view, seconds or 0.0)
    chosen = list(dict.fromkeys(seeds))
    taken = set(chosen)
    songs = ChosenSongs(view)
    for i in chosen:
        songs.add(i)
    per_artist = Counter(artist_key(view.artists[i], view.paths[i]) for i in chosen)
    used_seconds = float(np.nansum(view.duration[chosen])) if chosen else 0.0
    excluded: Counter[str] = Counter()

    def full() -> bool:
        if count is not None:
            return len(chosen) >= count
        return used_seconds >= (seconds or 0.0)

    base = base_mask(view, total)
    if allowed is not None:
        base &= allowed
    base[chosen] = False
    excluded["cannot be compared"] = int((~np.isfinite(total)).sum())
    excluded["missing file (scan)"] = int((view.missing & np.isfinite(total)).sum())
    rejected: set[int] = set()  # rows that can never join (missing on disk, duplicate song)

    notes: list[str] = []
    steps = [(rules, ""), *relaxations(rules)]
    in_force = rules
    for step_rules, relaxed in steps:
        if full():
            break
        if relaxed:
            fit = f"{len(chosen)} track{'s' if len(chosen) != 1 else ''}"
            notes.append(f"only {fit} fit every rule; {relaxed}" if not notes else f"still only {fit}; {relaxed}")
        in_force = step_rules
        cap = window_cap(step_rules, length_hint)
        mask = base & rule_mask(view, genre, step_rules)
        for i in best_first(np.flatnonzero(mask), total, first=4 * length_hint + 256):
            if full():
                break
            if i in rejected or i in taken:
                continue
            copy = songs.copy_of(i)
            if copy is not None:
                rejected.add(i)
                excluded[EXCLUDED[copy[1]]] += 1
                continue
            artist = artist_key(view.artists[i], view.paths[i])
            if (step_rules.max_per_artist or step_rules.artist_window > 1) and per_artist[artist] >= cap:
                continue
            if not exists(view.fs_path(i)):
                rejected.add(i)
                excluded["missing file (disk)"] += 1
                continue
            chosen.append(i)
            taken.add(i)
            songs.add(i)
            per_artist[artist] += 1
            if np.isfinite(view.duration[i]):
                used_seconds += float(view.duration[i])
    if not full():
        want = f"{count} tracks" if count is not None else f"{(seconds or 0) / 60:g} minutes"
        notes.append(f"the library has only {len(chosen)} track{'s' if len(chosen) != 1 else ''} that can join; "
                     f"shorter than the {want} asked")
    return Selection(chosen=chosen, rules=in_force, notes=notes, excluded=+excluded)


def best_first(rows: np.ndarray, total: np.ndarray, first: int) -> Iterator[int]:
    """``rows`` by falling ``total`` (ties in row order), sorting only as far as the caller reads.

    A playlist reads a few hundred candidates of up to a million: the best ``first``
    (with every row tied at the cut) are sorted, and the rest only if asked for.
    Yields exactly what a full stable sort would.
    """
    values = total[rows]
    if len(rows) > 4 * first:
        cut = np.partition(values, len(values) - first)[len(values) - first]
        head = values >= cut
        top = rows[head]
        yield from top[np.argsort(-values[head], kind="stable")].tolist()
        rows, values = rows[~head], values[~head]
    yield from rows[np.argsort(-values, kind="stable")].tolist()


def estimate_length(view: LibraryView, seconds: float) -> int:
    d = view.duration[np.isfinite(view.duration)]
    typical = median(d) if len(d) else 240.0
    return max(1, round(seconds / max(typical, 1.0)))
