"""--db pointing at something that is not a healthy enrich database: real files of each kind.

Every command answers one line and exits 2 (it used to hang with a database
thread left running, or print a traceback), and another program's SQLite file
is never written into.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
import time

import pytest

from enrich.errors import StoreError
from enrich.store import identity
from enrich.store.db import open_db
from tests.conftest import REPO, run_enrich

LIBRARY = REPO / "fixtures" / "library"
KINDS = ["truncated", "random", "text", "foreign"]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> bytes:
    """A real enrich database (the fixture library scanned into it), as bytes."""
    db = tmp_path_factory.mktemp("good") / "lib.db"
    done = run_enrich("scan", "--db", str(db), "-q", str(LIBRARY))
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db.read_bytes()


def make(kind: str, path, healthy: bytes = b""):
    if kind == "truncated":
        path.write_bytes(healthy[: len(healthy) // 4])
    elif kind == "random":
        path.write_bytes(os.urandom(50_000))
    elif kind == "text":
        path.write_text("my shopping list\neggs\nmilk\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
            conn.execute("INSERT INTO notes VALUES ('mine')")
        conn.close()
    return path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


COMMANDS = [
    ("runs",),
    ("runs", "show", "1"),
    ("genres", "--explain", "Daft Punk - Around the World"),
    ("genres", "--offline", "--dry-run", str(LIBRARY)),
    ("scan", str(LIBRARY)),
    ("playlists", "--genre", "rock", "--dry-run"),
    ("duplicates",),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_answers_one_line_and_exits_2(tmp_path, healthy, kind, args):
    db = make(kind, tmp_path / "lib.db", healthy)
    before = digest(db)
    started = time.monotonic()
    done = run_enrich(*args, "--db", str(db), "-q", timeout=30)  # it used to never exit
    elapsed = time.monotonic() - started
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (elapsed, done.stderr)
    assert len(lines) == 1 and str(db) in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert digest(db) == before  # nothing written into it
    assert not (tmp_path / "lib.db.lock").exists()  # nor anything left beside it
    if kind != "truncated":  # (enrich's own damaged file is in WAL mode: SQLite makes its -wal to read it)
        assert not (tmp_path / "lib.db-wal").exists()


@pytest.mark.slow
def test_another_programs_database_gets_no_tables_and_keeps_its_journal_mode(tmp_path):
    db = make("foreign", tmp_path / "other.db")
    done = run_enrich("scan", "--db", str(db), str(LIBRARY), timeout=30)
    assert done.returncode == 2 and "not an enrich database" in done.stderr
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"notes"}
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0
    conn.close()


@pytest.mark.slow
def test_a_zero_byte_file_is_a_new_database(tmp_path):
    db = make("empty", tmp_path / "lib.db")
    listed = run_enrich("runs", "--db", str(db), timeout=30)
    assert listed.returncode == 0 and "no runs yet" in listed.stdout, listed.stderr
    done = run_enrich("scan", "--db", str(db), "-q", str(LIBRARY), timeout=60)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == identity.APPLICATION_ID
        assert conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 12
    conn.close()


@pytest.mark.anyio
async def test_an_enrich_database_from_before_the_mark_is_recognised_and_marked(tmp_path):
    db = tmp_path / "lib.db"
    conn = await open_db(db)
    await conn.execute("PRAGMA application_id = 0")  # as every database made before the mark
    await conn.close()
    conn = await open_db(db)
    try:
        async with conn.execute("PRAGMA application_id") as cur:
            assert (await cur.fetchone())[0] == identity.APPLICATION_ID
    finally:
        await conn.close()


@pytest.mark.anyio
async def test_another_programs_schema_migrations_table_is_not_taken_for_ours(tmp_path):
    db = tmp_path / "rails.db"
    with sqlite3.connect(db) as plain:
        plain.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)")
        plain.execute("INSERT INTO schema_migrations VALUES ('20240101000000')")
        plain.execute("CREATE TABLE users (name TEXT)")
    plain.close()
    before = digest(db)
    with pytest.raises(StoreError, match="not an enrich database"):
        await open_db(db)
    assert digest(db) == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.anyio
async def test_a_failed_open_leaves_no_database_thread_behind(tmp_path, healthy, kind):
    from enrich.config import load
    from enrich.store.session import reading

    db = make(kind, tmp_path / "lib.db", healthy)
    config = load(None, overrides={"paths.db": str(db)})
    threads = set(threading.enumerate())
    with pytest.raises(StoreError):
        await open_db(db)
    with pytest.raises(StoreError):
        async with reading(config):
            pass
    await asyncio.sleep(0.1)
    assert set(threading.enumerate()) <= threads  # a thread left running kept the process from exiting


@pytest.mark.parametrize("app_id, tables, migrations, kind", [
    (identity.APPLICATION_ID, {"tracks"}, set(), identity.Kind.ENRICH),
    (0, set(), set(), identity.Kind.EMPTY),
    (0, {"schema_migrations", "runs"}, {(1, "0001_foundation")}, identity.Kind.UNMARKED),
    (0, {"schema_migrations"}, set(), identity.Kind.UNMARKED),  # killed during the first migration
    (0, {"schema_migrations", "users"}, {(20240101, "x")}, identity.Kind.FOREIGN),
    (0, {"notes"}, set(), identity.Kind.FOREIGN),
    (0x12345678, set(), set(), identity.Kind.FOREIGN),
])
def test_whose_database_it_is(app_id, tables, migrations, kind):
    assert identity.classify(app_id, tables, migrations) is kind

