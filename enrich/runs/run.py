"""Runs of long commands: start or resume, checkpoint items, finish.

A run is resumed when the previous run of the same command on the same work
(``work_key``) did not end: it was killed, crashed or interrupted. Its finished
items are skipped. ``--no-resume`` marks such runs abandoned and starts anew.

Checkpoints are ops for the writer (``run.done(item)``), meant to be put in
the same group as the item's result so both commit together.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from enrich.store import runs as sql
from enrich.store.writer import Op, Writer

log = logging.getLogger(__name__)


@dataclass
class Run:
    id: int
    command: str
    work_key: str
    resumed: bool = False
    finished_items: frozenset[str] = frozenset()
    state: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    status: str = "running"

    def is_finished(self, item: str) -> bool:
        return item in self.finished_items

    def done(self, item: str) -> Op:
        return sql.item_op(self.id, item, "done")

    def failed(self, item: str, error: str) -> Op:
        return sql.item_op(self.id, item, "failed", error)

    def skipped(self, item: str) -> Op:
        return sql.item_op(self.id, item, "skipped")

    def save_state(self, **values: Any) -> Op:
        """Remember something a resumed run needs (say, a batch id)."""
        self.state.update(values)
        return sql.state_op(self.id, self.state)


async def begin(writer: Writer, command: str, work_key: str, args: dict[str, Any], *, resume: bool = True) -> Run:
    """Resume the unfinished run of this command and work, or start a new one."""

    async def start(conn: aiosqlite.Connection) -> Run:
        previous = await sql.unfinished(conn, command)
        for old in previous:
            if resume and old["work_key"] == work_key:
                await sql.set_status(conn, old["id"], "running")
                items = await sql.finished_items(conn, old["id"])
                counts = Counter({k: v for k, v in old["counts"].items() if isinstance(v, int)})
                return Run(old["id"], command, work_key, True, frozenset(items), old["state"], counts)
        for old in previous:
            if not resume and old["work_key"] == work_key:  # other work stays resumable
                await sql.set_status(conn, old["id"], "abandoned")
        run_id = await sql.insert_run(conn, command, work_key, args)
        return Run(run_id, command, work_key)

    run = await writer.call(start)
    if run.resumed:
        log.info("resuming run %d of 'enrich %s': %d items already finished", run.id, command, len(run.finished_items))
    return run


async def finish(writer: Writer, run: Run, status: str) -> None:
    run.status = status

    async def end(conn: aiosqlite.Connection) -> None:
        await sql.set_status(conn, run.id, status, dict(run.counts))

    await writer.call(end)


@asynccontextmanager
async def running(writer: Writer, command: str, work_key: str, args: dict[str, Any],
                  *, resume: bool = True) -> AsyncIterator[Run]:
    """A run that ends 'done', 'failed' or 'interrupted' with the block."""
    run = await begin(writer, command, work_key, args, resume=resume)
    try:
        yield run
    except (asyncio.CancelledError, KeyboardInterrupt):
        await finish(writer, run, "interrupted")
        raise
    except BaseException:
        await finish(writer, run, "failed")
        raise
    else:
        await finish(writer, run, "done")
