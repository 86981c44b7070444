"""The scan's walk and its comparison with the stored state, streamed.

A daemon thread walks the folders in path order and merges the files with the
stored rows of the same path range, a page (one indexed query) at a time, and
hands the loop what must be done in batches: files to read, in chunks for the
reader processes, and writer ops (missing, back, forgotten). A bounded handoff
holds the thread back when reading lags, so memory stays flat whatever the
size of the library.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite

from enrich.background import Dropped, Handoff, droppable
from enrich.library import changes
from enrich.library.walk import Found, Walk, Walked, display
from enrich.store import tracks
from enrich.store.writer import Op

T = TypeVar("T")
OPS_PER_BATCH = 500
BATCHES_AHEAD = 4


@dataclass
class Batch:
    to_read: list[str] = field(default_factory=list)  # paths as found, in walk order
    failed_before: list[str] = field(default_factory=list)  # of those, the ones that failed at an earlier scan
    ops: list[Op] = field(default_factory=list)


class Planner:
    """Walks and compares in a thread; :meth:`batches` hands the work over in the loop."""

    def __init__(self, conn: aiosqlite.Connection | None, roots: list[str], *, extensions: tuple[str, ...],
                 follow_symlinks: bool, leave_roots: bool, chunk_size: int,
                 on_files: Callable[[int], None] | None = None, page: int = tracks.PAGE):
        self.conn, self.roots, self.chunk_size, self.page = conn, roots, chunk_size, page
        self.walk_options = {"extensions": extensions, "follow_symlinks": follow_symlinks,
                             "leave_roots": leave_roots}
        self.on_files = on_files
        self.walked = Walked(roots=[])
        self.counts = changes.Counts()
        self.queries = 0  # pages of stored state asked for
        self.largest_page = 0

    async def batches(self) -> AsyncIterator[Batch]:
        """Each batch of work as the walk produces it; once this ends, ``walked`` and ``counts`` are whole."""
        handoff: Handoff[Batch] = Handoff(BATCHES_AHEAD)
        loop = asyncio.get_running_loop()

        def found(n: int) -> None:
            if self.on_files is not None:
                loop.call_soon_threadsafe(self.on_files, n)

        done = asyncio.ensure_future(droppable(self.run, handoff, found, name="enrich-walk"))
        try:
            while (batch := await handoff.get()) is not None:
                yield batch
            await done  # the thread's error, if it had one
        finally:
            handoff.close()  # a stopped scan does not wait for the walk to end
            if not done.done():
                done.cancel()

    def run(self, handoff: Handoff[Batch], found: Callable[[int], None]) -> None:
        """In the thread: walk, compare, hand over."""
        try:
            walking = Walk(self.roots, on_file=found, result=self.walked, **self.walk_options)  # type: ignore[arg-type]
            scanned = changes.scanned_under(self.walked.roots, self.walked.unlisted)
            files = (f for batch in walking.batches() for f in batch)
            stored = self.pages(handoff, tracks.file_states, walking.ranges())
            bad = self.pages(handoff, tracks.unreadable_states, walking.ranges())
            pending: list[changes.Pending] = []
            batch = Batch()
            for kind, item in changes.compare(files, stored, bad, scanned, self.counts, pending):
                batch = self.add(handoff, batch, kind, item)
            for kind, item in changes.settle(pending, walking.settle(), self.counts):
                batch = self.add(handoff, batch, kind, item)
            if batch.to_read or batch.ops:
                handoff.put(batch)
        except Dropped:
            return
        finally:
            with contextlib.suppress(Dropped):
                handoff.end()

    def add(self, handoff: Handoff[Batch], batch: Batch, kind: changes.Kind, item: Found | str) -> Batch:
        if isinstance(item, Found):
            batch.to_read.append(item.path)
            if kind == "read_failed_before":
                batch.failed_before.append(display(item.path))
        else:
            batch.ops.append(OPS[kind](item))
        if len(batch.to_read) >= self.chunk_size or len(batch.ops) >= OPS_PER_BATCH:
            handoff.put(batch)
            return Batch()
        return batch

    def pages(self, handoff: Handoff[Batch],
              query: Callable[[aiosqlite.Connection, str, str, str | None, int], Coroutine[Any, Any, list[T]]],
              ranges: list[tuple[str, str]]) -> Iterator[T]:
        """The stored rows of each range in path order, fetched a page at a time as the merge reaches them."""
        conn = self.conn
        if conn is None:
            return
        for low, high in ranges:
            after: str | None = None
            while True:
                rows = handoff.call(query(conn, low, high, after, self.page))
                self.queries += 1
                self.largest_page = max(self.largest_page, len(rows))
                yield from rows
                if len(rows) < self.page:
                    break
                after = rows[-1][0]  # type: ignore[index]


OPS: dict[str, Callable[[str], Op]] = {
    "reappeared": tracks.present_op,
    "missing": tracks.missing_op,
    "forget": tracks.forget_unreadable_op,
}
