"""SQL of `enrich ls` and `enrich export`: a parsed query becomes a WHERE clause; rows stream out.

Read-only sqlite3 (no lock, nothing created), rows fetched a page at a time so
100,000 tracks never sit in memory at once. Text matches ignore case and
accents through a function registered on the connection.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from enrich.browse import query as q
from enrich.browse.keys import key_name
from enrich.browse.records import EXPORT_EXTRA, AlbumRecord, ArtistRecord, TrackRecord
from enrich.genres.normalise import strip_accents

PAGE = 500

TEXT_COLUMNS = {"artist": "t.artist", "album_artist": "t.album_artist", "album": "t.album", "title": "t.title",
                "path": "t.path", "format": "t.format"}
NUMBER_COLUMNS = {"year": "t.year", "track": "t.track_number", "disc": "t.disc_number", "id": "t.id",
                  "duration": "t.duration", "bpm": "f.tempo", "loudness": "f.loudness", "energy": "f.energy"}
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    **{name: (f"{col} COLLATE NOCASE",) for name, col in TEXT_COLUMNS.items()},
    "path": ("t.path",),  # as the index has it: the default order streams without sorting
    **{name: (col,) for name, col in NUMBER_COLUMNS.items()},
    "album_artist": ("coalesce(t.album_artist, t.artist) COLLATE NOCASE",),
    "camelot": ("CAST(substr(f.camelot, 1, length(f.camelot) - 1) AS INTEGER)", "f.camelot"),
    "key": ("f.key_pc", "f.mode"),
    "genre": ("(SELECT genre FROM track_genres g WHERE g.track_id = t.id AND g.rank = 0) COLLATE NOCASE",),
    "added": ("t.id",),
}
SORT_ALIASES = {"albumartist": "album_artist", "tempo": "bpm", "length": "duration"}
# Folder order: with the usual Artist/Album/NN Title layout that is artist, album, track; and it comes
# straight from the path index, so the first line appears at once on any library.
DEFAULT_SORT = ("path",)

GENRES_OF = ("(SELECT group_concat(genre, char(31)) FROM (SELECT genre FROM track_genres g WHERE g.track_id = t.id"
             " ORDER BY rank))")
PAGE_COLUMNS = (
    "t.id, t.path, t.artist, t.album_artist, t.album, t.title, t.year, t.track_number, t.disc_number,"
    " t.duration, t.format, t.missing, NULL, f.tempo, f.key_pc, f.mode, f.camelot, f.loudness, f.energy, f.version"
)
TRACK_SELECT = (
    "SELECT t.id, t.path, t.artist, t.album_artist, t.album, t.title, t.year, t.track_number, t.disc_number,"
    " t.duration, t.format, t.missing, " + GENRES_OF + ","
    " f.tempo, f.key_pc, f.mode, f.camelot, f.loudness, f.energy, f.version"
    " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
)


def search_key(text: str | None) -> str | None:
    """What text matches on: no case, no accents ('Sigur Rós' -> 'sigur ros')."""
    if text is None:
        return None
    return strip_accents(unicodedata.normalize("NFKC", text)).casefold()


def prepare(conn: sqlite3.Connection) -> None:
    """Register the matching function on a connection used for queries."""
    conn.create_function("enrich_key", 1, search_key, deterministic=True)


def where_clause(query: q.Query) -> tuple[str, list[Any]]:
    """The WHERE condition of ``query`` over ``tracks t LEFT JOIN features f``."""
    if not query.groups:
        return "1", []
    params: list[Any] = []
    groups = []
    for group in query.groups:
        terms = []
        for term in group:
            options = " OR ".join(condition_sql(c, params) for c in term.options)
            terms.append(f"NOT ({options})" if term.negate else f"({options})")
        groups.append("(" + " AND ".join(terms) + ")")
    return "(" + " OR ".join(groups) + ")", params


def condition_sql(c: q.Condition, params: list[Any]) -> str:
    if isinstance(c, q.Text):
        params.append(search_key(c.value))
        column = TEXT_COLUMNS[c.field]
        return f"instr(enrich_key({column}), ?) > 0" if c.substring else f"enrich_key({column}) = ?"
    if isinstance(c, q.Words):
        key = search_key(c.value)
        params.extend([key] * 4)
        return " OR ".join(f"instr(enrich_key({TEXT_COLUMNS[f]}), ?) > 0"
                           for f in ("artist", "album_artist", "album", "title"))
    if isinstance(c, q.Range):
        column = NUMBER_COLUMNS[c.field]
        parts = []
        if c.low is not None:
            parts.append(f"{column} >= ?")
            params.append(c.low)
        if c.high is not None:
            parts.append(f"{column} {'<' if c.high_open else '<='} ?")
            params.append(c.high)
        return " AND ".join(parts)
    if isinstance(c, q.Genre):
        names = c.names or (c.name,)
        params.extend(names)
        marks = ", ".join("?" for _ in names)
        return f"t.id IN (SELECT track_id FROM track_genres WHERE genre IN ({marks}))"
    if isinstance(c, q.Key):
        params.extend(c.codes)
        return f"f.camelot IN ({', '.join('?' for _ in c.codes)})"
    if isinstance(c, q.Missing):
        return missing_sql(c.what)
    if isinstance(c, q.Failed):
        return failed_sql(c.command)
    if isinstance(c, q.Source):
        params.extend([c.name, c.name + "\\_%"] if c.name == "musicbrainz" else [c.name, c.name])
        return ("t.id IN (SELECT g.track_id FROM track_genres g, json_each(g.provenance) p"
                " WHERE json_extract(p.value, '$.source') = ? OR json_extract(p.value, '$.source') LIKE ? ESCAPE '\\')")
    raise TypeError(f"not a query condition: {c!r}")


def missing_sql(what: str) -> str:
    if what == "genre":
        return "t.id NOT IN (SELECT track_id FROM track_genres)"
    if what == "features":
        return "f.track_id IS NULL"
    if what == "file":
        return "t.missing != 0"
    if what == "key":
        return "f.camelot IS NULL"
    if what in TEXT_COLUMNS:
        return f"coalesce({TEXT_COLUMNS[what]}, '') = ''"
    return f"{NUMBER_COLUMNS[what]} IS NULL"


def failed_sql(command: str) -> str:
    if command == "analyze":
        return "t.id IN (SELECT track_id FROM analysis_failures)"
    if command == "scan":
        return "t.last_error IS NOT NULL"
    # genres: the failed items (track ids) of its latest run
    return ("CAST(t.id AS TEXT) IN (SELECT item FROM run_items WHERE status = 'failed' AND run_id ="
            " (SELECT max(id) FROM runs WHERE command = 'genres'))")


def order_clause(sort: Sequence[str]) -> str:
    """ORDER BY for field names, each optionally prefixed with '-' for descending."""
    parts: list[str] = []
    for name in sort or DEFAULT_SORT:
        desc = name.startswith("-")
        field = SORT_ALIASES.get(name.lstrip("-+").lower(), name.lstrip("-+").lower())
        if field not in SORT_COLUMNS:
            raise q.QueryError(f"cannot sort by {name!r}{q.did_you_mean(field, SORT_COLUMNS)};"
                               f" fields: {', '.join(sorted(SORT_COLUMNS))}")
        nulls = "" if field == "path" else " NULLS LAST"  # path is never NULL; the clause would cost the index
        parts.extend(f"{c}{' DESC' if desc else ''}{nulls}" for c in SORT_COLUMNS[field])
    return ", ".join([*parts, "t.id"])


def pages(cursor: sqlite3.Cursor) -> Iterator[Any]:
    while True:
        rows = cursor.fetchmany(PAGE)
        if not rows:
            return
        yield from rows


def tracks(conn: sqlite3.Connection, query: q.Query, *, sort: Sequence[str] = (),
           limit: int | None = None) -> Iterator[TrackRecord]:
    """Matching tracks in order. The order is found over ids alone (a small sort),
    then the full rows are read a page at a time, so the first line comes early."""
    where, params = where_clause(query)
    order = order_clause(sort)
    ids = conn.execute(
        f"SELECT t.id FROM tracks t LEFT JOIN features f ON f.track_id = t.id WHERE {where} ORDER BY {order} LIMIT ?",
        [*params, -1 if limit is None else limit])
    while page := [row[0] for row in ids.fetchmany(PAGE)]:
        marks = ", ".join("?" for _ in page)
        rows = {row[0]: row for row in conn.execute(
            f"SELECT {PAGE_COLUMNS} FROM tracks t LEFT JOIN features f ON f.track_id = t.id WHERE t.id IN ({marks})",
            page)}
        genres: dict[int, list[str]] = {}
        for track_id, genre in conn.execute(
                f"SELECT track_id, genre FROM track_genres WHERE track_id IN ({marks}) ORDER BY track_id, rank", page):
            genres.setdefault(track_id, []).append(genre)
        for track_id in page:
            row = rows[track_id]
            found = genres.get(track_id)
            yield track_record((*row[:12], "\x1f".join(found) if found else None, *row[13:]))


def track_record(row: Sequence[Any]) -> TrackRecord:
    (id_, path, artist, album_artist, album, title, year, track, disc, duration, fmt, missing, genres,
     tempo, key_pc, mode, camelot, loudness, energy, version) = row
    return TrackRecord(
        id=id_, path=path, artist=artist, album_artist=album_artist, album=album, title=title, year=year,
        track=track, disc=disc, duration=duration, format=fmt, missing=bool(missing),
        genres=tuple(genres.split("\x1f")) if genres else (), bpm=tempo, key=key_name(key_pc, mode),
        camelot=camelot, loudness=loudness, energy=energy, feature_version=version,
    )


def top(joined: str | None) -> str | None:
    """The most common of the char(31)-joined values (first seen wins a tie)."""
    if not joined:
        return None
    return Counter(joined.split("\x1f")).most_common(1)[0][0]


FIRST_GENRE = "(SELECT genre FROM track_genres g WHERE g.track_id = t.id AND g.rank = 0)"


def albums(conn: sqlite3.Connection, query: q.Query, *, limit: int | None = None) -> Iterator[AlbumRecord]:
    where, params = where_clause(query)
    sql = (
        "SELECT coalesce(t.album_artist, t.artist) AS aa, t.album, min(t.year), count(*), sum(t.duration),"
        f" group_concat({FIRST_GENRE}, char(31)), avg(f.tempo), avg(f.loudness)"
        " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
        f" WHERE {where} GROUP BY aa COLLATE NOCASE, t.album COLLATE NOCASE"
        " ORDER BY aa COLLATE NOCASE, t.album COLLATE NOCASE LIMIT ?"
    )
    for aa, album, year, count, duration, genres, bpm, loudness in pages(
            conn.execute(sql, [*params, -1 if limit is None else limit])):
        yield AlbumRecord(aa, album, year, count, duration, top(genres), bpm, loudness)


def artists(conn: sqlite3.Connection, query: q.Query, *, limit: int | None = None) -> Iterator[ArtistRecord]:
    where, params = where_clause(query)
    sql = (
        "SELECT t.artist, count(*), count(DISTINCT t.album), min(t.year), max(t.year),"
        f" group_concat({FIRST_GENRE}, char(31)), avg(f.tempo)"
        " FROM tracks t LEFT JOIN features f ON f.track_id = t.id"
        f" WHERE {where} GROUP BY t.artist COLLATE NOCASE ORDER BY t.artist COLLATE NOCASE LIMIT ?"
    )
    for artist, count, album_count, first, last, genres, bpm in pages(
            conn.execute(sql, [*params, -1 if limit is None else limit])):
        yield ArtistRecord(artist, count, album_count, first, last, top(genres), bpm)


EXPORT_SELECT = (
    "SELECT t.id, t.path, t.artist, t.album_artist, t.album, t.title, t.year, t.track_number, t.disc_number,"
    " t.duration, t.format, t.missing,"
    " (SELECT json_group_array(json_object('genre', genre, 'score', score, 'level', level)) FROM"
    " (SELECT genre, score, level FROM track_genres g WHERE g.track_id = t.id ORDER BY rank)),"
    " f.tempo, f.key_pc, f.mode, f.camelot, f.loudness, f.energy, f.version,"
    " t.codec, t.sample_rate, t.channels, t.bitrate, t.mb_track_id, t.mb_artist_id, t.mb_album_id, t.tag_genres,"
    " f.tempo_confidence, f.key_confidence, f.analyzed_at, s.enriched_at, s.status"
    " FROM tracks t LEFT JOIN features f ON f.track_id = t.id LEFT JOIN genre_state s ON s.track_id = t.id"
)


def export_rows(conn: sqlite3.Connection, query: q.Query, *, sort: Sequence[str] = (),
                limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every column worth exporting, one dict per track; genres with their scores."""
    where, params = where_clause(query)
    sql = f"{EXPORT_SELECT} WHERE {where} ORDER BY {order_clause(sort)} LIMIT ?"
    for row in pages(conn.execute(sql, [*params, -1 if limit is None else limit])):
        scored = json.loads(row[12] or "[]")
        record = track_record((*row[:12], "\x1f".join(g["genre"] for g in scored) or None, *row[13:20]))
        data = record.as_dict()
        data["genre_scores"] = {g["genre"]: g["score"] for g in scored}
        extra = dict(zip(EXPORT_EXTRA, row[20:], strict=True))
        try:
            extra["file_genres"] = json.loads(extra["file_genres"] or "[]")
        except ValueError:
            extra["file_genres"] = []
        data.update(extra)
        yield data


def find_track(conn: sqlite3.Connection, ref: str, limit: int = 5) -> list[TrackRecord]:
    """Tracks by id, exact path, or 'Artist - Title' / words of the path (case-insensitive)."""
    args: list[Any]
    if ref.isdigit():
        sql, args = f"{TRACK_SELECT} WHERE t.id = ?", [int(ref)]
    else:
        literal = ref.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = "%" + literal + "%"
        sql = (f"{TRACK_SELECT} WHERE t.path = ? OR lower(coalesce(t.artist,'') || ' - ' || coalesce(t.title,''))"
               " LIKE ? ESCAPE '\\' OR lower(t.path) LIKE ? ESCAPE '\\' ORDER BY (t.path = ?) DESC, t.id LIMIT ?")
        args = [ref, pattern, pattern, ref, limit]
    return [track_record(row) for row in conn.execute(sql, args).fetchall()]
