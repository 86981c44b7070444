"""Runs: start, checkpoint with results, resume after a stop, and the single-writer lock."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal

import pytest

from enrich.errors import LockedError
from enrich.runs.run import running
from enrich.store import runs as sql
from enrich.store.db import open_db
from enrich.store.lock import database_lock
from enrich.store.writer import Writer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def conn(tmp_path):
    """The test's database, closed even when an assertion fails (an open one keeps pytest from exiting)."""
    connection = await open_db(tmp_path / "lib.db")
    yield connection
    await connection.close()


async def test_items_are_checkpointed_and_a_stopped_run_resumes(tmp_path, conn):
    async with Writer(conn, flush_interval=0.01) as writer:
        with pytest.raises(asyncio.CancelledError):
            async with running(writer, "scan", "/music", {"paths": ["/music"]}) as run:
                first_id = run.id
                await writer.put_group([run.done("a")])
                await writer.put_group([run.failed("b", "truncated file")])
                run.counts["new"] += 2
                raise asyncio.CancelledError  # as Ctrl-C / SIGTERM would
        assert (await sql.get_run(conn, first_id))["status"] == "interrupted"

        async with running(writer, "scan", "/music", {}) as run:
            assert run.id == first_id and run.resumed
            assert run.is_finished("a") and run.is_finished("b") and not run.is_finished("c")
            assert run.counts["new"] == 2
            await writer.put_group([run.done("c")])
        done = await sql.get_run(conn, first_id)
        assert done["status"] == "done" and done["finished_at"] is not None
        assert await sql.item_counts(conn, first_id) == {"done": 2, "failed": 1}
        assert (await sql.failed_items(conn, first_id))[0]["error"] == "truncated file"


async def test_other_work_and_no_resume_start_fresh(tmp_path, conn):
    async with Writer(conn, flush_interval=0.01) as writer:
        with pytest.raises(asyncio.CancelledError):
            async with running(writer, "scan", "/music", {}):
                raise asyncio.CancelledError
        async with running(writer, "scan", "/other", {}) as other:
            assert not other.resumed  # different work: not the same run
        async with running(writer, "scan", "/music", {}, resume=False) as fresh:
            assert not fresh.resumed
        statuses = [r["status"] for r in await sql.list_runs(conn)]
        assert statuses == ["done", "done", "abandoned"]


async def test_no_resume_abandons_only_the_run_of_the_same_work(tmp_path, conn):
    async with Writer(conn, flush_interval=0.01) as writer:
        with pytest.raises(asyncio.CancelledError):
            async with running(writer, "genres", "/music", {}) as music:
                await writer.put_group([music.save_state(batch_id="msgbatch_01")])
                raise asyncio.CancelledError
        async with running(writer, "genres", "/other", {}, resume=False):
            pass
        status = (await sql.get_run(conn, music.id))["status"]
        async with running(writer, "genres", "/music", {}) as again:
            pass
    assert status == "interrupted"  # still resumable
    assert again.id == music.id and again.state == {"batch_id": "msgbatch_01"}


async def test_a_run_that_raises_is_marked_failed(tmp_path, conn):
    async with Writer(conn, flush_interval=0.01) as writer:
        with pytest.raises(RuntimeError):
            async with running(writer, "genres", "all", {}) as run:
                raise RuntimeError("boom")
        assert (await sql.get_run(conn, run.id))["status"] == "failed"


async def test_state_survives_for_the_resumed_run(tmp_path, conn):
    async with Writer(conn, flush_interval=0.01) as writer:
        with pytest.raises(asyncio.CancelledError):
            async with running(writer, "genres", "all", {}) as run:
                await writer.put_group([run.save_state(batch_id="msgbatch_01")])
                raise asyncio.CancelledError
        async with running(writer, "genres", "all", {}) as run:
            assert run.state == {"batch_id": "msgbatch_01"}


def hold_lock(db, ready, release):
    with database_lock(db, "genres"):
        ready.set()
        release.wait(30)


@pytest.mark.slow
def test_lock_refuses_a_second_writer_and_names_the_holder(tmp_path):
    db = tmp_path / "lib.db"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=hold_lock, args=(db, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(LockedError) as err, database_lock(db, "genres"):
            pass
        assert "'enrich genres'" in str(err.value) and f"pid {holder.pid}" in str(err.value)
    finally:
        release.set()
        holder.join(30)
    with database_lock(db, "scan"):  # released when the holder ended
        pass


@pytest.mark.slow
def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    db = tmp_path / "lib.db"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=hold_lock, args=(db, ready, release))
    holder.start()
    assert ready.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    with database_lock(db, "scan"):  # no stale lock after kill -9
        pass
