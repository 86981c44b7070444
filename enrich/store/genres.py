"""SQL of `enrich genres`: which tracks need work, storing results, reading them back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from enrich.store.writer import Op

# What a track's genres were looked up from; a change re-enriches the track.
FINGERPRINT = (
    "? || char(31) || coalesce(t.artist, '') || char(31) || coalesce(t.album_artist, '') || char(31)"
    " || coalesce(t.album, '') || char(31) || coalesce(t.title, '') || char(31) || coalesce(t.mb_track_id, '')"
    " || char(31) || coalesce(t.mb_artist_id, '') || char(31) || coalesce(t.mb_releasegroup_id, '')"
)

TRACK_COLUMNS = ("id", "path", "format", "artist", "album_artist", "album", "title",
                 "mb_track_id", "mb_artist_id", "mb_releasegroup_id", "tag_genres")


@dataclass(frozen=True, slots=True)
class TrackToDo:
    id: int
    path: str
    format: str | None
    artist: str | None
    album_artist: str | None
    album: str | None
    title: str | None
    mb_track_id: str | None
    mb_artist_id: str | None
    mb_releasegroup_id: str | None
    tag_genres: str
    fingerprint: str
    why: str          # new, changed, stale


async def scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
    """The one value a query returns (an aggregate); None when it returns no row."""
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]


def root_clause(roots: Sequence[str]) -> tuple[str, list[Any]]:
    """Tracks at or under any of ``roots`` (range comparisons, so the path index serves)."""
    if not roots:
        return "1", []
    parts, params = [], []
    for root in roots:
        base = root.rstrip("/")
        parts.append("(t.path = ? OR (t.path > ? AND t.path < ?))")
        params += [base, base + "/", base + "0"]   # '0' sorts right after '/'
    return "(" + " OR ".join(parts) + ")", params


async def tracks_to_enrich(conn: aiosqlite.Connection, roots: Sequence[str], basis: str, *,
                           stale_before: float, empty_stale_before: float) -> list[TrackToDo]:
    """New, changed and stale tracks under ``roots``, ordered by artist so an
    artist's tracks are close together."""
    where, params = root_clause(roots)
    cols = ", ".join(f"t.{c}" for c in TRACK_COLUMNS)
    sql = (
        f"SELECT {cols}, {FINGERPRINT} AS fp,"
        " CASE WHEN s.track_id IS NULL THEN 'new' WHEN s.fingerprint != {FINGERPRINT} THEN 'changed'"
        " ELSE 'stale' END AS why"
        " FROM tracks t LEFT JOIN genre_state s ON s.track_id = t.id"
        f" WHERE t.missing = 0 AND {where} AND (s.track_id IS NULL OR s.fingerprint != {FINGERPRINT}"
        " OR (s.status = 'found' AND s.enriched_at < ?) OR (s.status = 'empty' AND s.enriched_at < ?))"
        " ORDER BY coalesce(t.album_artist, t.artist, ''), t.album, t.id"
    ).replace("{FINGERPRINT}", FINGERPRINT)
    args = [basis, basis, *params, basis, stale_before, empty_stale_before]
    async with conn.execute(sql, args) as cur:
        return [TrackToDo(*row) async for row in cur]


async def count_tracks(conn: aiosqlite.Connection, roots: Sequence[str]) -> int:
    where, params = root_clause(roots)
    return int(await scalar(conn, f"SELECT COUNT(*) FROM tracks t WHERE t.missing = 0 AND {where}", params))


def result_ops(track_id: int, fingerprint: str, genres: Sequence[Any], dropped: Sequence[dict[str, Any]],
               classifier: str | None, now: float) -> list[Op]:
    """Replace the track's genres and record its state (one writer group with its checkpoint)."""
    ops: list[Op] = [("DELETE FROM track_genres WHERE track_id = ?", (track_id,))]
    for rank, g in enumerate(genres):
        ops.append((
            "INSERT INTO track_genres (track_id, rank, genre, score, level, provenance) VALUES (?, ?, ?, ?, ?, ?)",
            (track_id, rank, g.genre, g.score, g.level, json.dumps(list(g.provenance), ensure_ascii=False)),
        ))
    ops.append((
        "INSERT INTO genre_state (track_id, fingerprint, enriched_at, status, classifier, dropped)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (track_id) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " enriched_at = excluded.enriched_at, status = excluded.status, classifier = excluded.classifier,"
        " dropped = excluded.dropped",
        (track_id, fingerprint, now, "found" if genres else "empty", classifier,
         json.dumps(list(dropped)[:50], ensure_ascii=False)),
    ))
    return ops


async def stored_genres(conn: aiosqlite.Connection, track_ids: Sequence[int]) -> dict[int, list[str]]:
    """The genres stored now, by track, in rank order."""
    found: dict[int, list[str]] = {}
    for start in range(0, len(track_ids), 500):
        chunk = list(track_ids[start:start + 500])
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT track_id, genre FROM track_genres WHERE track_id IN ({marks}) ORDER BY track_id, rank", chunk
        ) as cur:
            async for track_id, genre in cur:
                found.setdefault(track_id, []).append(genre)
    return found


async def find_tracks(conn: aiosqlite.Connection, ref: str, limit: int = 5) -> list[dict[str, Any]]:
    """A track by id, exact path, or 'Artist - Title' / words of its path (case-insensitive)."""
    cols = "id, path, artist, album, title"
    args: list[Any]
    if ref.isdigit():
        sql, args = f"SELECT {cols} FROM tracks WHERE id = ?", [int(ref)]
    else:
        sql = (f"SELECT {cols} FROM tracks WHERE path = ? OR lower(coalesce(artist,'') || ' - ' || coalesce(title,''))"
               " LIKE ? ESCAPE '\\' OR lower(path) LIKE ? ESCAPE '\\' ORDER BY (path = ?) DESC, id LIMIT ?")
        # '%' and '_' in the reference are meant literally ("100% Pure", "track_01").
        literal = ref.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = "%" + literal + "%"
        args = [ref, pattern, pattern, ref, limit]
    async with conn.execute(sql, args) as cur:
        names = ("id", "path", "artist", "album", "title")
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def explanation(conn: aiosqlite.Connection, track: dict[str, Any]) -> dict[str, Any]:
    async with conn.execute(
        "SELECT rank, genre, score, level, provenance FROM track_genres WHERE track_id = ? ORDER BY rank",
        (track["id"],),
    ) as cur:
        genres = [{"rank": r[0], "genre": r[1], "score": r[2], "level": r[3], "provenance": json.loads(r[4])}
                  for r in await cur.fetchall()]
    async with conn.execute(
        "SELECT enriched_at, status, classifier, dropped FROM genre_state WHERE track_id = ?", (track["id"],)
    ) as cur:
        row = await cur.fetchone()
    state = ({"enriched_at": row[0], "status": row[1], "classifier": row[2], "dropped": json.loads(row[3])}
             if row else None)
    return {"track": track, "genres": genres, "state": state}


def classification_op(key: str, answer: Sequence[tuple[str, float]], now: float) -> Op:
    return ("INSERT OR REPLACE INTO genre_classifications (key, answer, created_at) VALUES (?, ?, ?)",
            (key, json.dumps([list(a) for a in answer]), now))


async def classifications(conn: aiosqlite.Connection, keys: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
    found = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start:start + 500])
        marks = ",".join("?" * len(chunk))
        async with conn.execute(f"SELECT key, answer FROM genre_classifications WHERE key IN ({marks})", chunk) as cur:
            async for key, answer in cur:
                found[key] = [tuple(a) for a in json.loads(answer)]
    return found


async def tags_to_write(conn: aiosqlite.Connection,
                        roots: Sequence[str]) -> list[tuple[int, str, bytes | None, list[str], str]]:
    """(id, path, raw path bytes or None, genres, the file's genres as stored JSON) of tracks whose files
    do not hold their stored genres yet."""
    where, params = root_clause(roots)
    sql = (
        "SELECT t.id, t.path, t.path_bytes, t.tag_genres, (SELECT json_group_array(genre) FROM"
        " (SELECT genre FROM track_genres g WHERE g.track_id = t.id ORDER BY rank)) AS stored"
        f" FROM tracks t JOIN genre_state s ON s.track_id = t.id WHERE t.missing = 0 AND s.status = 'found' AND {where}"
    )
    out = []
    async with conn.execute(sql, params) as cur:
        async for track_id, path, path_bytes, tag_genres, stored in cur:
            genres = json.loads(stored)
            try:
                current = json.loads(tag_genres or "[]")
            except ValueError:
                current = None
            if genres and current != genres:
                out.append((track_id, path, path_bytes, genres, tag_genres))
    return out


def tags_written_op(track_id: int, genres: Sequence[str], size: int, mtime_ns: int) -> Op:
    """The file now holds ``genres``; its new size/mtime keep the next scan from re-reading it."""
    return ("UPDATE tracks SET tag_genres = ?, size = ?, mtime_ns = ? WHERE id = ?",
            (json.dumps(list(genres), ensure_ascii=False), size, mtime_ns, track_id))
