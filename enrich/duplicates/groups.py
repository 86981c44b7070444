"""Groups of copies of one song, from the three kinds of evidence (pure).

Each kind of evidence yields pairs of tracks; pairs join into groups (a track
linked to two others brings them together); each group names its keeper.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from enrich.duplicates import audio, names
from enrich.duplicates.keeper import Copy, choose
from enrich.errors import ConfigError

KINDS = ("recording", "audio", "name")
RECORDING_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NIL_ID = "00000000-0000-0000-0000-000000000000"


@dataclass
class Tracks:
    """The library's tracks as columns (row i is one track), as the store reads them."""

    ids: np.ndarray            # int64
    paths: list[str]
    artists: list[str]         # '' when unknown (the album artist stands in when the artist is empty)
    titles: list[str]
    albums: list[str]
    duration: np.ndarray       # float64 seconds, NaN when unknown
    formats: list[str]
    codecs: list[str]          # lower case
    bitrate: np.ndarray        # int64 bit/s, 0 when unknown
    recordings: list[str]      # MusicBrainz recording id, lower case, '' when none
    missing: np.ndarray        # bool
    tags: np.ndarray           # int: how many tag fields are filled
    vectors: np.ndarray        # float32 (n, dims), rows without features are 0
    has_features: np.ndarray   # bool
    feature_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Settings:
    """The [duplicates] settings table (config/default.toml documents each key)."""

    seconds: float = 3.0          # name matches: durations at most this far apart
    audio_seconds: float = 1.0    # audio matches: durations at most this far apart
    audio_tolerance: float = 1.0  # audio matches: RMS difference in units of the encoder tolerances

    def check(self) -> Settings:
        for name in ("seconds", "audio_seconds", "audio_tolerance"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"[duplicates] {name} = {getattr(self, name)!r} is not allowed; expected 0 or more")
        return self


@dataclass
class Group:
    keep: int                       # row
    why: str
    rows: list[int]                 # every copy, the keeper first
    matched_by: dict[int, list[str]]  # row -> the kinds of evidence that tie it to another copy


def valid_recording(value: str) -> bool:
    return bool(RECORDING_ID.match(value)) and value != NIL_ID


def recording_pairs(tracks: Tracks) -> Iterable[tuple[int, int]]:
    first: dict[str, int] = {}
    for i, rid in enumerate(tracks.recordings):
        if rid and valid_recording(rid):
            j = first.setdefault(rid, i)
            if j != i:
                yield j, i


def name_pairs(tracks: Tracks, seconds: float) -> Iterable[tuple[int, int]]:
    """Same song key and durations within ``seconds`` (neighbours in length, so a chain links)."""
    keyed: dict[str, list[int]] = defaultdict(list)
    duration = tracks.duration.tolist()
    key_of = names.song_key
    for i, (artist, title, album, path) in enumerate(zip(tracks.artists, tracks.titles, tracks.albums, tracks.paths,
                                                         strict=True)):
        if duration[i] != duration[i]:
            continue  # NaN: the length cannot confirm the name, so no match on the name alone
        key = key_of(artist, title, album, path)
        if key is not None:
            keyed[key].append(i)
    for rows in keyed.values():
        if len(rows) < 2:
            continue
        rows.sort(key=duration.__getitem__)
        for a, b in itertools.pairwise(rows):
            if duration[b] - duration[a] <= seconds:
                yield a, b


def audio_pairs(tracks: Tracks, settings: Settings) -> list[tuple[int, int]]:
    usable = tracks.has_features & ~np.all(tracks.vectors == 0, axis=1) if len(tracks) else tracks.has_features
    scale = audio.scale_for(tracks.feature_names, tracks.vectors, usable)
    return audio.pairs(tracks.duration, tracks.vectors, scale, usable,
                       seconds=settings.audio_seconds, tolerance=settings.audio_tolerance)


class Joined:
    """Union-find over rows, remembering which evidence touched each row."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.kinds: dict[int, set[str]] = defaultdict(set)

    def root(self, i: int) -> int:
        path = []
        while (parent := self.parent.setdefault(i, i)) != i:
            path.append(i)
            i = parent
        for j in path:  # next time, one step
            self.parent[j] = i
        return i

    def join(self, a: int, b: int, kind: str) -> None:
        self.kinds[a].add(kind)
        self.kinds[b].add(kind)
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        members: dict[int, list[int]] = defaultdict(list)
        for i in self.parent:
            members[self.root(i)].append(i)
        return [sorted(rows) for rows in members.values() if len(rows) > 1]


def find(tracks: Tracks, settings: Settings = Settings(), kinds: Sequence[str] = KINDS) -> list[Group]:
    """Every group of copies in ``tracks`` by the evidence ``kinds``, largest first, then by the keeper's path."""
    joined = Joined()
    evidence: dict[str, Callable[[], Iterable[tuple[int, int]]]] = {
        "recording": lambda: recording_pairs(tracks),
        "audio": lambda: audio_pairs(tracks, settings),
        "name": lambda: name_pairs(tracks, settings.seconds),
    }
    for kind in kinds:
        for a, b in evidence[kind]():
            joined.join(a, b, kind)
    found = []
    for rows in joined.groups():
        copies = [copy_of(tracks, r) for r in rows]
        keeper, why = choose(copies)
        ordered = [keeper.row] + [r for r in rows if r != keeper.row]
        found.append(Group(keeper.row, why, ordered, {r: [k for k in KINDS if k in joined.kinds[r]] for r in rows}))
    found.sort(key=lambda g: (-len(g.rows), tracks.paths[g.keep]))
    return found


def copy_of(tracks: Tracks, row: int) -> Copy:
    return Copy(row=row, id=int(tracks.ids[row]), missing=bool(tracks.missing[row]), codec=tracks.codecs[row],
                format=tracks.formats[row], bitrate=int(tracks.bitrate[row]), tags=int(tracks.tags[row]))


def describe(tracks: Tracks, row: int, kinds: Sequence[str] = ()) -> dict[str, Any]:
    """One copy as plain data (JSON-ready)."""
    copy = copy_of(tracks, row)
    duration = float(tracks.duration[row])
    return {
        "id": copy.id, "path": tracks.paths[row], "artist": tracks.artists[row] or None,
        "title": tracks.titles[row] or None, "album": tracks.albums[row] or None,
        "duration": round(duration, 2) if np.isfinite(duration) else None,
        "format": tracks.formats[row] or None, "codec": copy.codec or None, "lossless": copy.lossless,
        "bitrate": copy.bitrate or None, "tags": copy.tags,
        "recording": tracks.recordings[row] or None, "matched_by": list(kinds),
    }
