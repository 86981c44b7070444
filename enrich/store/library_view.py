"""The whole library as column arrays, for playlists: a query or two per table, no writes.

Playlists score every track against a seed at once, so the library is read in
one pass into numpy columns: per-track scalars, the feature vectors of the
newest feature set as one float32 matrix, and the top genres of each track as
fixed-width (index, weight) slots. Opened read-only with the sqlite3 module
directly: no lock, no migrations, nothing created.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from enrich.errors import StoreError
from enrich.store import identity
from enrich.store.readonly import connect_readonly
from enrich.store.text_column import pack_texts

# Genre slots kept per track (ranks 0..GENRE_SLOTS-1).
GENRE_SLOTS = 3


@dataclass
class LibraryView:
    ids: np.ndarray            # int64, sorted
    paths: Sequence[str]       # lists, or text columns of a snapshot that decode a row when asked
    artists: Sequence[str]
    titles: Sequence[str]
    duration: np.ndarray       # float32 seconds, NaN when unknown
    missing: np.ndarray        # bool: the scan saw the file disappear
    tempo: np.ndarray          # float32 BPM, NaN when unknown
    camelot: np.ndarray        # int8 0..23 ((number-1)*2 + (0 A / 1 B)), -1 unknown
    energy: np.ndarray         # float32 0..1, NaN when unknown
    loudness: np.ndarray       # float32 LUFS, NaN when unknown
    vectors: np.ndarray        # float32 (n, dims); rows without features are 0
    has_features: np.ndarray   # bool
    feature_names: list[str]
    genre_names: list[str]
    genre_ids: np.ndarray      # int32 (n, GENRE_SLOTS), -1 = empty slot; column-major
    genre_weights: np.ndarray  # float32 (n, GENRE_SLOTS), top slot of a track = 1; column-major
    # Rows whose file name is not UTF-8: ``paths`` holds a readable form with \xNN,
    # this the name that opens the file (surrogate-escaped, as os.fsdecode gives).
    fs_paths: dict[int, str] = field(default_factory=dict)
    # float32 BPM of the second-best metrical level (half or double, usually), NaN when unknown.
    tempo_alt: np.ndarray | None = None
    # int32: the first row holding the same MusicBrainz recording, -1 for a recording held once (or no id).
    recording: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def fs_path(self, i: int) -> str:
        """The path that opens track ``i``."""
        return self.fs_paths.get(i, self.paths[i])


def load_library(db: Path, busy_timeout_ms: int = 30000) -> LibraryView:
    """Read every track with its newest features and top genres."""
    return load_library_at(db, busy_timeout_ms)[1]


def load_library_at(db: Path, busy_timeout_ms: int = 30000) -> tuple[str | None, LibraryView]:
    """(library generation, view): both read in one transaction, so the view is that generation's.

    The generation is None for a database from before migration 0006.
    """
    conn = connect_readonly(db, busy_timeout_ms)
    try:
        conn.execute("BEGIN")
        generation = read_generation(conn)
        return generation, read_view(conn)
    except sqlite3.DatabaseError as exc:
        raise identity.unusable(db, exc) from exc
    finally:
        conn.close()


def library_generation(db: Path, busy_timeout_ms: int = 30000) -> str | None:
    """The library's generation, "<database id>.<counter>" (None before migration 0006): one small query."""
    conn = connect_readonly(db, busy_timeout_ms)
    try:
        return read_generation(conn)
    except sqlite3.DatabaseError as exc:
        raise identity.unusable(db, exc) from exc
    finally:
        conn.close()


def read_generation(conn: sqlite3.Connection) -> str | None:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'library_generation'").fetchone()
    if not has_table:
        return None
    row = conn.execute("SELECT library, generation FROM library_generation WHERE id = 1").fetchone()
    return f"{row[0]}.{row[1]}" if row else None


def camelot_index(code: str | None, key_pc: int | None, mode: str | None) -> int:
    """'8A' -> 14; falls back to the pitch class and mode when the code is absent."""
    if code:
        code = code.strip().upper()
        if len(code) >= 2 and code[:-1].isdigit() and code[-1] in "AB" and 1 <= int(code[:-1]) <= 12:
            return (int(code[:-1]) - 1) * 2 + (code[-1] == "B")
    if key_pc is not None and mode in ("major", "minor"):
        pc = int(key_pc) % 12 if mode == "major" else (int(key_pc) + 3) % 12  # relative major
        number = (pc * 7 + 7) % 12 + 1
        return (number - 1) * 2 + (mode == "major")
    return -1


# Each table is scanned once and every column comes back aggregated into ONE
# string, so a million tracks cost a handful of Python objects, not millions.
# Aggregates need no order: rows are matched by track id afterwards. A text
# column comes whole, with no separator, beside its rows' lengths in bytes.
TRACKS_SQL = (
    "SELECT count(*), group_concat(id), group_concat(path, ''), group_concat(length(CAST(path AS BLOB))),"
    " group_concat(coalesce(artist, ''), ''), group_concat(length(CAST(coalesce(artist, '') AS BLOB))),"
    " group_concat(coalesce(title, ''), ''), group_concat(length(CAST(coalesce(title, '') AS BLOB))),"
    " group_concat(ifnull(duration, 'nan')), group_concat(missing != 0) FROM tracks"
)
FEATURES_SQL = (
    "SELECT count(*), group_concat(track_id), group_concat(ifnull(tempo, 'nan')), group_concat(ifnull(energy, 'nan')),"
    " group_concat(ifnull(loudness, 'nan')),"
    " group_concat(ifnull(version = ? AND length(vector) = ?, 0)), group_concat(ifnull(tempo_alt, 'nan'))"
    " FROM features"
)
# Categorical columns come back one row per value with the ids that have it: no Python object per track.
CAMELOT_SQL = (
    "SELECT ifnull(camelot, ifnull(key_pc || mode, '')) AS code, count(*), group_concat(track_id)"
    " FROM features GROUP BY code"
)
GENRES_SQL = (
    "SELECT genre, count(*), group_concat(track_id), group_concat(rank), group_concat(ifnull(score, 0))"
    " FROM track_genres WHERE rank < ? GROUP BY genre"
)
VECTORS_SQL = "SELECT track_id, vector FROM features WHERE version = ? AND length(vector) = ?"
VECTOR_ROWS = 16384
# Tracks that share a MusicBrainz recording id, one group a row (ids in the shape of one; the nil id ties nothing).
RECORDING_COPIES_SQL = (
    "SELECT group_concat(id) FROM tracks WHERE length(trim(mb_track_id)) = 36"
    " AND trim(mb_track_id) != '00000000-0000-0000-0000-000000000000'"
    " GROUP BY lower(trim(mb_track_id)) HAVING count(*) > 1"
)

# '8A' -> 14 and '9minor' (pitch class + mode, when the code is absent) -> 14.
CAMELOT_CODES = {
    **{f"{n}{letter}": (n - 1) * 2 + (letter == "B") for n in range(1, 13) for letter in "AB"},
    **{f"{pc}{mode}": camelot_index(None, pc, mode) for pc in range(12) for mode in ("major", "minor")},
}


def numbers(text: str | None, n: int, dtype: DTypeLike) -> np.ndarray:
    """The ``n`` numbers of a group_concat, parsed in C (a list of a million strings would cost ~60 MB).
    Integer columns parse as integers, 15x faster than as floats."""
    if n == 0 or text is None:
        return np.zeros(n, dtype=dtype)
    # Text mode parses nan and Inf as SQLite prints them.
    values = np.fromstring(text, dtype=np.int64 if np.issubdtype(dtype, np.integer) else np.float64, sep=",")
    if len(values) != n:
        raise ValueError(f"expected {n} numbers, read {len(values)}")
    return values.astype(dtype, copy=False)


def read_tracks(conn: sqlite3.Connection) -> tuple[np.ndarray, list[Sequence[str]], np.ndarray, np.ndarray]:
    """(ids, [paths, artists, titles], duration, missing), in id order; texts packed (see text_column)."""
    n, id_text, *text_parts, duration_text, missing_text = conn.execute(TRACKS_SQL).fetchone()
    ids = numbers(id_text, n, np.int64)
    duration = numbers(duration_text, n, np.float32)
    missing = numbers(missing_text, n, np.int8).astype(bool)
    columns: list[Sequence[str]] = []
    while text_parts:  # (whole column, lengths) per column; a million paths' text let go before the next
        joined, lengths = text_parts.pop(0), text_parts.pop(0)
        column = pack_texts(joined, numbers(lengths, n, np.int64))
        del joined
        if column is None:  # SQLite counts what it hands over: this would be a damaged database
            raise StoreError("the tracks' texts do not add up to their lengths: is the database damaged?")
        columns.append(column)
    if n and (np.diff(ids) <= 0).any():  # scans come in id order; keep it true when they do not
        order = np.argsort(ids, kind="stable")
        ids, duration, missing = ids[order], duration[order], missing[order]
        columns = [[c[i] for i in order.tolist()] for c in columns]
    return ids, columns, duration, missing


def read_camelot(conn: sqlite3.Connection, ids: np.ndarray) -> np.ndarray:
    camelot = np.full(len(ids), -1, np.int8)
    for code, count, track_text in conn.execute(CAMELOT_SQL):
        at, _ = rows_of(ids, numbers(track_text, count, np.int64))
        text = str(code)
        camelot[at] = CAMELOT_CODES.get(text.strip().upper() if len(text) <= 3 else text, -1)
    return camelot


def read_view(conn: sqlite3.Connection) -> LibraryView:
    version, names = newest_feature_set(conn)
    dims = len(names)
    ids, (paths, artists, titles), duration, missing = read_tracks(conn)
    n = len(ids)

    tempo = np.full(n, np.nan, np.float32)
    tempo_alt = np.full(n, np.nan, np.float32)
    energy = np.full(n, np.nan, np.float32)
    loudness = np.full(n, np.nan, np.float32)
    has = np.zeros(n, dtype=bool)
    m, fid_text, tempo_text, energy_text, loud_text, usable_text, alt_text = conn.execute(
        FEATURES_SQL, (version, dims * 4)).fetchone()
    if m and n:
        at, known = rows_of(ids, numbers(fid_text, m, np.int64))
        tempo[at] = numbers(tempo_text, m, np.float32)[known]
        tempo_alt[at] = numbers(alt_text, m, np.float32)[known]
        energy[at] = numbers(energy_text, m, np.float32)[known]
        loudness[at] = numbers(loud_text, m, np.float32)[known]
        has[at] = numbers(usable_text, m, np.int8).astype(bool)[known]
    del fid_text, tempo_text, energy_text, loud_text, usable_text, alt_text
    camelot = read_camelot(conn, ids) if m and n else np.full(n, -1, np.int8)

    vectors = np.zeros((n, dims), dtype=np.float32)
    if dims and has.any():
        cursor = conn.execute(VECTORS_SQL, (version, dims * 4))
        while rows := cursor.fetchmany(VECTOR_ROWS):  # a page at a time: a million rows at once would be ~400 MB
            at, known = rows_of(ids, np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
            vectors[at] = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(-1, dims)[known]
        vectors[~np.isfinite(vectors)] = 0.0
    genre_names, genre_ids, genre_weights = read_genres(conn, ids)
    fs_paths = {}
    if "path_bytes" in {r[1] for r in conn.execute("PRAGMA table_info(tracks)")}:
        raw = conn.execute("SELECT id, path_bytes FROM tracks WHERE path_bytes IS NOT NULL").fetchall()
        if raw:
            at, known = rows_of(ids, np.array([r[0] for r in raw], dtype=np.int64))
            kept = (r for r, k in zip(raw, known, strict=True) if k)
            fs_paths = {int(i): os.fsdecode(bytes(r[1])) for i, r in zip(at, kept, strict=False)}
    return LibraryView(
        ids=ids,
        paths=paths,
        artists=artists,
        titles=titles,
        duration=duration,
        missing=missing,
        tempo=tempo,
        camelot=camelot,
        energy=energy,
        loudness=loudness,
        vectors=vectors,
        has_features=has,
        feature_names=names,
        genre_names=genre_names,
        genre_ids=genre_ids,
        genre_weights=genre_weights,
        fs_paths=fs_paths,
        tempo_alt=tempo_alt,
        recording=read_recording_copies(conn, ids),
    )


def read_recording_copies(conn: sqlite3.Connection, ids: np.ndarray) -> np.ndarray:
    """Per row, the first row with the same MusicBrainz recording; -1 for a recording held once."""
    first = np.full(len(ids), -1, dtype=np.int32)
    for (group,) in conn.execute(RECORDING_COPIES_SQL):
        at, _ = rows_of(ids, numbers(group, group.count(",") + 1, np.int64))
        if len(at) > 1:
            first[at] = at.min()
    return first


def rows_of(ids: np.ndarray, track_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(library rows, mask of ``track_ids`` that are in the library) for rows of another table."""
    n = len(ids)
    pos = np.searchsorted(ids, track_ids)
    known = (pos < n) & (ids[np.minimum(pos, n - 1)] == track_ids)
    return pos[known], known


def newest_feature_set(conn: sqlite3.Connection) -> tuple[int | None, list[str]]:
    row = conn.execute(
        "SELECT s.version, s.names FROM feature_sets s"
        " WHERE EXISTS (SELECT 1 FROM features f WHERE f.version = s.version)"
        " ORDER BY s.version DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None, []
    try:
        names = json.loads(row[1])
    except ValueError:
        names = []
    return row[0], [str(n) for n in names] if isinstance(names, list) else []


def read_genres(conn: sqlite3.Connection, ids: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    n = len(ids)
    genre_ids = np.full((n, GENRE_SLOTS), -1, dtype=np.int32)
    weights = np.zeros((n, GENRE_SLOTS), dtype=np.float32)
    # In name order, so tracks ranking two genres alike keep them in the table's (track, genre) order.
    groups = sorted(conn.execute(GENRES_SQL, (GENRE_SLOTS,)).fetchall(), key=lambda g: str(g[0]))
    if not groups or n == 0:
        return [], genre_ids, weights
    names = [str(g[0]) for g in groups]
    gid = np.repeat(np.arange(len(groups), dtype=np.int32), [g[1] for g in groups])
    tid = np.concatenate([numbers(g[2], g[1], np.int64) for g in groups])
    rank = np.concatenate([numbers(g[3], g[1], np.int64) for g in groups])
    score = np.clip(np.nan_to_num(np.concatenate([numbers(g[4], g[1], np.float32) for g in groups])), 0.0, None)
    del groups
    order = np.lexsort((rank, tid))  # by track, then rank
    tid, gid, score = tid[order], gid[order], score[order]
    starts = np.r_[0, np.flatnonzero(np.diff(tid)) + 1]
    slot = np.arange(len(tid)) - np.repeat(starts, np.diff(np.r_[starts, len(tid)]))
    row_of = np.searchsorted(ids, tid)
    known = (row_of < n) & (ids[np.minimum(row_of, n - 1)] == tid)
    keep = known & (slot < GENRE_SLOTS)
    genre_ids[row_of[keep], slot[keep]] = gid[keep]
    weights[row_of[keep], slot[keep]] = score[keep]
    # Relative to the track's strongest genre: a track's best genre counts fully.
    top = weights.max(axis=1, keepdims=True)
    weights = np.where(top > 0, weights / np.where(top > 0, top, 1), (genre_ids >= 0).astype(np.float32))
    # Column-major: scoring reads each slot as one contiguous column.
    return names, np.asfortranarray(genre_ids), np.asfortranarray(weights, dtype=np.float32)
