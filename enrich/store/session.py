"""The ways a command holds the database: writing (locked, one writer) or reading."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiosqlite

from enrich.config import Config
from enrich.errors import StoreError
from enrich.store.db import open_db
from enrich.store.lock import database_lock
from enrich.store.writer import Writer


@asynccontextmanager
async def writing(config: Config, command: str) -> AsyncIterator[tuple[aiosqlite.Connection, Writer]]:
    """Lock the database, open it, and run the one writer for the block."""
    db = config.paths.db
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
    """Open the database read-only; ``None`` when it does not exist yet.

    Used by dry runs and reports: they must not create or change anything.
    """
    db = Path(config.paths.db)
    if not db.exists():
        yield None
        return
    try:
        conn = await aiosqlite.connect(f"file:{urllib.parse.quote(os.fsencode(db.resolve()))}?mode=ro", uri=True,
                                       timeout=config.store.busy_timeout_ms / 1000)
        conn.row_factory = sqlite3.Row
        await conn.execute("SELECT name FROM sqlite_master LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{db}: not an SQLite database ({exc}); point --db at another file") from exc
    try:
        yield conn
    finally:
        await conn.close()
