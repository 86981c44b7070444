"""Reading past runs back for `enrich runs`."""

from __future__ import annotations

from typing import Any

from enrich.config import Config
from enrich.errors import UsageError
from enrich.store import runs as sql
from enrich.store.lock import live_holder
from enrich.store.session import reading


def settle_dead(runs: list[dict[str, Any]], holder: dict[str, Any] | None) -> None:
    """A run marked 'running' whose process is gone (kill -9, a reboot) shows as 'interrupted'.

    Only one process writes a database at a time, under its lock: while the lock
    is held, only the newest 'running' run started since the holder took it is
    alive. The stored status is left for the next run, which resumes it.
    """
    alive = None
    if holder is not None:
        since = float(holder.get("since", 0))
        started = [r for r in runs if r["status"] == "running" and (r["started_at"] or 0) >= since - 1]
        alive = max(started, key=lambda r: r["id"])["id"] if started else None
    for run in runs:
        if run["status"] == "running" and run["id"] != alive:
            run["status"] = "interrupted"


async def list_runs(config: Config, limit: int = 20, command: str | None = None) -> list[dict[str, Any]]:
    async with reading(config) as conn:
        if conn is None:
            return []
        found = await sql.list_runs(conn, limit, command)
        for run in found:
            run["items"] = await sql.item_counts(conn, run["id"])
    settle_dead(found, live_holder(config.paths.db))
    return found


async def show_run(config: Config, run_id: int, failed_limit: int | None = None) -> dict[str, Any]:
    async with reading(config) as conn:
        run = await sql.get_run(conn, run_id) if conn is not None else None
        if conn is None or run is None:
            raise UsageError(f"no run {run_id} in {config.paths.db}; `enrich runs` lists them")
        run["items"] = await sql.item_counts(conn, run_id)
        run["failed"] = await sql.failed_items(conn, run_id, failed_limit)
        newer = [r for r in await sql.list_runs(conn, 50) if r["status"] == "running" and r["id"] >= run_id]
    settle_dead([run, *[r for r in newer if r["id"] != run_id]], live_holder(config.paths.db))
    return run
