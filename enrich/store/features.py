"""SQL for audio features, the feature-set names, and remembered analysis failures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import aiosqlite

from enrich.store.genres import root_clause, scalar

if TYPE_CHECKING:
    from enrich.analysis.featureset import Features
from enrich.store.writer import Op


class TrackToAnalyse(NamedTuple):
    id: int
    path: str  # readable form: the run item and the name in errors
    path_bytes: bytes | None  # the raw name, when it is not UTF-8
    size: int
    mtime_ns: int
    duration: float | None
    why: str  # new | changed | older version | retry


FEATURE_COLUMNS = (
    "track_id", "version", "analyzed_at", "file_size", "file_mtime_ns", "tempo", "tempo_confidence", "key_pc",
    "mode", "key_confidence", "camelot", "loudness", "energy", "vector", "seconds", "centroid", "rolloff",
    "flatness", "zcr", "tuning_hz", "key_strength", "tempo_alt",
)

UPSERT_FEATURES = (
    f"INSERT INTO features ({', '.join(FEATURE_COLUMNS)}) VALUES ({', '.join('?' for _ in FEATURE_COLUMNS)})"
    " ON CONFLICT (track_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in FEATURE_COLUMNS if c != "track_id")
)


def feature_set_op(version: int, names: Sequence[str]) -> Op:
    return ("INSERT INTO feature_sets (version, names) VALUES (?, ?)"
            " ON CONFLICT (version) DO UPDATE SET names = excluded.names WHERE names IS NOT excluded.names",
            (version, json.dumps(list(names))))


def features_op(track: TrackToAnalyse, version: int, f: Features, now: float) -> Op:
    """Store one track's features (``f`` is an analysis ``Features``) in the file state analysed."""
    values = dict(
        track_id=track.id, version=version, analyzed_at=now, file_size=track.size, file_mtime_ns=track.mtime_ns,
        tempo=f.tempo, tempo_confidence=f.tempo_confidence, key_pc=f.key_pc, mode=f.mode,
        key_confidence=f.key_confidence, camelot=f.camelot, loudness=f.loudness, energy=f.energy,
        vector=f.vector(), seconds=f.seconds, centroid=f.centroid[0], rolloff=f.rolloff[0],
        flatness=f.flatness[0], zcr=f.zcr[0], tuning_hz=f.tuning_hz, key_strength=f.key_strength,
        tempo_alt=f.tempo_alt,
    )
    return UPSERT_FEATURES, tuple(values[c] for c in FEATURE_COLUMNS)


def forget_failure_op(track_id: int) -> Op:
    return "DELETE FROM analysis_failures WHERE track_id = ?", (track_id,)


def failure_op(track: TrackToAnalyse, version: int, error: str, now: float) -> Op:
    return (
        "INSERT INTO analysis_failures (track_id, version, file_size, file_mtime_ns, error, failed_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (track_id) DO UPDATE SET version = excluded.version,"
        " file_size = excluded.file_size, file_mtime_ns = excluded.file_mtime_ns, error = excluded.error,"
        " failed_at = excluded.failed_at",
        (track.id, version, track.size, track.mtime_ns, error, now),
    )


def _todo_where(roots: Sequence[str], retry_failed: bool) -> tuple[str, list[Any]]:
    where, params = root_clause(roots)
    sql = (
        f" FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
        f" LEFT JOIN analysis_failures x ON x.track_id = t.id"
        f" WHERE t.missing = 0 AND {where}"
        " AND (f.track_id IS NULL OR f.version != :version OR f.file_size != t.size OR f.file_mtime_ns != t.mtime_ns)"
    )
    if not retry_failed:
        sql += (" AND NOT (x.track_id IS NOT NULL AND x.version = :version"
                " AND x.file_size = t.size AND x.file_mtime_ns = t.mtime_ns)")
    return sql, params


def _named(sql: str, params: list[Any], **named: Any) -> tuple[str, dict[str, Any]]:
    """Turn the positional root parameters into named ones so both kinds can mix."""
    values = dict(named)
    for i, p in enumerate(params):
        sql = sql.replace("?", f":r{i}", 1)
        values[f"r{i}"] = p
    return sql, values


async def tracks_to_analyse(conn: aiosqlite.Connection, roots: Sequence[str], version: int, *,
                            after_id: int = 0, limit: int = 500, retry_failed: bool = False) -> list[TrackToAnalyse]:
    """One page (by id) of the tracks under ``roots`` that need analysis: new, changed, or of an older version."""
    body, params = _todo_where(roots, retry_failed)
    sql, values = _named(
        "SELECT t.id, t.path, t.path_bytes, t.size, t.mtime_ns, t.duration,"
        " CASE WHEN f.track_id IS NULL AND x.track_id IS NULL THEN 'new'"
        " WHEN f.track_id IS NULL THEN 'retry'"
        " WHEN f.version != :version THEN 'older version' ELSE 'changed' END"
        + body + " AND t.id > :after ORDER BY t.id LIMIT :limit",
        params, version=version, after=after_id, limit=limit,
    )
    async with conn.execute(sql, values) as cur:
        return [TrackToAnalyse(*row) for row in await cur.fetchall()]


async def count_to_analyse(conn: aiosqlite.Connection, roots: Sequence[str], version: int, *,
                           retry_failed: bool = False) -> dict[str, int]:
    """How many tracks need analysis, by reason, and the total under ``roots``."""
    body, params = _todo_where(roots, retry_failed)
    sql, values = _named(
        "SELECT CASE WHEN f.track_id IS NULL AND x.track_id IS NULL THEN 'new'"
        " WHEN f.track_id IS NULL THEN 'retry'"
        " WHEN f.version != :version THEN 'older version' ELSE 'changed' END AS why, COUNT(*)"
        + body + " GROUP BY why",
        params, version=version,
    )
    async with conn.execute(sql, values) as cur:
        counts = {row[0]: row[1] for row in await cur.fetchall()}
    where, params = root_clause(roots)
    counts["tracks"] = await scalar(conn, f"SELECT COUNT(*) FROM tracks t WHERE t.missing = 0 AND {where}", params)
    sql, values = _named(
        "SELECT COUNT(*) FROM tracks t JOIN analysis_failures x ON x.track_id = t.id"
        f" WHERE t.missing = 0 AND {where} AND x.version = :version"
        " AND x.file_size = t.size AND x.file_mtime_ns = t.mtime_ns",
        params, version=version,
    )
    counts["remembered_failures"] = await scalar(conn, sql, values)
    return counts


async def older_versions(conn: aiosqlite.Connection, roots: Sequence[str], version: int) -> list[int]:
    """The feature-set versions, other than ``version``, that present tracks under ``roots`` were analysed with."""
    where, params = root_clause(roots)
    sql, values = _named(
        "SELECT DISTINCT f.version FROM features f JOIN tracks t ON t.id = f.track_id"
        f" WHERE t.missing = 0 AND {where} AND f.version != :version ORDER BY f.version",
        params, version=version,
    )
    async with conn.execute(sql, values) as cur:
        return [row[0] for row in await cur.fetchall()]


async def features_of(conn: aiosqlite.Connection, track_id: int) -> dict[str, Any] | None:
    async with conn.execute(f"SELECT {', '.join(FEATURE_COLUMNS)} FROM features WHERE track_id = ?",
                            (track_id,)) as cur:
        row = await cur.fetchone()
    return dict(zip(FEATURE_COLUMNS, row, strict=False)) if row else None


async def failures_under(conn: aiosqlite.Connection, roots: Sequence[str], limit: int = 1000) -> list[dict[str, Any]]:
    where, params = root_clause(roots)
    async with conn.execute(
        f"SELECT t.path, x.error FROM analysis_failures x JOIN tracks t ON t.id = x.track_id WHERE {where}"
        " ORDER BY t.path LIMIT ?", (*params, limit),
    ) as cur:
        return [{"item": r[0], "error": r[1]} for r in await cur.fetchall()]
