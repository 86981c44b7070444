"""Opening the database read-only with sqlite3: no lock, no migrations, nothing created.

Used by playlists (the library view) and by ls, stats, export and report.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

from enrich.errors import StoreError
from enrich.store import identity


def connect_readonly(db: Path, busy_timeout_ms: int = 30000) -> sqlite3.Connection:
    db = Path(db)
    if not db.is_file():
        raise StoreError(f"{db}: no database here yet; run `enrich scan` first (or point --db at one)")
    conn = None
    try:
        conn = sqlite3.connect(f"file:{urllib.parse.quote(str(db.resolve()))}?mode=ro", uri=True,
                               timeout=busy_timeout_ms / 1000)
        kind = identity.inspect_sync(conn)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise identity.unusable(db, exc) from exc
    if kind in (identity.Kind.FOREIGN, identity.Kind.EMPTY):
        conn.close()
        if kind is identity.Kind.FOREIGN:
            raise identity.foreign(db)
        raise StoreError(f"{db}: the database is empty; run `enrich scan` first (or point --db at another)")
    return conn
