"""What a Last.fm user plays, against the library (pure).

* Matching: a played track is a library track when the normalised artist and
  song title agree (``titles.main_artist`` / ``song_title``: case, accents,
  "feat.", remaster/live/edit notes; a leading "The" is dropped too). A track
  whose tags have no artist or title is matched by its file name
  (``library.names``). Played tracks not in the library are kept and listed.
* Similar artists: each library track gets the best ``match`` (0..1) Last.fm
  gives its artist among the similar artists of the user's most played
  artists; an artist the user plays counts 1. Blended into the score as one
  more weighted part.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from enrich.library.names import from_path
from enrich.playlists.titles import main_artist, song_title
from enrich.store.library_view import LibraryView

if TYPE_CHECKING:  # the network layer (aiohttp) stays unimported until --lastfm-user needs it
    from enrich.sources.lastfm_user import Played

OWN = -1  # Affinity.via of a seed's own artist


def artist_name_key(artist: str) -> str:
    key = main_artist(artist)
    return key[4:] if key.startswith("the ") and len(key) > 4 else key


@dataclass
class LibraryNames:
    """Each row's artist (as an index into the distinct artist keys) and title.

    Keys are made once per distinct artist, and song titles only for the rows
    of artists that were played: normalising every title of a 100,000-track
    library would cost about a second.
    """

    artist_of: np.ndarray        # int32 (n,): index into ``artist_keys``
    artist_keys: list[str]
    titles: list[str]            # as tagged, or from the file name when the tags have none

    @classmethod
    def of(cls, view: LibraryView) -> LibraryNames:
        artists, titles = list(view.artists), list(view.titles)
        for i, (artist, title) in enumerate(zip(artists, titles, strict=True)):
            if not (artist and title):  # untagged: what the file name says
                named = from_path(view.paths[i], None)
                artists[i], titles[i] = artist or named.artist or "", title or named.title or ""
        distinct: dict[str, int] = {}
        codes = [distinct.setdefault(a, len(distinct)) for a in artists]
        keys = [artist_name_key(a) for a in distinct]
        return cls(np.asarray(codes, dtype=np.int32), keys, titles)

    def key_of(self, row: int) -> str:
        return self.artist_keys[int(self.artist_of[row])]

    def rows_of_artists(self, wanted: set[str]) -> np.ndarray:
        """Rows whose artist key is in ``wanted``."""
        hits = np.array([k in wanted for k in self.artist_keys], dtype=bool)
        return np.flatnonzero(hits[self.artist_of]) if len(hits) else np.zeros(0, dtype=np.int64)

    def per_row(self, by_key: dict[str, float]) -> np.ndarray:
        """float32 (n,): ``by_key`` of each row's artist key (0 when absent)."""
        values = np.array([by_key.get(k, 0.0) for k in self.artist_keys] or [0.0], dtype=np.float32)
        per_row: np.ndarray = values[self.artist_of]
        return per_row


@dataclass
class Match:
    matched: list[tuple[Played, int]]   # played track and its library row, most played first
    unmatched: list[Played]             # played tracks the library does not have


def song_of(artist_key: str, title: str) -> str:
    return f"{artist_key}\x1f{song_title(title)}"


def match(view: LibraryView, names: LibraryNames, played: Sequence[Played]) -> Match:
    """Played tracks -> library rows. Of several copies of a song the one present with features wins."""
    wanted = {artist_name_key(p.artist) for p in played}
    rows: dict[str, int] = {}
    for i in names.rows_of_artists(wanted).tolist():
        if not names.titles[i]:
            continue
        song = song_of(names.key_of(i), names.titles[i])
        best = rows.get(song)
        if best is None or preference(view, i) > preference(view, best):
            rows[song] = i
    matched, unmatched, taken = [], [], set()
    for p in played:
        row = rows.get(song_of(artist_name_key(p.artist), p.title))
        if row is None:
            unmatched.append(p)
        elif row not in taken:
            taken.add(row)
            matched.append((p, row))
    return Match(matched, unmatched)


def preference(view: LibraryView, i: int) -> tuple[bool, bool, bool, int]:
    return (not bool(view.missing[i]), bool(view.has_features[i]), bool(view.genre_ids[i, 0] >= 0), -i)


def pick_seeds(view: LibraryView, found: Match, count: int, exists: Callable[[str], bool] = os.path.exists,
               usable: np.ndarray | None = None) -> list[int]:
    """The ``count`` most played matched tracks that can seed a playlist (on disk, features or genres)."""
    usable = view.has_features | (view.genre_ids[:, 0] >= 0) if usable is None else usable
    seeds: list[int] = []
    for _, row in found.matched:
        if len(seeds) >= count:
            break
        if usable[row] and not view.missing[row] and exists(view.fs_path(row)):
            seeds.append(row)
    return seeds


@dataclass
class Affinity:
    """Per library row: how close Last.fm puts its artist to the seeds' artists."""

    value: np.ndarray     # float32 (n,), 0 when unrelated or unknown
    via: np.ndarray       # int32 (n,): index into ``seeds`` of the artist it is like; OWN; -2 none
    seeds: list[str]      # the seed artists, as Last.fm names them


def affinity(names: LibraryNames, similar: Iterable[tuple[str, list[tuple[str, float]]]],
             played: Iterable[str] = ()) -> Affinity:
    """``similar``: (seed artist, [(similar artist, match 0..1), ...]) per seed artist; ``played``:
    every artist the user played, who counts 1 (as the seed artists do)."""
    best: dict[str, tuple[float, int]] = {}
    seeds: list[str] = []
    own = {artist_name_key(a) for a in played}
    for k, (seed, others) in enumerate(similar):
        seeds.append(seed)
        own.add(artist_name_key(seed))
        for name, raw in others:
            key = artist_name_key(name)
            close = min(max(float(raw), 0.0), 1.0)
            if key and close > best.get(key, (0.0, -2))[0]:
                best[key] = (close, k)
    for key in own:
        best[key] = (1.0, OWN)
    values = names.per_row({key: v for key, (v, _) in best.items()})
    via = names.per_row({key: float(k) for key, (_, k) in best.items()})
    via[values <= 0] = -2
    return Affinity(values, via.astype(np.int32), seeds)


def blend(total: np.ndarray, part: np.ndarray, weight: float) -> np.ndarray:
    """``total`` (a weighted mean whose weights sum to about 1) with ``part`` added at ``weight``.

    Tracks that cannot be compared (-inf) stay so: Last.fm alone does not make a track fit.
    """
    if weight <= 0:
        return total
    out = total.copy()
    finite = np.isfinite(out)
    out[finite] = (out[finite] + np.float32(weight) * part[finite]) / np.float32(1.0 + weight)
    return out


def describe(aff: Affinity, row: int) -> str:
    """The WHY of the Last.fm part for one row."""
    via = int(aff.via[row])
    if via == OWN:
        return f"lastfm {aff.value[row]:.2f} (you play them)"
    if via >= 0:
        return f"lastfm {aff.value[row]:.2f} (like {aff.seeds[via]})"
    return "lastfm 0.00"
