"""SQL of `enrich stats` and the report: counts over the whole database, each one query."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

UNMAPPED = "not in the vocabulary"


def one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return conn.execute(sql, params).fetchone()[0]


def pairs(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(sql, params).fetchall()]


def track_counts(conn: sqlite3.Connection) -> dict[str, int]:
    total, missing, scan_errors = conn.execute(
        "SELECT count(*), coalesce(sum(missing != 0), 0), coalesce(sum(last_error IS NOT NULL), 0) FROM tracks"
    ).fetchone()
    return {"tracks": total, "present": total - missing, "missing_files": missing,
            "unreadable_files": one(conn, "SELECT count(*) FROM unreadable_files"), "scan_errors": scan_errors}


def genre_counts(conn: sqlite3.Connection) -> dict[str, Any]:
    with_genres = one(conn, "SELECT count(DISTINCT track_id) FROM track_genres")
    status = dict(pairs(conn, "SELECT status, count(*) FROM genre_state GROUP BY status"))
    by_source = dict(pairs(
        conn,
        "SELECT source, count(*) FROM (SELECT DISTINCT g.track_id, json_extract(p.value, '$.source') AS source"
        " FROM track_genres g, json_each(g.provenance) p) GROUP BY source ORDER BY count(*) DESC",
    ))
    asked_claude = dict(pairs(conn, "SELECT classifier, count(*) FROM genre_state WHERE classifier IS NOT NULL"
                                    " GROUP BY classifier ORDER BY count(*) DESC"))
    return {"tracks_with_genres": with_genres, "looked_up": sum(status.values()),
            "found": status.get("found", 0), "empty": status.get("empty", 0),
            "tracks_by_source": by_source, "claude_asked_because": asked_claude}


def top_genres(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The genres on most tracks (any rank), with how many tracks have it first."""
    return [{"genre": g, "tracks": n, "first": first} for g, n, first in pairs(
        conn,
        "SELECT genre, count(*), sum(rank = 0) FROM track_genres GROUP BY genre"
        " ORDER BY count(*) DESC, genre LIMIT ?", (limit,))]


def first_genres(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Every genre that is some track's first, with its track count."""
    return [(g, n) for g, n in pairs(conn, "SELECT genre, count(*) FROM track_genres WHERE rank = 0"
                                           " GROUP BY genre ORDER BY count(*) DESC")]


def dropped_tags(conn: sqlite3.Connection, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
    """Raw tags left out most often: unmapped (candidates for aliases.toml) and dropped (ignored)."""
    rows = pairs(
        conn,
        "SELECT lower(json_extract(d.value, '$.raw')) AS raw, json_extract(d.value, '$.reason') AS reason,"
        " count(*) AS n, count(DISTINCT s.track_id) FROM genre_state s, json_each(s.dropped) d"
        " GROUP BY raw, reason ORDER BY n DESC, raw",
    )
    unmapped = [{"tag": r, "count": n, "tracks": t} for r, why, n, t in rows if why == UNMAPPED][:limit]
    dropped = [{"tag": r, "reason": why, "count": n, "tracks": t} for r, why, n, t in rows if why != UNMAPPED][:limit]
    return {"unmapped": unmapped, "dropped": dropped}


def feature_counts(conn: sqlite3.Connection) -> dict[str, Any]:
    by_version = {str(v): n for v, n in pairs(conn, "SELECT version, count(*) FROM features GROUP BY version"
                                                    " ORDER BY version")}
    return {"tracks_with_features": sum(by_version.values()), "by_version": by_version}


def failures(conn: sqlite3.Connection, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
    """Failures by reason: analysis, unreadable files, and the latest genres run."""
    analyze = pairs(conn, "SELECT error, count(*) FROM analysis_failures GROUP BY error"
                          " ORDER BY count(*) DESC, error LIMIT ?", (limit,))
    scan = pairs(conn, "SELECT error, count(*) FROM unreadable_files GROUP BY error"
                       " ORDER BY count(*) DESC, error LIMIT ?", (limit,))
    genres = pairs(conn, "SELECT error, count(*) FROM run_items WHERE status = 'failed' AND run_id ="
                         " (SELECT max(id) FROM runs WHERE command = 'genres') GROUP BY error"
                         " ORDER BY count(*) DESC, error LIMIT ?", (limit,))
    return {name: [{"reason": r, "count": n} for r, n in rows]
            for name, rows in (("analyze", analyze), ("scan", scan), ("genres", genres))}


def last_runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The latest run of each command: when it started and ended, how, and its counts."""
    found = []
    for row in conn.execute(
        "SELECT r.command, r.id, r.status, r.started_at, r.finished_at, r.counts FROM runs r"
        " WHERE r.id = (SELECT max(id) FROM runs x WHERE x.command = r.command) ORDER BY r.command"
    ):
        command, run_id, status, started, finished, counts = row
        found.append({"command": command, "run": run_id, "status": status, "started_at": started,
                      "finished_at": finished, "counts": json.loads(counts or "{}")})
    return found


def run_history(conn: sqlite3.Connection, limit: int = 200) -> list[dict[str, Any]]:
    """The newest runs, oldest first: for the report's timeline."""
    rows = pairs(conn, "SELECT id, command, status, started_at, finished_at FROM runs ORDER BY id DESC LIMIT ?",
                 (limit,))
    return [{"run": i, "command": c, "status": s, "started_at": a, "finished_at": b} for i, c, s, a, b in rows[::-1]]


def histogram(conn: sqlite3.Connection, column: str, width: float) -> list[tuple[float, int]]:
    """(bin start, tracks) of a features column (tempo, loudness, energy) in bins of ``width``."""
    if column not in ("tempo", "loudness", "energy"):
        raise ValueError(column)
    return [(b * width, n) for b, n in pairs(
        conn, f"SELECT CAST(floor({column} / ?) AS INTEGER) AS b, count(*) FROM features"
              f" WHERE {column} IS NOT NULL GROUP BY b ORDER BY b", (width,))]


def camelot_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(pairs(conn, "SELECT camelot, count(*) FROM features WHERE camelot IS NOT NULL GROUP BY camelot"))


def feature_sample(conn: sqlite3.Connection, sample: int) -> tuple[int, list[str], list[tuple[Any, ...]]]:
    """(tracks with vectors of the newest set, element names, up to ``sample`` rows of
    (artist, title, first genre, vector bytes)), spread evenly over ids."""
    row = conn.execute("SELECT s.version, s.names FROM feature_sets s WHERE EXISTS"
                       " (SELECT 1 FROM features f WHERE f.version = s.version) ORDER BY s.version DESC LIMIT 1"
                       ).fetchone()
    if row is None:
        return 0, [], []
    version, names_json = row
    names = [str(n) for n in json.loads(names_json or "[]")]
    total = one(conn, "SELECT count(*) FROM features WHERE version = ? AND length(vector) = ?",
                (version, 4 * len(names)))
    step = max(1, -(-total // sample)) if total else 1
    rows = pairs(
        conn,
        "SELECT t.artist, t.title, (SELECT genre FROM track_genres g WHERE g.track_id = t.id AND g.rank = 0),"
        " f.vector FROM features f JOIN tracks t ON t.id = f.track_id"
        " WHERE f.version = ? AND length(f.vector) = ? AND (f.rowid % ?) = 0 LIMIT ?",
        (version, 4 * len(names), step, sample),
    )
    return total, names, rows
