"""The whole library as column arrays, for playlists: three queries, no writes.

Playlists score every track against a seed at once, so the library is read in
one pass into numpy columns: per-track scalars, the feature vectors of the
newest feature set as one float32 matrix, and the top genres of each track as
fixed-width (index, weight) slots. Opened read-only with the sqlite3 module
directly: no lock, no migrations, nothing created.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enrich.errors import StoreError

# Genre slots kept per track (ranks 0..GENRE_SLOTS-1).
GENRE_SLOTS = 3


@dataclass
class LibraryView:
    ids: np.ndarray            # int64, sorted
    paths: list[str]
    artists: list[str]
    titles: list[str]
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
    genre_ids: np.ndarray      # int32 (n, GENRE_SLOTS), -1 = empty slot
    genre_weights: np.ndarray  # float32 (n, GENRE_SLOTS), top slot of a track = 1

    def __len__(self) -> int:
        return len(self.ids)


def connect_readonly(db: Path, busy_timeout_ms: int = 30000) -> sqlite3.Connection:
    db = Path(db)
    if not db.is_file():
        raise StoreError(f"{db}: no database here yet; run `enrich scan` first (or point --db at one)")
    try:
        conn = sqlite3.connect(f"file:{urllib.parse.quote(str(db.resolve()))}?mode=ro", uri=True,
                               timeout=busy_timeout_ms / 1000)
        conn.execute("SELECT name FROM sqlite_master LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{db}: not an SQLite database ({exc}); point --db at another file") from exc
    return conn


def load_library(db: Path, busy_timeout_ms: int = 30000) -> LibraryView:
    """Read every track with its newest features and top genres."""
    conn = connect_readonly(db, busy_timeout_ms)
    try:
        return read_view(conn)
    except sqlite3.OperationalError as exc:
        raise StoreError(f"{db}: cannot read the library ({exc}); is it an enrich database?") from exc
    finally:
        conn.close()


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


def read_view(conn: sqlite3.Connection) -> LibraryView:
    version, names = newest_feature_set(conn)
    rows = conn.execute(
        "SELECT t.id, t.path, coalesce(t.artist, ''), coalesce(t.title, ''), t.duration, t.missing,"
        " f.version, f.tempo, f.camelot, f.key_pc, f.mode, f.energy, f.loudness, f.vector"
        " FROM tracks t LEFT JOIN features f ON f.track_id = t.id ORDER BY t.id"
    ).fetchall()
    n = len(rows)
    if n == 0:
        cols: list = [[] for _ in range(14)]
    else:
        cols = list(zip(*rows))
    ids = np.array(cols[0], dtype=np.int64)
    dims = len(names)
    width = dims * 4
    has = np.array([v == version and b is not None and len(b) == width for v, b in zip(cols[6], cols[13])],
                   dtype=bool) if n else np.zeros(0, bool)
    vectors = np.zeros((n, dims), dtype=np.float32)
    if dims and has.any():
        blob = b"".join(b for b, ok in zip(cols[13], has) if ok)
        vectors[has] = np.frombuffer(blob, dtype="<f4").reshape(-1, dims)
        vectors[~np.isfinite(vectors)] = 0.0
    camelot = np.array([camelot_index(c, k, m) for c, k, m in zip(cols[8], cols[9], cols[10])], dtype=np.int8)
    genre_names, genre_ids, genre_weights = read_genres(conn, ids)
    return LibraryView(
        ids=ids,
        paths=list(cols[1]),
        artists=list(cols[2]),
        titles=list(cols[3]),
        duration=floats(cols[4]),
        missing=np.array(cols[5], dtype=bool) if n else np.zeros(0, bool),
        tempo=floats(cols[7]),
        camelot=camelot,
        energy=floats(cols[11]),
        loudness=floats(cols[12]),
        vectors=vectors,
        has_features=has,
        feature_names=names,
        genre_names=genre_names,
        genre_ids=genre_ids,
        genre_weights=genre_weights,
    )


def floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


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
    rows = conn.execute(
        "SELECT track_id, genre, score FROM track_genres WHERE rank < ? ORDER BY track_id, rank",
        (GENRE_SLOTS,),
    ).fetchall()
    n = len(ids)
    genre_ids = np.full((n, GENRE_SLOTS), -1, dtype=np.int32)
    weights = np.zeros((n, GENRE_SLOTS), dtype=np.float32)
    if not rows or n == 0:
        return [], genre_ids, weights
    track_ids, genres, scores = zip(*rows)
    names = sorted(set(genres))
    index = {g: i for i, g in enumerate(names)}
    tid = np.array(track_ids, dtype=np.int64)
    row_of = np.searchsorted(ids, tid)
    known = (row_of < n) & (ids[np.minimum(row_of, n - 1)] == tid)
    starts = np.r_[0, np.flatnonzero(np.diff(tid)) + 1]
    slot = np.arange(len(tid)) - np.repeat(starts, np.diff(np.r_[starts, len(tid)]))
    gid = np.array([index[g] for g in genres], dtype=np.int32)
    score = np.clip(np.nan_to_num(np.array(scores, dtype=np.float32)), 0.0, None)
    keep = known & (slot < GENRE_SLOTS)
    genre_ids[row_of[keep], slot[keep]] = gid[keep]
    weights[row_of[keep], slot[keep]] = score[keep]
    # Relative to the track's strongest genre: a track's best genre counts fully.
    top = weights.max(axis=1, keepdims=True)
    weights = np.where(top > 0, weights / np.where(top > 0, top, 1), (genre_ids >= 0).astype(np.float32))
    return names, genre_ids, weights.astype(np.float32)
