"""The ways a command holds the database: writing (locked, one writer) or reading."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from enrich.config import Config
from enrich.store import identity
from enrich.store.db import check_location, open_db
from enrich.store.lock import database_lock
from enrich.store.writer import Writer


@asynccontextmanager
async def writing(config: Config, command: str) -> AsyncIterator[tuple[aiosqlite.Connection, Writer]]:
    """Lock the database, open it, and run the one writer for the block."""
    db = config.paths.db
    check_location(db)  # a read-only place is said as such, before the file is read
    identity.refuse_unless_ours(db)
    with database_lock(db, command):
        conn = await open_db(db, busy_timeout_ms=config.store.busy_timeout_ms)
        try:
            async with Writer(
                conn,
                batch_size=config.store.batch_size,
                flush_interval=config.store.flush_interval,
                queue_size=config.store.queue_size,
            ) as writer:
                yield conn, writer
        finally:
            await conn.close()


@asynccontextmanager
async def reading(config: Config) -> AsyncIterator[aiosqlite.Connection | None]:
    """Open the database read-only; ``None`` when it holds nothing yet (absent, or no tables).

    Used by dry runs and reports: they must not create or change anything.
    Another program's SQLite file, or a file SQLite cannot read, is a StoreError.
    """
    db = Path(config.paths.db)
    if not db.exists():
        yield None
        return
    try:
        conn = await aiosqlite.connect(f"file:{urllib.parse.quote(os.fsencode(db.resolve()))}?mode=ro", uri=True,
                                       timeout=config.store.busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise identity.unusable(db, exc) from exc
    try:
        conn.row_factory = sqlite3.Row
        kind = await identity.inspect(conn)
        if kind is identity.Kind.FOREIGN:
            raise identity.foreign(db)
        yield None if kind is identity.Kind.EMPTY else conn
    except sqlite3.DatabaseError as exc:  # a damaged page met half-way through a read
        raise identity.unusable(db, exc) from exc
    finally:
        await conn.close()  # always: its thread would keep the process alive
