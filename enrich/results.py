"""Plain typed records that the long commands of `enrich.Library` return.

``as_dict()`` gives what the commands print with ``--json``. The reports of
``scan``, ``genres`` and ``analyze`` are their own dataclasses
(:class:`enrich.pipeline.scan.ScanReport` and its siblings, ``to_dict()``).
Times are unix seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExplainedTrack:
    id: int
    path: str
    artist: str | None
    album: str | None
    title: str | None


@dataclass(frozen=True)
class StoredGenre:
    rank: int                            # 0 is the track's first genre
    genre: str
    score: float
    level: str                           # the evidence it came from: track, album or artist
    provenance: list[dict[str, Any]]     # the votes: source, raw tag, weight, level, via


@dataclass(frozen=True)
class GenreState:
    enriched_at: float | None
    status: str | None                   # 'found' or 'empty'
    classifier: str | None               # why Claude was asked, if it was
    dropped: list[dict[str, Any]]        # tags not used: raw, source, level, reason


@dataclass(frozen=True)
class Explanation:
    """Why a track has its genres (`enrich genres --explain`)."""

    track: ExplainedTrack
    genres: list[StoredGenre]
    state: GenreState | None             # None: never enriched

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        state = data["state"]
        return cls(track=ExplainedTrack(**data["track"]), genres=[StoredGenre(**g) for g in data["genres"]],
                   state=GenreState(**state) if state is not None else None)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RunRecord:
    """One run of a long command (`enrich runs`)."""

    id: int
    command: str
    work_key: str
    args: dict[str, Any]
    started_at: float | None
    finished_at: float | None
    status: str                          # running, done, failed, interrupted
    counts: dict[str, Any]               # the command's own totals
    state: dict[str, Any]                # what a resumed run starts from
    items: dict[str, int]                # items by status: done, failed, ...

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FailedItem:
    item: str
    error: str
    updated_at: float | None


@dataclass(frozen=True)
class RunDetail(RunRecord):
    """One run with every item that failed (`enrich runs show ID`)."""

    failed: list[FailedItem]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunDetail:
        return cls(**{**data, "failed": [FailedItem(**f) for f in data["failed"]]})


@dataclass(frozen=True)
class PlaylistTrack:
    position: int                        # 1 = first
    path: str
    artist: str | None
    title: str | None
    duration: float | None               # seconds
    score: float | None                  # similarity to what was asked (seeds, genre, cluster); None for a seed
    tempo: float | None                  # BPM
    key: str | None                      # Camelot, '8A'
    energy: float | None                 # 0..1
    why: str                             # the reasons, as the dry run prints them


@dataclass(frozen=True)
class PlaylistRecord:
    name: str
    kind: str                            # seed, path, genre, auto, lastfm
    file: str | None                     # the M3U8 written (None in a dry run)
    tracks: list[PlaylistTrack]
    count: int
    minutes: float
    notes: list[str]
    excluded: dict[str, int]             # tracks left out, by reason


@dataclass(frozen=True)
class PlayedTrack:
    artist: str
    title: str
    plays: int                           # in the period (recent: among the scrobbles read)


@dataclass(frozen=True)
class LastfmReading:
    """What --lastfm-user read from Last.fm, and what of it the library has."""

    user: str
    period: str                          # 7day ... overall, or recent
    read: int                            # distinct songs read
    total: int | None                    # what Last.fm says the user has in the period
    pages: int
    matched: int                         # of them in the library
    seeds: int
    not_in_library: list[PlayedTrack]    # every one, most played first
    similar_artists: dict[str, int]      # asked (artists looked up), tracks_by_them (with a lastfm part > 0)
    notes: list[str]                     # lookups that failed (the playlist was still made)
    requests: int
    cache_hits: int


@dataclass(frozen=True)
class PlaylistsResult:
    """What `enrich playlists` made."""

    dry_run: bool
    out_dir: str | None
    library: dict[str, int]              # tracks, with_features, with_genres, missing_files, ...
    playlists: list[PlaylistRecord]
    timings_ms: dict[str, float]
    library_from: str                    # snapshot (mapped), rebuilt (read, snapshot written) or database
    lastfm: LastfmReading | None = None  # with --lastfm-user

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlaylistsResult:
        made = [PlaylistRecord(**{**p, "tracks": [PlaylistTrack(**t) for t in p["tracks"]]})
                for p in data["playlists"]]
        lastfm = data.get("lastfm")
        reading = None if lastfm is None else LastfmReading(
            **{**lastfm, "not_in_library": [PlayedTrack(**t) for t in lastfm["not_in_library"]]})
        return cls(**{**data, "playlists": made, "lastfm": reading})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Range:
    min: float | None                    # either end may be open (None)
    max: float | None


@dataclass(frozen=True)
class PlaylistWish:
    """How the sentence was read (Claude's answer, every field checked); empty fields: it said nothing."""

    sentence: str
    title: str | None
    genres: list[str]                    # of the vocabulary only
    exclude_genres: list[str]
    tempo: Range | None                  # BPM
    energy: Range | None                 # 0..1
    loudness: Range | None               # LUFS
    mode: str | None                     # major or minor
    artists: list[str]                   # as written in the sentence
    tracks: int | None
    minutes: float | None
    ordering: str | None                 # steady, energy-up, ..., journey
    journey: list[str] | None            # [from, to]
    dropped: list[str]                   # "field: why", each part of the answer not obeyed


@dataclass(frozen=True)
class WishReading:
    """How the wish met the library."""

    artists: dict[str, int]              # name as written -> its tracks in the library
    filtered: dict[str, int]             # filter -> tracks it left out
    allowed: int                         # tracks that pass every filter
    notes: list[str]


@dataclass(frozen=True)
class ClaudeUsage:
    """This run's requests to Claude, tokens and cost (an answer from the cache was paid for before)."""

    model: str
    requests: int
    from_cache: bool
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    cost_usd: float
    notices: list[str]


@dataclass(frozen=True)
class PromptPlaylist:
    """What `enrich playlists --prompt` made: the sentence as read, and its playlist."""

    prompt: str
    wish: PlaylistWish
    reading: WishReading
    claude: ClaudeUsage
    dry_run: bool
    out_dir: str | None
    library: dict[str, int]
    playlists: list[PlaylistRecord]      # one
    timings_ms: dict[str, float]
    library_from: str                    # snapshot, rebuilt or database

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptPlaylist:
        wish = data["wish"]
        ranges = {name: None if wish[name] is None else Range(**wish[name]) for name in ("tempo", "energy", "loudness")}
        made = [PlaylistRecord(**{**p, "tracks": [PlaylistTrack(**t) for t in p["tracks"]]})
                for p in data["playlists"]]
        return cls(**{**data, "wish": PlaylistWish(**{**wish, **ranges}), "reading": WishReading(**data["reading"]),
                      "claude": ClaudeUsage(**data["claude"]), "playlists": made})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ReportFile:
    """The page `enrich report` wrote."""

    out: str
    bytes: int
    map_points: int                      # tracks on the map by sound (a spread sample when there are more)
    tracks_with_features: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CacheStats:
    """What the disk HTTP cache holds (`enrich cache stats`); sizes in bytes."""

    cache_dir: str
    sources: dict[str, dict[str, Any]]   # per source: entries, bytes, last_run (hits, misses, hit_rate)
    last_run_at: float | None
    entries: int
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CachePruned:
    """What `enrich cache prune` removed (or, dry run, would remove)."""

    removed: dict[str, int]              # expired, unreadable, over_budget, temp
    kept_entries: int
    kept_bytes: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CacheCleared:
    removed: int
    source: str                          # a source's name, or 'all'
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SettingsPaths:
    database: str
    cache: str
    vocabulary: str
    defaults: str
    config_file: str | None              # None: no user file, the defaults only


@dataclass(frozen=True)
class Setting:
    key: str                             # dotted: 'genres.top_n' is top_n in [genres]
    value: Any                           # API keys show only '(set)' or '(not set)'
    origin: str                          # 'default', a file, '$ENRICH_DB', 'command line'


@dataclass(frozen=True)
class Settings:
    """The settings in force and where each came from (`enrich config`)."""

    paths: SettingsPaths
    settings: list[Setting]

    def as_dict(self) -> dict[str, Any]:
        return {"paths": dataclasses.asdict(self.paths),
                "settings": [{"key": s.key, "value": s.value, "from": s.origin} for s in self.settings]}
