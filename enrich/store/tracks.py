"""SQL for tracks as the scan reads them, and for files it could not read.

Write functions return writer ops ``(sql, params)``; read functions are async
queries. Paths are the readable form (see ``enrich.library.walk.display``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import aiosqlite

from enrich.store.writer import Op

# Every column the scan fills, in order (id is SQLite's).
COLUMNS = (
    "path", "path_bytes", "size", "mtime_ns", "format", "codec", "duration", "sample_rate", "channels",
    "bitrate", "artist", "album_artist", "album", "title", "track_number", "track_total", "disc_number",
    "disc_total", "year", "mb_track_id", "mb_artist_id", "mb_album_id", "mb_releasegroup_id", "tag_genres",
    "tag_bpm", "tag_key", "scanned_at", "missing", "last_error", "from_filename", "read_notes",
)

UPSERT = (
    f"INSERT INTO tracks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    " ON CONFLICT (path) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "path")
)


class FileState(NamedTuple):
    size: int
    mtime_ns: int
    missing: bool = False


class BadFile(NamedTuple):
    size: int
    mtime_ns: int
    error: str


def upsert_op(row: Mapping[str, Any]) -> Op:
    """Insert or refresh one track; it is present and has no error."""
    values = {**row, "missing": 0, "last_error": None}
    return UPSERT, tuple(values.get(c) for c in COLUMNS)


def missing_op(path: str) -> Op:
    return "UPDATE tracks SET missing = 1 WHERE path = ?", (path,)


def present_op(path: str) -> Op:
    return "UPDATE tracks SET missing = 0 WHERE path = ?", (path,)


def unreadable_op(path: str, path_bytes: bytes | None, size: int, mtime_ns: int, error: str, now: float) -> Op:
    """Remember a file that could not be read in this state."""
    return (
        "INSERT INTO unreadable_files (path, path_bytes, size, mtime_ns, error, seen_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (path) DO UPDATE SET path_bytes = excluded.path_bytes, size = excluded.size,"
        " mtime_ns = excluded.mtime_ns, error = excluded.error, seen_at = excluded.seen_at",
        (path, path_bytes, size, mtime_ns, error, now),
    )


def track_error_op(path: str, error: str) -> Op:
    """A known track's file became unreadable: keep its row, note why (present, not missing)."""
    return "UPDATE tracks SET last_error = ?, missing = 0 WHERE path = ?", (error, path)


def forget_unreadable_op(path: str) -> Op:
    return "DELETE FROM unreadable_files WHERE path = ?", (path,)


# Rows a page of stored state holds: the scan compares a page at a time.
PAGE = 1000


def page_query(table_columns: str, after: str | None) -> str:
    # One lower bound only: given both `path >= low` and `path > after`, SQLite seeks to `low`
    # and steps over every row before `after`, and each page costs more than the last.
    low = "path >= ?" if after is None else "path > ?"
    return f"SELECT {table_columns} WHERE {low} AND path < ? ORDER BY path LIMIT ?"


async def file_states(conn: aiosqlite.Connection, low: str, high: str, after: str | None = None,
                      limit: int = PAGE) -> list[tuple[str, FileState]]:
    """Tracks' file states with ``low <= path < high`` (after ``after``), in path order: one page, by the path index."""
    rows = await page_rows(conn, "path, size, mtime_ns, missing FROM tracks", low, high, after, limit)
    return [(path, FileState(size, mtime, missing == 1)) for path, size, mtime, missing in rows]


async def unreadable_states(conn: aiosqlite.Connection, low: str, high: str, after: str | None = None,
                            limit: int = PAGE) -> list[tuple[str, BadFile]]:
    """Files that could not be read, as :func:`file_states` pages tracks."""
    rows = await page_rows(conn, "path, size, mtime_ns, error FROM unreadable_files", low, high, after, limit)
    return [(path, BadFile(size, mtime, error)) for path, size, mtime, error in rows]


async def page_rows(conn: aiosqlite.Connection, table_columns: str, low: str, high: str, after: str | None,
                    limit: int) -> list[Any]:
    async with conn.execute(page_query(table_columns, after), (low if after is None else after, high, limit)) as cur:
        cur.row_factory = None  # plain tuples: a rescan goes through every row, and sqlite3.Row costs more
        return list(await cur.fetchall())
