"""The SQLite file, migrations, and the one batched writer."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from enrich.errors import StoreError
from enrich.store.db import migrations, open_db
from enrich.store.writer import Writer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def conn(tmp_path):
    """The test's database, closed even when an assertion fails (an open one keeps pytest from exiting)."""
    connection = await open_db(tmp_path / "lib.db")
    yield connection
    await connection.close()

INSERT = "INSERT INTO runs (command, work_key, started_at, status) VALUES (?, ?, ?, 'running')"


async def test_open_applies_every_migration_once(tmp_path):
    db = tmp_path / "lib.db"
    conn = await open_db(db)
    async with conn.execute("SELECT version FROM schema_migrations ORDER BY version") as cur:
        versions = [r[0] for r in await cur.fetchall()]
    assert versions == [n for n, _, _ in migrations()]
    async with conn.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0] == "wal"
    async with conn.execute("PRAGMA foreign_keys") as cur:
        assert (await cur.fetchone())[0] == 1
    await conn.close()
    conn = await open_db(db)  # reopening applies nothing twice
    async with conn.execute("SELECT COUNT(*) FROM schema_migrations") as cur:
        assert (await cur.fetchone())[0] == len(versions)
    await conn.close()


async def test_a_file_that_is_not_sqlite_is_one_clear_error(tmp_path):
    db = tmp_path / "lib.db"
    db.write_text("these are my notes, not a database\n" * 50)
    with pytest.raises(StoreError, match="not an SQLite database") as err:
        await open_db(db)
    assert str(db) in str(err.value)
    assert db.read_text().startswith("these are my notes")  # untouched


async def test_read_only_location_is_one_clear_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        # root ignores mode bits; /proc/self refuses new files even to root.
        target = folder if not _can_write(folder) else Path("/proc/self")
        with pytest.raises(StoreError, match="read-only") as err:
            await open_db(target / "lib.db")
        assert str(target / "lib.db") in str(err.value)
    finally:
        folder.chmod(stat.S_IRWXU)


def _can_write(folder) -> bool:
    try:
        (folder / "probe").write_text("x")
        (folder / "probe").unlink()
        return True
    except OSError:
        return False


async def test_a_directory_given_as_db_is_an_error(tmp_path):
    with pytest.raises(StoreError, match="directory"):
        await open_db(tmp_path)


async def test_writer_batches_rows_into_few_transactions(tmp_path, conn):
    async with Writer(conn, batch_size=500, flush_interval=5) as writer:
        for i in range(2000):
            await writer.put(INSERT, ("scan", f"k{i}", float(i)))
    assert writer.stats.rows == 2000
    assert writer.stats.transactions <= 5  # 2000 rows / 500 per batch, never one per row
    async with conn.execute("SELECT COUNT(*) FROM runs") as cur:
        assert (await cur.fetchone())[0] == 2000


async def test_writer_flushes_partial_batch_after_interval(tmp_path, conn):
    async with Writer(conn, batch_size=10_000, flush_interval=0.05) as writer:
        await writer.put(INSERT, ("scan", "one", 1.0))
        await asyncio.sleep(0.3)
        async with conn.execute("SELECT COUNT(*) FROM runs") as cur:
            assert (await cur.fetchone())[0] == 1


async def test_a_group_commits_together_or_not_at_all(tmp_path, conn):
    writer = Writer(conn, batch_size=100, flush_interval=0.01)
    with pytest.raises(StoreError, match="NOT NULL"):
        async with writer:
            await writer.put_group([(INSERT, ("scan", "a", 1.0)), (INSERT, ("scan", "b", 2.0))])
            await writer.flush()
            # The second statement violates a constraint: the whole batch rolls back.
            await writer.put_group([(INSERT, ("scan", "c", 3.0)), (INSERT, ("scan", None, 4.0))])
            await writer.flush()
    async with conn.execute("SELECT work_key FROM runs ORDER BY id") as cur:
        assert [r[0] for r in await cur.fetchall()] == ["a", "b"]


async def test_no_batch_after_one_that_failed_is_committed(tmp_path, conn):
    # Batches are handed to the database thread before the ones ahead of them have committed:
    # when one fails, those handed over after it must not commit (their groups may rely on it).
    writer = Writer(conn, batch_size=1, flush_interval=5)
    with pytest.raises(StoreError, match="NOT NULL") as failed:
        async with writer:
            await writer.put(INSERT, ("scan", "before", 1.0))
            await writer.flush()
            await writer.put(INSERT, ("scan", None, 2.0))  # violates a constraint
            for i in range(50):  # queued at once: taken, prepared and handed over behind it
                await writer.put(INSERT, ("scan", f"after {i}", 3.0))
            await writer.flush()
    assert "earlier batch" not in str(failed.value)  # the error told is the batch's own
    assert writer.stats.transactions == 1
    async with conn.execute("SELECT work_key FROM runs ORDER BY id") as cur:
        assert [r[0] for r in await cur.fetchall()] == ["before"]


async def test_call_returns_result_in_queue_order(tmp_path, conn):
    async with Writer(conn, batch_size=1000, flush_interval=5) as writer:
        await writer.put(INSERT, ("scan", "first", 1.0))
        rowid = await writer.execute(INSERT, ("scan", "second", 2.0))
        assert rowid == 2  # the queued row was committed before the call ran


@pytest.mark.parametrize("wait", ["flush", "call"])
async def test_a_caller_stopped_while_its_work_runs_does_not_stop_the_writer(tmp_path, wait, conn):
    # Ctrl-C lands while a caller waits for its transaction: the writer still finishes that work,
    # and whatever comes next (the run marked interrupted, say) is still written.
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(connection):
        started.set()
        await release.wait()
        await connection.execute(INSERT, ("scan", "slow", 1.0))

    async with Writer(conn, batch_size=1000, flush_interval=5) as writer:
        await writer.put(INSERT, ("scan", "queued", 0.5))
        blocker = asyncio.create_task(writer.call(slow))
        await started.wait()
        waiter = asyncio.create_task(writer.flush() if wait == "flush" else writer.execute(INSERT, ("scan", "x", 2.0)))
        await asyncio.sleep(0)  # queued behind the slow call
        waiter.cancel()
        blocker.cancel()
        release.set()
        for stopped in (waiter, blocker):
            with pytest.raises(asyncio.CancelledError):
                await stopped
        assert await writer.execute(INSERT, ("scan", "after", 3.0)) is not None
    assert writer.error is None
    async with conn.execute("SELECT work_key FROM runs ORDER BY id") as cur:
        keys = [row[0] for row in await cur.fetchall()]
    assert keys == ["queued", "slow"] + (["x"] if wait == "call" else []) + ["after"]


@pytest.mark.parametrize("wait", ["flush", "call"])
async def test_a_producer_waiting_for_room_when_the_writer_stops_gets_an_error_not_a_hang(tmp_path, wait, conn):
    writer = Writer(conn, batch_size=1, queue_size=1, flush_interval=0.01)
    await writer.__aenter__()
    await writer.put("INSERT INTO no_such_table VALUES (?)", (1,))
    await asyncio.sleep(0)  # the writer takes it and starts its commit
    await writer.put(INSERT, ("scan", "a", 1.0))  # the queue is full again
    waiting = writer.flush() if wait == "flush" else writer.execute(INSERT, ("scan", "b", 2.0))
    try:
        # Blocked on the full queue while the commit fails.
        outcome = await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), 5)
    except TimeoutError:
        outcome = ["hung"]
    finally:
        with pytest.raises(StoreError):
            await writer.close()
    assert isinstance(outcome[0], StoreError) and "no such table" in str(outcome[0]), outcome


async def test_a_producer_held_back_for_room_sends_what_is_waiting_without_waiting_out_the_interval(conn):
    # Rows waiting fill the queue long before a batch is full: the writer must take them now,
    # not when the flush interval (a minute here) is up.
    async with Writer(conn, batch_size=10_000, queue_size=10, flush_interval=60) as writer:
        async def fill() -> None:
            for i in range(100):
                await writer.put(INSERT, ("scan", f"k{i}", float(i)))

        await asyncio.wait_for(fill(), 10)
        await asyncio.wait_for(writer.flush(), 10)
    assert writer.stats.rows == 100
    assert writer.stats.transactions >= 10  # ten rows at most waited at a time


async def test_a_producer_waiting_for_room_when_the_writer_is_cancelled_gets_an_error_not_a_hang(conn):
    release = asyncio.Event()

    async def slow(connection) -> None:
        await release.wait()

    writer = Writer(conn, batch_size=1, queue_size=1, flush_interval=0.01)
    await writer.__aenter__()
    busy = asyncio.create_task(writer.call(slow))  # holds the writer task
    await asyncio.sleep(0.05)
    await writer.put(INSERT, ("scan", "a", 1.0))  # the queue is full
    waiting = asyncio.create_task(writer.put(INSERT, ("scan", "b", 2.0)))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    writer.task.cancel()  # as Ctrl-C does
    outcome = await asyncio.wait_for(asyncio.gather(waiting, busy, return_exceptions=True), 5)
    release.set()
    with pytest.raises(StoreError):
        await writer.close()
    assert all(isinstance(o, StoreError) for o in outcome), outcome


async def test_a_group_whose_ops_fail_to_come_queues_none_of_them(conn):
    def ops():
        yield INSERT, ("scan", "half", 1.0)
        raise ValueError("the producer broke")

    async with Writer(conn, batch_size=100, flush_interval=0.01) as writer:
        with pytest.raises(ValueError, match="broke"):
            await writer.put_group(ops())
        await writer.put(INSERT, ("scan", "whole", 2.0))
    async with conn.execute("SELECT work_key FROM runs ORDER BY id") as cur:
        assert [r[0] for r in await cur.fetchall()] == ["whole"]


async def test_close_commits_what_is_queued(tmp_path):
    db = tmp_path / "lib.db"
    conn = await open_db(db)
    writer = Writer(conn, batch_size=10_000, flush_interval=60)
    await writer.__aenter__()
    for i in range(100):
        await writer.put(INSERT, ("scan", f"k{i}", 0.0))
    await writer.close()
    await conn.close()
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 100


async def test_a_database_under_a_name_that_is_not_utf8_opens_for_reading_too(tmp_path):
    from enrich import config as config_mod
    from enrich.store.session import reading, writing

    folder = os.fsdecode(bytes(tmp_path) + b"/caf\xe9")  # Latin-1 bytes: not UTF-8
    os.makedirs(folder)
    cfg = config_mod.load(env={}, overrides={"paths.db": os.path.join(folder, "lib.db")})
    async with writing(cfg, "scan") as (_, writer):
        await writer.execute(INSERT, ("scan", "k", 1.0))
    async with reading(cfg) as conn, conn.execute("SELECT work_key FROM runs") as cur:
        assert [r[0] for r in await cur.fetchall()] == ["k"]


@pytest.mark.anyio
async def test_dry_runs_over_a_database_from_before_the_genre_and_feature_tables(tmp_path):
    """A dry run opens the database read-only, so it cannot add the tables; it reports nothing to show."""
    from enrich import config as config_mod
    from enrich.pipeline.analyze import analyze
    from enrich.pipeline.genres import genres
    from enrich.store.db import MIGRATIONS_DIR, has_tables, open_db

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # as the first release left it: migration 0001 only
        conn.executescript((MIGRATIONS_DIR / "0001_foundation.sql").read_text())
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                     " applied_at REAL NOT NULL)")
        conn.execute("INSERT INTO schema_migrations VALUES (1, '0001_foundation', 0)")
    conn = await open_db(db, migrate=False)
    try:
        assert await has_tables(conn, "tracks", "runs") and not await has_tables(conn, "tracks", "genre_state")
    finally:
        await conn.close()
    config = config_mod.load(overrides={"paths.db": str(db)})
    music = tmp_path / "music"
    music.mkdir()
    report = await genres(config, [music], dry_run=True, scan_first=False, offline=True)
    assert (report.to_enrich, report.failed) == (0, [])
    analysed = await analyze(config, [music], dry_run=True, scan_first=False)
    assert analysed.would_analyse == [] and not analysed.to_analyse
    with sqlite3.connect(db) as conn:
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'genre_state'").fetchall()


@pytest.mark.parametrize(("count", "limit"), [(200, None), (2600, None), (2600, 999)])
async def test_rows_sent_many_to_a_statement_land_as_one_at_a_time_would(tmp_path, conn, count, limit):
    # The writer sends a one-row INSERT's rows 1,000 or 32 to a statement (as SQLite's limit on
    # parameters allows: 999 before 3.32), with a literal NULL for the columns that are None in
    # every row: the same rows, ids and upserts (a path twice in one statement or batch updates
    # the row the first made) as plain executemany, every column alike. Values that only some
    # rows have (an artist every 7th, an MBID in one row late in the batch, a year in the rows
    # past the last whole 32) must survive the NULLs.
    from enrich.store import tracks
    from enrich.store.db_thread import in_db_thread
    from enrich.store.writer import many_rows

    late = count - count % 32

    def row(i: int) -> dict:
        return {"path": f"/m/{i % (9 * count // 20):04d}.mp3", "size": i, "mtime_ns": i, "title": f"t{i}",
                "tag_genres": "[]", "scanned_at": 0.0, "artist": f"a{i}" if i % 7 == 0 else None,
                "mb_track_id": "mbid-late" if i == late - 50 else None, "year": 1990 if i >= late else None}

    ops = [tracks.upsert_op(row(i)) for i in range(count)]
    assert many_rows(ops[0][0], 32) is not None
    assert many_rows("UPDATE tracks SET missing = 1 WHERE path = ?", 32) is None
    assert many_rows("INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET b = ?", 32) is None
    assert many_rows("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", 2, (0, 2)) == \
        "INSERT INTO t (a, b, c) VALUES (NULL, ?, NULL), (NULL, ?, NULL)"
    if limit is not None:
        await in_db_thread(conn, lambda c: c.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit))
    async with Writer(conn, batch_size=10_000, flush_interval=5) as writer:
        assert writer.max_variables == limit if limit else writer.max_variables >= 32766
        for op in ops:
            await writer.put_group([op])
    plain = sqlite3.connect(tmp_path / "plain.db")
    async with conn.execute("SELECT sql FROM sqlite_master WHERE name = 'tracks'") as cur:
        plain.execute((await cur.fetchone())[0])
    plain.executemany(ops[0][0], [params for _, params in ops])
    async with conn.execute("SELECT * FROM tracks ORDER BY id") as cur:
        ours = [tuple(r) for r in await cur.fetchall()]
    assert ours == plain.execute("SELECT * FROM tracks ORDER BY id").fetchall()
    assert len(ours) == 9 * count // 20 and ours[0][:2] == (1, "/m/0000.mp3")
    assert [r for r in ours if "mbid-late" in r] and [r for r in ours if 1990 in r]
    plain.close()


def test_a_batch_goes_to_the_largest_statements_its_rows_and_sqlites_limit_allow():
    from enrich.store.writer import bulk_steps

    sql = "INSERT INTO t (a, b) VALUES (?, ?)"
    rows = [(i, None) for i in range(2600)]
    shapes = [(statement.count("NULL"), statement.count("?"), len(params), {len(p) for p in params})
              for statement, params in bulk_steps(sql, rows, 32766)]
    # 2 statements of 1,000 rows, 18 of 32, then 24 rows one by one; b is NULL in the statements
    assert shapes == [(1000, 1000, 2, {1000}), (32, 32, 18, {32}), (0, 2, 24, {2})]
    shapes = [(statement.count("?"), len(params)) for statement, params in bulk_steps(sql, rows, 999)]
    assert shapes == [(32, 81), (2, 8)]  # 1,000 rows of 2 would be 2,000 parameters
    assert bulk_steps(sql, rows[:1999], 32766)[0][0].count("?") == 32  # too few rows for 1,000
    assert bulk_steps(sql, rows[:63], 32766) == [(sql, rows[:63])]
    update = "UPDATE t SET b = ? WHERE a = ?"
    assert bulk_steps(update, rows, 32766) == [(update, rows)]


def test_a_writer_holds_a_short_switch_interval_while_it_runs_and_puts_it_back(tmp_path):
    import asyncio
    import sys

    from enrich.store.db import open_db
    from enrich.store.db_thread import WRITING_SWITCH_INTERVAL

    before = sys.getswitchinterval()
    seen = []

    async def go():
        conn = await open_db(tmp_path / "s.db")
        try:
            async with Writer(conn) as one:
                await one.flush()
                seen.append(sys.getswitchinterval())
                async with Writer(conn) as two:  # overlapping writers: the first to close keeps it short
                    await two.flush()
                await one.flush()
                seen.append(sys.getswitchinterval())
            seen.append(sys.getswitchinterval())
        finally:
            await conn.close()

    asyncio.run(go())
    assert seen == pytest.approx([WRITING_SWITCH_INTERVAL, WRITING_SWITCH_INTERVAL, before])
    assert before > 2 * WRITING_SWITCH_INTERVAL


def test_null_columns_are_the_positions_none_in_every_row():
    from enrich.store.writer import null_columns

    assert null_columns([(None, 1, None, None), (None, 2, 3, None), (None, None, None, None)]) == (0, 3)
    assert null_columns([(None,), (None,)]) == (0,)
    assert null_columns([(1, None), (None, 2)]) == ()
