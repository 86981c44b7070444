"""Plain typed records that `enrich.Library` returns and the commands render.

Units: seconds, BPM, LUFS, unix time; ``energy`` 0..1; ``camelot`` like '8A'.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TrackRecord:
    id: int
    path: str
    artist: str | None
    album_artist: str | None
    album: str | None
    title: str | None
    year: int | None
    track: int | None
    disc: int | None
    duration: float | None       # seconds
    format: str | None
    missing: bool                # the scan saw the file disappear
    genres: tuple[str, ...]      # canonical genres, best first
    bpm: float | None
    key: str | None              # 'A minor'
    camelot: str | None          # '8A'
    loudness: float | None       # integrated loudness, LUFS
    energy: float | None         # 0..1
    feature_version: int | None

    @property
    def genre(self) -> str | None:
        return self.genres[0] if self.genres else None

    def as_dict(self) -> dict[str, Any]:
        """Every field plus ``genre``; ``genres`` stays a list (for JSON)."""
        data = {name: getattr(self, name) for name in TRACK_COLUMNS}
        data["genres"] = list(self.genres)
        data["genre"] = self.genres[0] if self.genres else None
        return data


@dataclass(frozen=True, slots=True)
class AlbumRecord:
    album_artist: str | None
    album: str | None
    year: int | None
    tracks: int
    duration: float | None       # seconds, all tracks together
    genre: str | None            # the most common first genre of its tracks
    bpm: float | None            # mean
    loudness: float | None       # mean LUFS

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class ArtistRecord:
    artist: str | None
    tracks: int
    albums: int
    first_year: int | None
    last_year: int | None
    genre: str | None            # the most common first genre of its tracks
    bpm: float | None            # mean

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TRACK_COLUMNS = tuple(f.name for f in dataclasses.fields(TrackRecord))
TRACK_FIELDS = (*TRACK_COLUMNS, "genre")
# What `enrich export` adds to a track's fields (in the order of the store's export query).
EXPORT_EXTRA = ("codec", "sample_rate", "channels", "bitrate", "mb_track_id", "mb_artist_id", "mb_album_id",
                "file_genres", "tempo_confidence", "key_confidence", "analyzed_at", "genres_found_at",
                "genres_status")
EXPORT_COLUMNS = (*(f for f in TRACK_FIELDS if f != "genre"), "genre_scores", *EXPORT_EXTRA)
ALBUM_FIELDS = tuple(f.name for f in dataclasses.fields(AlbumRecord))
ARTIST_FIELDS = tuple(f.name for f in dataclasses.fields(ArtistRecord))
