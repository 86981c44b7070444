"""Opening the SQLite file: pragmas, checks, numbered migrations.

Migrations are ``migrations/NNNN_name.sql``; each is applied once, in order,
in its own transaction, and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

import aiosqlite

from enrich.errors import StoreError
from enrich.store import identity

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration, in order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append((int(path.name[:4]), path.stem, path.read_text(encoding="utf-8")))
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise StoreError(f"{MIGRATIONS_DIR}: two migrations share a number")
    return found


def check_location(path: Path) -> None:
    """Fail early, in words, when the database cannot live at ``path``."""
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file (--db / $ENRICH_DB)")
    parent = path.parent
    if not path.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the database folder: {exc.strerror}") from exc
        if not os.access(parent, os.W_OK):
            raise StoreError(f"{path}: cannot create the database: folder {parent} is read-only")
    elif not os.access(path, os.W_OK) or not os.access(parent, os.W_OK):
        raise StoreError(f"{path}: the database (or its folder) is read-only; SQLite needs both writable")


async def open_db(path: Path, *, busy_timeout_ms: int = 30000, migrate: bool = True) -> aiosqlite.Connection:
    """Open (creating if needed) enrich's database at ``path`` and bring its schema up to date.

    Another program's SQLite file is refused before anything is written to it
    (not even the journal mode, which lives in the file header).
    """
    path = Path(path)
    check_location(path)
    try:
        conn = await aiosqlite.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"{path}: cannot open the database: {exc}") from exc
    conn.row_factory = sqlite3.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        kind = await identity.inspect(conn)
        if kind is identity.Kind.FOREIGN:
            raise identity.foreign(path)
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        if kind is not identity.Kind.ENRICH:
            await conn.execute(identity.MARK_SQL)
        if migrate:
            await apply_migrations(conn)
    except BaseException as exc:
        await conn.close()  # its thread would keep the process alive
        if isinstance(exc, sqlite3.Error):
            raise identity.unusable(path, exc) from exc
        raise
    return conn


async def has_tables(conn: aiosqlite.Connection, *names: str) -> bool:
    """True when every table named exists (a database opened read-only may predate them)."""
    marks = ", ".join("?" for _ in names)
    async with conn.execute(f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",
                            names) as cur:
        row = await cur.fetchone()
    return row is not None and row[0] == len(set(names))


async def apply_migrations(conn: aiosqlite.Connection) -> list[str]:
    """Apply the migrations not yet in ``schema_migrations``; return their names."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cur:
        done = {row[0] for row in await cur.fetchall()}
    applied = []
    for number, name, sql in migrations():
        if number in done:
            continue  # the common case: one query, no write transaction
        await conn.execute("BEGIN IMMEDIATE")
        try:
            async with conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (number,)) as cur:
                if await cur.fetchone():
                    await conn.execute("COMMIT")
                    continue
            # executescript would commit on its own; run statement by statement instead.
            for statement in split_sql(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, time.time()),
            )
            await conn.execute("COMMIT")
            applied.append(name)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back itself (disk full)
                await conn.execute("ROLLBACK")
            raise
    return applied


def split_sql(script: str) -> list[str]:
    """Split a migration into complete statements (handles ';' in strings)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not all(text.strip().startswith("--") or not text.strip() for text in current.splitlines()):
        raise StoreError(f"incomplete SQL statement in a migration: {current.strip()[:60]}")
    return statements
