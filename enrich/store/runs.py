"""SQL for runs and their items (checkpoints)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import aiosqlite

from enrich.store.writer import Op

RUN_COLUMNS = "id, command, work_key, args, started_at, finished_at, status, counts, state"


def item_op(run_id: int, item: str, status: str, error: str | None = None) -> Op:
    """The checkpoint of one item; put it in the same group as the item's result."""
    return (
        "INSERT INTO run_items (run_id, item, status, error, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (run_id, item) DO UPDATE SET status = excluded.status,"
        " error = excluded.error, updated_at = excluded.updated_at",
        (run_id, item, status, error, time.time()),
    )


def state_op(run_id: int, state: dict[str, Any]) -> Op:
    return ("UPDATE runs SET state = ? WHERE id = ?", (json.dumps(state), run_id))


def counts_op(run_id: int, counts: dict[str, Any]) -> Op:
    return ("UPDATE runs SET counts = ? WHERE id = ?", (json.dumps(counts), run_id))


async def insert_run(conn: aiosqlite.Connection, command: str, work_key: str, args: dict[str, Any]) -> int:
    cursor = await conn.execute(
        "INSERT INTO runs (command, work_key, args, started_at, status) VALUES (?, ?, ?, ?, 'running')",
        (command, work_key, json.dumps(args, default=str), time.time()),
    )
    assert cursor.lastrowid is not None  # an INSERT into a rowid table always has one
    return cursor.lastrowid


async def set_status(conn: aiosqlite.Connection, run_id: int, status: str,
                     counts: dict[str, Any] | None = None) -> None:
    finished = None if status == "running" else time.time()
    if counts is None:
        await conn.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, finished, run_id))
    else:
        await conn.execute(
            "UPDATE runs SET status = ?, finished_at = ?, counts = ? WHERE id = ?",
            (status, finished, json.dumps(counts), run_id),
        )


async def unfinished(conn: aiosqlite.Connection, command: str) -> list[dict[str, Any]]:
    """Runs of ``command`` that did not end (killed, interrupted), newest first."""
    async with conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs WHERE command = ? AND status IN ('running', 'interrupted')"
        " ORDER BY id DESC",
        (command,),
    ) as cur:
        return [run_dict(row) for row in await cur.fetchall()]


async def finished_items(conn: aiosqlite.Connection, run_id: int) -> set[str]:
    async with conn.execute("SELECT item FROM run_items WHERE run_id = ?", (run_id,)) as cur:
        return {row[0] for row in await cur.fetchall()}


async def list_runs(conn: aiosqlite.Connection, limit: int = 20, command: str | None = None) -> list[dict[str, Any]]:
    where, params = ("WHERE command = ?", [command]) if command else ("", [])
    async with conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs {where} ORDER BY id DESC LIMIT ?", (*params, limit)
    ) as cur:
        return [run_dict(row) for row in await cur.fetchall()]


async def get_run(conn: aiosqlite.Connection, run_id: int) -> dict[str, Any] | None:
    async with conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)) as cur:
        row = await cur.fetchone()
    return run_dict(row) if row else None


async def item_counts(conn: aiosqlite.Connection, run_id: int) -> dict[str, int]:
    async with conn.execute(
        "SELECT status, COUNT(*) FROM run_items WHERE run_id = ? GROUP BY status", (run_id,)
    ) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def failed_items(conn: aiosqlite.Connection, run_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    async with conn.execute(
        "SELECT item, error, updated_at FROM run_items WHERE run_id = ? AND status = 'failed'"
        " ORDER BY item LIMIT ?",
        (run_id, -1 if limit is None else limit),
    ) as cur:
        return [dict(item=r[0], error=r[1], updated_at=r[2]) for r in await cur.fetchall()]


def run_dict(row: Sequence[Any]) -> dict[str, Any]:
    run = dict(zip(RUN_COLUMNS.split(", "), row, strict=False))
    for key in ("args", "counts", "state"):
        run[key] = json.loads(run[key] or "{}")
    return run
