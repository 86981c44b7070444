"""A checked wish (enrich.sources.interpret.Wish) built into a playlist by the local engine.

Pure: the library view in, one Playlist out. The wish's ranges, mode and
excluded genres are hard filters (never relaxed: "nothing faster than 100
bpm" stays true; a track whose value is unknown cannot show it keeps to the
range and is left out). Genres and named artists become targets that every
track is scored against with the usual similarity; named artists' tracks
get ``artist_bonus`` on top. Selection (with its rules and relaxations) and
the flowing order are the engine's own; a journey is the A -> B path mode
between the best track of each end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from enrich.errors import PlaylistError
from enrich.playlists.build import (
    Playlist,
    Prepared,
    ancestors,
    assemble,
    best_present,
    check_library,
    path_targets,
    rules_from,
)
from enrich.playlists.settings import PlaylistsConfig
from enrich.playlists.similarity import Scores, SoundSpace, Target, best_of, score
from enrich.playlists.titles import main_artist
from enrich.sources.interpret import Span, Wish
from enrich.store.library_view import LibraryView

DIRECTION_OF = {"energy-up": "energy-up", "energy-down": "energy-down", "tempo-up": "tempo-up",
                "tempo-down": "tempo-down"}


@dataclass
class Reading:
    """How the wish met the library: what each filter left out, which artists were found."""

    artists: dict[str, int] = field(default_factory=dict)   # name as written -> its tracks in the library
    filtered: dict[str, int] = field(default_factory=dict)  # filter -> tracks it left out
    allowed: int = 0                                        # tracks that pass every filter
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"artists": self.artists, "filtered": self.filtered, "allowed": self.allowed, "notes": self.notes}


def in_span(values: np.ndarray, span: Span) -> np.ndarray:
    ok = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        if span.low is not None:
            ok &= values >= np.float32(span.low)
        if span.high is not None:
            ok &= values <= np.float32(span.high)
    return np.asarray(ok)


def genre_family(names: list[str], wanted: tuple[str, ...], parents: dict[str, str]) -> np.ndarray:
    """bool over ``names`` (+1 slot for 'no genre'): the genre is one of ``wanted`` or under one of them."""
    wanted_set = set(wanted)
    inside = [g in wanted_set or bool(wanted_set.intersection(ancestors(g, parents))) for g in names]
    return np.array([*inside, False], dtype=bool)


def tagged_with(view: LibraryView, family: np.ndarray) -> np.ndarray:
    """Tracks with any genre slot in ``family`` (slot -1 indexes the trailing False)."""
    return np.asarray(family[view.genre_ids].any(axis=1))


def filters(view: LibraryView, wish: Wish, parents: dict[str, str]) -> tuple[np.ndarray, dict[str, int]]:
    """Tracks passing the wish's hard filters, and how many each filter left out."""
    ok = ~view.missing
    left_out: dict[str, int] = {}

    def apply(name: str, mask: np.ndarray) -> None:
        nonlocal ok
        left_out[name] = int((ok & ~mask).sum())
        ok = ok & mask

    if wish.tempo is not None:
        apply("tempo", in_span(view.tempo, wish.tempo))
    if wish.energy is not None:
        apply("energy", in_span(view.energy, wish.energy))
    if wish.loudness is not None:
        apply("loudness", in_span(view.loudness, wish.loudness))
    if wish.mode is not None:
        known = view.camelot >= 0
        major = (view.camelot.astype(np.int16) % 2) == 1  # Camelot B = major, A = minor
        apply("mode", known & (major if wish.mode == "major" else ~major))
    if wish.exclude_genres:
        apply("exclude_genres", ~tagged_with(view, genre_family(view.genre_names, wish.exclude_genres, parents)))
    return ok, left_out


def artist_rows(view: LibraryView, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Library rows of each named artist, matched locally by folded main artist ('A feat. B' is A)."""
    if not names:
        return {}
    library = set(view.artists)
    found: dict[str, np.ndarray] = {}
    for name in names:
        key = main_artist(name)
        # Folding every artist of a big library is slow; an ASCII artist that folds to ``key``
        # holds each of its words, so only those (and the non-ASCII ones) are folded.
        words = key.split()
        spellings = {a for a in library if (not a.isascii() or all(w in a.casefold() for w in words))
                     and main_artist(a) == key}
        found[name] = np.array([i for i, a in enumerate(view.artists) if a in spellings], dtype=np.int64) \
            if spellings else np.zeros(0, dtype=np.int64)
    return found


def genre_index(prep: Prepared, genre: str) -> int:
    names = list(prep.view.genre_names) + [g for g in prep.extra_genres if g not in prep.view.genre_names]
    if genre not in names:
        raise PlaylistError(f"genre '{genre}' was not prepared; this is a bug")
    return names.index(genre)


def genres_target(prep: Prepared, genres: tuple[str, ...], allowed: np.ndarray, label: str) -> Target:
    """Alike to any of ``genres`` (a narrower genre counts in full), sounding like their tracks."""
    view, n = prep.view, len(prep.view.genre_names)
    profile = np.max([prep.relation[genre_index(prep, g), :n] for g in genres], axis=0).astype(np.float32)
    family = genre_family(view.genre_names, genres, prep.parents)
    profile[family[:n]] = 1.0
    tagged = tagged_with(view, family) & prep.space.has
    pool = tagged & allowed if (tagged & allowed).any() else tagged
    sound = prep.space.z[pool].mean(axis=0) if pool.any() else None
    return Target(sound=sound, camelot=-1, genre_profile=profile, label=label)


def rows_target(prep: Prepared, rows: np.ndarray, label: str) -> Target | None:
    """Alike to a group of tracks: their mean sound and the genres they have first."""
    view = prep.view
    n = len(view.genre_names)
    with_sound = rows[prep.space.has[rows]]
    tops = view.genre_ids[rows, 0]
    tops = np.unique(tops[tops >= 0])
    sound = prep.space.z[with_sound].mean(axis=0) if len(with_sound) else None
    profile = prep.relation[tops][:, :n].max(axis=0) if len(tops) else None
    if sound is None and profile is None:
        return None
    return Target(sound=sound, camelot=-1, genre_profile=profile, label=label)


def plan_wish(prep: Prepared, wish: Wish, cfg: PlaylistsConfig, *, artist_bonus: float,
              length: int | None = None, minutes: float | None = None,
              exists: Callable[[str], bool] = os.path.exists,
              timings: dict[str, Any] | None = None) -> tuple[Playlist, Reading]:
    """The playlist ``wish`` asks for; ``length``/``minutes`` (flags) win over the wish's."""
    timings = {} if timings is None else timings
    view = prep.view
    check_library(view)
    started = time.perf_counter()
    reading = Reading()
    allowed, reading.filtered = filters(view, wish, prep.parents)
    found = artist_rows(view, wish.artists)
    reading.artists = {name: len(rows) for name, rows in found.items()}
    for name, rows in found.items():
        if not len(rows):
            reading.notes.append(f"artist '{name}' is not in the library")
        elif not allowed[rows].any():
            reading.notes.append(f"no track of '{name}' passes the wish's filters")
    reading.allowed = int(allowed.sum())
    if not reading.allowed:
        raise PlaylistError("no track of the library passes the wish's filters ("
                            + ", ".join(f"{k} left out {v}" for k, v in reading.filtered.items()) + ")")

    genres_present = bool(wish.genres) and bool(
        (tagged_with(view, genre_family(view.genre_names, wish.genres, prep.parents)) & allowed).any())
    if wish.genres and not genres_present:
        reading.notes.append(f"no track of {', '.join(wish.genres)} passes the wish's filters; "
                             "the closest tracks that do are used")
    named = np.concatenate([rows for rows in found.values()]) if found else np.zeros(0, dtype=np.int64)
    named = named[allowed[named]] if len(named) else named
    targets: list[Target] = []
    if wish.genres:
        targets.append(genres_target(prep, wish.genres, allowed, ", ".join(wish.genres)))
    if len(named):
        artist_target = rows_target(prep, named, ", ".join(n for n, r in found.items() if len(r)))
        if artist_target is not None:
            targets.append(artist_target)
    if not targets:  # only filters: alike to what passes them
        fallback = rows_target(prep, np.flatnonzero(allowed), "the tracks that pass the filters")
        if fallback is None:
            raise PlaylistError("no track that passes the wish's filters has features or genres")
        targets.append(fallback)

    count = length if length is not None else (None if minutes else wish.tracks)
    seconds = minutes * 60 if minutes else (wish.minutes * 60 if wish.minutes and count is None else None)
    if count is None and seconds is None:
        count = cfg.length
    rules = rules_from(cfg)
    if genres_present:  # as a genre playlist: keep to the genres and their close relatives
        rules = replace(rules, genre_threshold=max(rules.genre_threshold, cfg.genre_parent))

    end = None
    if wish.ordering == "journey" and wish.journey is not None:
        ends = [end_target(prep, point, found, allowed) for point in wish.journey]
        scores = journey_scores(view, prep.space, path_targets(ends[0], ends[1]), cfg, allowed)
        first = best_present(view, np.where(allowed, score(view, prep.space, [ends[0]], cfg).total, -np.inf),
                             exists)
        last_scores = np.where(allowed, score(view, prep.space, [ends[1]], cfg).total, -np.inf)
        if first is not None:
            last_scores[first] = -np.inf
        end = best_present(view, last_scores, exists)
        if first is None or end is None:
            raise PlaylistError("the journey's ends match no two tracks that pass the wish's filters")
        seeds = [first, end]
        scores.total[seeds] = np.inf
        # A journey crosses genres: the genre floor would cut its middle.
        rules = replace(rules, genre_threshold=rules_from(cfg).genre_threshold)
    else:
        scores = score(view, prep.space, targets, cfg, combine="min")
        total = np.where(allowed, scores.total, -np.inf).astype(np.float32)
        if len(named) and artist_bonus:
            total[named] += np.float32(artist_bonus)
        scores.total = total
        first = best_present(view, total, exists)
        if first is None:
            raise PlaylistError("no track that passes the wish's filters can be compared or is on disk")
        seeds = [first]
    timings["score_ms"] = round((time.perf_counter() - started) * 1000, 2)
    direction = DIRECTION_OF.get(wish.ordering or "")
    playlist = assemble(prep, cfg, scores, seeds, rules, count, seconds, direction, end, exists, timings,
                        allowed=allowed)
    playlist.kind = "prompt"
    if length is not None and (wish.tracks or wish.minutes):
        playlist.notes.insert(0, f"--length {length} given: the wish's length not used")
    if minutes is not None and (wish.tracks or wish.minutes):
        playlist.notes.insert(0, f"--minutes {minutes:g} given: the wish's length not used")
    return playlist, reading


def journey_scores(view: LibraryView, space: SoundSpace, points: list[Target], cfg: PlaylistsConfig,
                   allowed: np.ndarray) -> Scores:
    """Alike to any point of the way, each point's best allowed track counting 1.

    Raw scores favour the ends (each is a real track, the points between are
    blends no track sounds exactly like), so the middle of the way would lose
    its tracks to the neighbours of the ends; scaled per point, it competes.
    """
    def scaled() -> Iterator[Scores]:
        for point in points:
            scores = score(view, space, [point], cfg)
            row = scores.total
            usable = row[allowed & np.isfinite(row)]
            best = float(usable.max()) if len(usable) else 0.0
            if best > 0:
                row /= np.float32(best)
            yield scores

    return best_of(scaled())


def end_target(prep: Prepared, point: str, found: dict[str, np.ndarray], allowed: np.ndarray) -> Target:
    """A journey's end: an artist named in the sentence (their tracks) or a genre."""
    if point in found:
        rows = found[point]
        rows = rows[allowed[rows]] if len(rows) else rows
        target = rows_target(prep, rows, point) if len(rows) else None
        if target is None:
            raise PlaylistError(f"the journey's end '{point}' has no track in the library that passes the filters")
        return target
    return genres_target(prep, (point,), allowed, point)
