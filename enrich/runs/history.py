"""Reading past runs back for `enrich runs`."""

from __future__ import annotations

from typing import Any

from enrich.config import Config
from enrich.errors import UsageError
from enrich.store import runs as sql
from enrich.store.session import reading


async def list_runs(config: Config, limit: int = 20, command: str | None = None) -> list[dict[str, Any]]:
    async with reading(config) as conn:
        if conn is None:
            return []
        found = await sql.list_runs(conn, limit, command)
        for run in found:
            run["items"] = await sql.item_counts(conn, run["id"])
        return found


async def show_run(config: Config, run_id: int, failed_limit: int | None = None) -> dict[str, Any]:
    async with reading(config) as conn:
        run = await sql.get_run(conn, run_id) if conn is not None else None
        if conn is None or run is None:
            raise UsageError(f"no run {run_id} in {config.paths.db}; `enrich runs` lists them")
        run["items"] = await sql.item_counts(conn, run_id)
        run["failed"] = await sql.failed_items(conn, run_id, failed_limit)
        return run
