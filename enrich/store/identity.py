"""Is this SQLite file enrich's? The mark in its header, and what to do without it.

enrich sets SQLite's ``application_id`` (a 32-bit number in the file header)
when it creates a database. A file without the mark is still enrich's when it
has enrich's ``schema_migrations`` (made before the mark existed); a file with
no tables at all (a 0-byte file, say) is a new database. Anything else belongs
to another program: enrich reads nothing from it and never writes into it.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from enum import Enum
from pathlib import Path

import aiosqlite

from enrich.errors import StoreError

APPLICATION_ID = 0x656E7263  # "enrc"
FIRST_MIGRATION = (1, "0001_foundation")

APP_ID_SQL = "PRAGMA application_id"
TABLES_SQL = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
MIGRATIONS_SQL = "SELECT version, name FROM schema_migrations"
MARK_SQL = f"PRAGMA application_id = {APPLICATION_ID}"


class Kind(Enum):
    ENRICH = "enrich"      # carries the mark
    UNMARKED = "unmarked"  # enrich's, from before the mark
    EMPTY = "empty"        # no tables yet: free to become enrich's
    FOREIGN = "foreign"    # another program's


def classify(app_id: int, tables: set[str], migrations: set[tuple[int, str]]) -> Kind:
    if app_id == APPLICATION_ID:
        return Kind.ENRICH
    if app_id != 0:
        return Kind.FOREIGN
    if not tables:
        return Kind.EMPTY
    started = FIRST_MIGRATION in migrations or (not migrations and tables == {"schema_migrations"})
    if "schema_migrations" in tables and started:
        return Kind.UNMARKED
    return Kind.FOREIGN


async def inspect(conn: aiosqlite.Connection) -> Kind:
    """What the file behind ``conn`` is; reads only."""
    async with conn.execute(APP_ID_SQL) as cur:
        row = await cur.fetchone()
    async with conn.execute(TABLES_SQL) as cur:
        tables = {r[0] for r in await cur.fetchall()}
    migrations: set[tuple[int, str]] = set()
    if "schema_migrations" in tables and row is not None and row[0] == 0:
        try:
            async with conn.execute(MIGRATIONS_SQL) as cur:
                migrations = {(r[0], r[1]) for r in await cur.fetchall()}
        except sqlite3.OperationalError:  # another program's table of the same name
            return Kind.FOREIGN
    return classify(row[0] if row else 0, tables, migrations)


def inspect_sync(conn: sqlite3.Connection) -> Kind:
    """:func:`inspect` for a plain ``sqlite3`` connection."""
    app_id = conn.execute(APP_ID_SQL).fetchone()[0]
    tables = {r[0] for r in conn.execute(TABLES_SQL)}
    migrations: set[tuple[int, str]] = set()
    if "schema_migrations" in tables and app_id == 0:
        try:
            migrations = {(r[0], r[1]) for r in conn.execute(MIGRATIONS_SQL)}
        except sqlite3.OperationalError:
            return Kind.FOREIGN
    return classify(app_id, tables, migrations)


def refuse_unless_ours(path: Path) -> None:
    """Raise the one-line StoreError when ``path`` is a file enrich must not touch.

    Checked before a writing run takes its lock, so refusing another program's
    file leaves nothing beside it (not even ``<db>.lock``). Reads only.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return  # absent or empty: free to become enrich's (open_db says why when it cannot)
    try:
        conn = sqlite3.connect(f"file:{urllib.parse.quote(os.fsencode(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise unusable(path, exc) from exc
    try:
        kind = inspect_sync(conn)
    except sqlite3.Error as exc:
        raise unusable(path, exc) from exc
    finally:
        conn.close()
    if kind is Kind.FOREIGN:
        raise foreign(path)


def foreign(path: Path) -> StoreError:
    return StoreError(f"{path}: not an enrich database (another program's SQLite file); "
                      "enrich neither reads nor writes it; point --db at another file")


def unusable(path: Path, exc: sqlite3.Error) -> StoreError:
    """One line for a file SQLite cannot use, told apart by SQLite's own error code."""
    code = getattr(exc, "sqlite_errorcode", None)
    code = None if code is None else code & 0xFF  # the primary code of an extended one
    if code == sqlite3.SQLITE_NOTADB:
        reason = "not an SQLite database"
    elif code == sqlite3.SQLITE_CORRUPT:
        reason = "the database file is damaged (truncated or overwritten)"
    elif code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
        reason = f"cannot write the database: the disk is full or failing ({exc})"
    else:
        reason = f"cannot use the database ({exc})"
    return StoreError(f"{path}: {reason}; point --db at another file or move this one away")
