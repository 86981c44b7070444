"""SQL of `enrich duplicates`: every track's names, sound and tag completeness, and its feature vector.

Read-only (the caller's connection); two queries, read in pages, into the
columns of ``enrich.duplicates.groups.Tracks``. Tracks whose file the scan
found gone are left out: there is nothing left to keep or to remove.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from enrich.duplicates.groups import Tracks
from enrich.duplicates.keeper import TAG_FIELDS
from enrich.store.library_view import VECTORS_SQL, newest_feature_set, rows_of

PAGE = 5000

FILLED = {"genres": "(t.tag_genres IS NOT NULL AND t.tag_genres NOT IN ('', '[]'))"}
COMPLETENESS = " + ".join(FILLED.get(f, f"(t.{f} IS NOT NULL AND t.{f} != '')") for f in TAG_FIELDS)
# Fields the scan took from the file name (migration 0005) are not tags of the file.
FROM_NAME = "json_array_length(coalesce(t.from_filename, '[]'))"
TRACKS_SQL = (
    "SELECT t.id, t.path, coalesce(nullif(t.artist, ''), t.album_artist, ''), coalesce(t.title, ''),"
    " coalesce(t.album, ''), t.duration, coalesce(t.format, ''), lower(coalesce(t.codec, '')),"
    f" coalesce(t.bitrate, 0), lower(trim(coalesce(t.mb_track_id, ''))), t.missing != 0, {COMPLETENESS} - {{named}}"
    " FROM tracks t WHERE t.missing = 0 ORDER BY t.id"
)


def read_tracks(conn: sqlite3.Connection) -> Tracks:
    ids: list[int] = []
    paths: list[str] = []
    artists: list[str] = []
    titles: list[str] = []
    albums: list[str] = []
    duration: list[float] = []
    formats: list[str] = []
    codecs: list[str] = []
    bitrate: list[int] = []
    recordings: list[str] = []
    missing: list[int] = []
    tags: list[int] = []
    columns = (ids, paths, artists, titles, albums, duration, formats, codecs, bitrate, recordings, missing, tags)
    # Artists, albums, formats and codecs repeat: one string object each saves ~40 MB at 100,000 tracks.
    shared: dict[str, str] = {}
    repeated = (2, 4, 6, 7)
    columns_of_tracks = {r[1] for r in conn.execute("PRAGMA table_info(tracks)")}
    cursor = conn.execute(TRACKS_SQL.format(named=FROM_NAME if "from_filename" in columns_of_tracks else "0"))
    while page := cursor.fetchmany(PAGE):
        for k, (column, values) in enumerate(zip(columns, zip(*page, strict=True), strict=True)):
            if k in repeated:
                values = tuple(shared.setdefault(v, v) for v in values)
            column.extend(values)  # type: ignore[attr-defined]
    n = len(ids)
    id_array = np.array(ids, dtype=np.int64)
    version, names = newest_feature_set(conn)
    vectors = np.zeros((n, len(names)), dtype=np.float32)
    has = np.zeros(n, dtype=bool)
    if names and n:
        cursor = conn.execute(VECTORS_SQL, (version, len(names) * 4))
        while page := cursor.fetchmany(PAGE):
            at, known = rows_of(id_array, np.array([r[0] for r in page], dtype=np.int64))
            block = np.frombuffer(b"".join(r[1] for r in page), dtype="<f4").reshape(-1, len(names))
            vectors[at] = block[known]
            has[at] = True
        vectors[~np.isfinite(vectors)] = 0.0
    return Tracks(
        ids=id_array, paths=paths, artists=artists, titles=titles, albums=albums,
        duration=np.array([np.nan if d is None else d for d in duration], dtype=np.float64),
        formats=formats, codecs=codecs, bitrate=np.array(bitrate, dtype=np.int64), recordings=recordings,
        missing=np.array(missing, dtype=bool), tags=np.array(tags, dtype=np.int64),
        vectors=vectors, has_features=has, feature_names=names,
    )
