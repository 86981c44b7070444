"""The one writer: every row that reaches SQLite passes through here.

Producers add *groups* of operations to the batch being filled, each statement's
rows in a list of its own. A batch is sealed when it holds ``batch_size`` rows,
``flush_interval`` after its first, or sooner when a call, a flush or the close
comes after it or a producer is held back for room; the writer task commits it in ONE
transaction, running each statement once with ``executemany`` over all its
rows. A group is never split across transactions, so an item's result and its
checkpoint are committed together or not at all. Rows are sorted by statement
as they arrive: a queue of groups, taken one at a time and sorted after, cost
about 0.7 µs more CPU a row (100,000 track upserts: 135,689 rows per CPU-second
against 150,926).
A batch goes to the database thread whole, in one trip, as soon as it is
prepared: the writer prepares the next while the thread writes, with at most
IN_FLIGHT batches handed over and not yet committed. The thread writes them in
the order they were sealed, and refuses every batch after one that failed, so
nothing after a failure is committed. Producers wait while ``queue_size`` rows
are waiting for the writer.

Within a batch, each statement runs once over all its rows, statements in the
order they first appear in the batch, whatever group brought them. So a
statement that depends on another (an update of a row the other inserts) must
follow it in the same group, and no group may hold the dependent one alone: a
group of it alone, ahead in the batch, would run it for every group before its
dependency ran for any (analyze once stored a file's state after its tags were
written in a group of its own, and a batch could undo it).

A transaction that changes rows of a table playlists read also raises the
library generation (migration 0006) before it commits, so the playlists'
snapshot knows the library changed; one whose statements there changed no row
leaves it. ``call`` functions must not write those tables.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import itertools
import logging
import operator
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite

from enrich.errors import StoreError
from enrich.store.db_thread import in_db_thread, switch_interval

log = logging.getLogger(__name__)

Op = tuple[str, Sequence[Any]]  # (sql, params)
R = TypeVar("R")

# Tables whose rows the playlists' snapshot holds (store/library_view.py reads them).
LIBRARY_TABLES = re.compile(r"\b(?:INTO|UPDATE|FROM)\s+(?:tracks|features|feature_sets|track_genres)\b", re.IGNORECASE)
BUMP_GENERATION = "UPDATE library_generation SET generation = generation + 1"


# An INSERT of one row of "?" placeholders (an upsert clause may follow): the writer sends the
# bulk of its rows in multi-row statements, which bind the same values with a fraction of the
# per-statement work of executemany (the same rows, in the same order). Large ones first: each
# trip into SQLite hands the GIL back and forth, and a statement of 1,000 rows makes two of a
# batch's 2,000. A statement is used for a batch of at least twice its rows, so that a trickle
# of small batches does not compile large statements it barely uses.
ONE_ROW_INSERT = re.compile(r"^(INSERT\b.*?\bVALUES\s*)(\((?:\s*\?\s*,)*\s*\?\s*\))(.*)$", re.IGNORECASE | re.DOTALL)
ROWS_PER_STATEMENT = (1000, 32)
# Batches handed to the database thread and not yet committed, at most.
IN_FLIGHT = 2


@functools.lru_cache(maxsize=64)
def many_rows(sql: str, rows: int, nulls: tuple[int, ...] = ()) -> str | None:
    """``sql`` inserting ``rows`` rows at once, with a literal NULL for each column in ``nulls``
    (positions in its row), or None when it is not a one-row INSERT of placeholders."""
    match = ONE_ROW_INSERT.match(sql)
    if match is None:
        return None
    head, row, tail = match.groups()
    if "?" in head or "?" in tail:
        return None  # parameters outside the row would be bound once per row
    if nulls:
        row = "(" + ", ".join("NULL" if i in nulls else "?" for i in range(row.count("?"))) + ")"
    return head + ", ".join([row] * rows) + tail


def picker(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A row's values at ``positions``, as a tuple (itemgetter alone gives a bare value for one)."""
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    return lambda row: tuple(row[i] for i in positions)


def null_columns(rows: Sequence[Sequence[Any]]) -> tuple[int, ...]:
    """The positions that are None in every row. Python's sqlite3 binds a None at about six
    times the cost of an int (it looks for an adapter first), and a scan's track row holds
    ten or so: a literal NULL in the statement binds nothing."""
    nulls = tuple(i for i, value in enumerate(rows[0]) if value is None)
    pick, want = picker(nulls), (None,) * len(nulls)
    for row in rows:
        if nulls and pick(row) != want:
            nulls = tuple(i for i in nulls if row[i] is None)
            pick, want = picker(nulls), (None,) * len(nulls)
    return nulls


Step = tuple[str, Sequence[Sequence[Any]]]  # a statement and the rows executemany runs it over


def bulk_steps(sql: str, params: list[Sequence[Any]], max_variables: int) -> list[Step]:
    """``sql`` over ``params`` as executemany steps: when ``sql`` allows, the bulk of the rows go
    in multi-row statements (ROWS_PER_STATEMENT, within SQLite's ``max_variables``), with a
    literal NULL for each column that is None in all of them; the rest one by one."""
    columns = len(params[0]) if params else 0
    sizes = [n for n in ROWS_PER_STATEMENT if len(params) >= 2 * n and n * columns <= max_variables]
    if not sizes or many_rows(sql, sizes[0]) is None:
        return [(sql, params)]
    plan, done = [], 0  # (rows a statement, first row, end)
    for size in sizes:
        end = done + (len(params) - done) // size * size
        if end > done:
            plan.append((size, done, end))
            done = end
    bulk: Sequence[Sequence[Any]] = params[:done]
    nulls = null_columns(bulk)
    if nulls:
        bulk = list(map(picker([i for i in range(columns) if i not in nulls]), bulk))
    chain = itertools.chain.from_iterable
    steps: list[Step] = []
    for size, first, end in plan:
        statement = many_rows(sql, size, nulls)
        assert statement is not None  # the same INSERT as above
        steps.append((statement, [tuple(chain(bulk[i:i + size])) for i in range(first, end, size)]))
    if done < len(params):
        steps.append((sql, params[done:]))
    return steps


def write_batch(conn: sqlite3.Connection, steps: list[Step], generation: bool) -> None:
    """One transaction of ``steps``, in the database's thread; raises the library generation
    if a statement on a table playlists read changed a row (and ``generation``: the table is there)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        changed = False
        for sql, rows in steps:
            # Counted rows, not statements: a run that rewrites what is there (a rescan of an
            # unchanged library, analyze's feature-set row) must not make the snapshot stale.
            changed |= changed_rows(conn.executemany(sql, rows)) > 0 and changes_library(sql)
        if changed and generation:
            conn.execute(BUMP_GENERATION)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back on its own
            conn.execute("ROLLBACK")
        raise


def max_variables(conn: sqlite3.Connection) -> int:
    """SQLite's limit on a statement's parameters (by default 32,766 since 3.32, 999 before)."""
    return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def changed_rows(cursor: sqlite3.Cursor) -> int:
    """Rows a statement changed; one when SQLite does not say (not a plain insert, update or delete)."""
    return cursor.rowcount if cursor.rowcount >= 0 else 1


def changes_library(sql: str) -> bool:
    """Whether a statement of ours writes a table that the playlists' snapshot holds."""
    return LIBRARY_TABLES.search(sql) is not None


@dataclass
class WriterStats:
    rows: int = 0
    transactions: int = 0


@dataclass
class Call:
    """Run ``fn(conn)`` in a transaction of its own and hand back its result."""

    fn: Callable[[aiosqlite.Connection], Awaitable[Any]]
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Barrier:
    """Resolved once everything queued before it is committed."""

    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Batch:
    """A sealed batch: each statement's rows, statements in the order they first came."""

    by_sql: dict[str, list[Sequence[Any]]]
    rows: int


_STOP = object()
Item = Batch | Call | Barrier | object  # what the writer task takes, in order (object: _STOP)


class Writer:
    """Use as ``async with Writer(conn) as writer: await writer.put(op)``."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        batch_size: int = 2000,
        flush_interval: float = 0.25,
        queue_size: int = 20000,
    ):
        self.conn = conn
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.queue_size = queue_size
        self.filling: dict[str, list[Sequence[Any]]] = {}  # the batch being filled
        self.filling_rows = 0
        self.filling_since = 0.0  # loop time of its first row
        self.sealed: collections.deque[Item] = collections.deque()  # for the writer task, in order
        self.waiting_rows = 0  # rows filling or sealed, not yet taken by the writer task
        self.wakeup: asyncio.Future[None] | None = None  # the writer task waits on it for work
        self.room: collections.deque[asyncio.Future[None]] = collections.deque()  # producers waiting for room
        self.stats = WriterStats()
        self.task: asyncio.Task[Any] | None = None
        self.error: BaseException | None = None
        self.has_generation: bool | None = None  # learnt at the first commit, in the database thread
        self.max_variables = 999  # parameters a statement may have: SQLite's limit, learnt on entering
        self.failed: BaseException | None = None  # set in the database thread by a batch that failed

    async def __aenter__(self) -> Writer:
        self.max_variables = await in_db_thread(self.conn, max_variables)
        self.task = asyncio.create_task(self.run(), name="enrich-writer")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------ producers

    async def put(self, sql: str, params: Sequence[Any]) -> None:
        await self.put_group([(sql, params)])

    async def put_group(self, ops: Iterable[Op]) -> None:
        """Queue ops that must be committed in the same transaction."""
        self.raise_if_failed()
        if type(ops) is not list:
            ops = list(ops)  # whole before any of it is queued
        if not ops:
            return
        while self.waiting_rows >= self.queue_size:
            self.seal()  # what is there goes now: the writer task is the one to make room
            room = asyncio.get_running_loop().create_future()
            self.room.append(room)
            await room
            self.raise_if_failed()  # the writer stopped while we waited for room: the group is lost
        filling = self.filling
        for sql, params in ops:
            rows = filling.get(sql)
            if rows is None:
                filling[sql] = rows = []
            rows.append(params)
        if not self.filling_rows:
            self.filling_since = asyncio.get_running_loop().time()
            self.wake()  # its flush_interval starts now
        self.filling_rows += len(ops)
        self.waiting_rows += len(ops)
        if self.filling_rows >= self.batch_size:
            self.seal()

    async def call(self, fn: Callable[[aiosqlite.Connection], Awaitable[R]]) -> R:
        """Run ``fn(conn)`` in its own transaction after what is queued; return its result."""
        self.raise_if_failed()
        item = Call(fn)
        self.put_special(item)
        result: R = await item.future
        return result

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Execute one statement in order with the queue; return ``lastrowid``."""

        async def one(conn: aiosqlite.Connection) -> int | None:
            cursor = await conn.execute(sql, params)
            return cursor.lastrowid

        return await self.call(one)

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        self.raise_if_failed()
        barrier = Barrier()
        self.put_special(barrier)
        await barrier.future

    def put_special(self, item: Call | Barrier) -> None:
        if self.error is not None:  # nobody would ever answer it
            item.future.set_exception(StoreError(f"the database writer stopped: {self.error}"))
            return
        self.seal()
        self.sealed.append(item)
        self.wake()

    def seal(self) -> None:
        """Hand the batch being filled to the writer task."""
        if self.filling_rows:
            self.sealed.append(Batch(self.filling, self.filling_rows))
            self.filling, self.filling_rows = {}, 0
            self.wake()

    def wake(self) -> None:
        wakeup, self.wakeup = self.wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def close(self) -> None:
        """Commit what is queued and stop. Safe to call twice and after cancellation."""
        if self.task is None:
            return
        task, self.task = self.task, None
        if not task.done():
            self.seal()
            self.sealed.append(_STOP)
            self.wake()
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.cancelled():
                    raise
                # We were cancelled while waiting: still let the writer finish its commit.
                await task
                raise
        self.raise_if_failed()

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise StoreError(f"the database writer stopped: {self.error}") from self.error

    # ------------------------------------------------------------ the task

    async def run(self) -> None:
        switch_interval.hold()  # while this writer runs (see enrich.store.db_thread)
        try:
            await self.take_and_write()
        finally:
            switch_interval.release()

    async def take(self) -> Item:
        """The next sealed item, sealing the batch being filled once its flush_interval is up."""
        loop = asyncio.get_running_loop()
        while not self.sealed:
            timer = None
            if self.filling_rows:
                remaining = self.filling_since + self.flush_interval - loop.time()
                if remaining <= 0:
                    self.seal()
                    break
                timer = loop.call_later(remaining, self.wake)
            self.wakeup = wakeup = loop.create_future()
            try:
                await wakeup
            finally:
                if timer is not None:
                    timer.cancel()
        item = self.sealed.popleft()
        if isinstance(item, Batch):
            self.waiting_rows -= item.rows
            while self.room and self.waiting_rows < self.queue_size:
                room = self.room.popleft()
                if not room.done():
                    room.set_result(None)
        return item

    async def take_and_write(self) -> None:
        writing: collections.deque[asyncio.Future[None]] = collections.deque()  # batches handed over, oldest first
        item: Item = None
        try:
            while item is not _STOP:
                item = await self.take()
                if isinstance(item, Batch):
                    # Prepared while the batches before are still being written, and handed to the
                    # database thread at once (it writes them in order), so it never waits for us;
                    # at most IN_FLIGHT at a time.
                    steps = self.prepare(item)
                    if len(writing) >= IN_FLIGHT:
                        await writing.popleft()
                    writing.append(asyncio.ensure_future(self.commit(steps, item.rows)))
                    await asyncio.sleep(0)  # it hands the batch over now, not after the next is prepared
                    continue
                while writing:
                    await writing.popleft()
                if isinstance(item, (Call, Barrier)):
                    await self.serve(item)
        except BaseException as exc:
            for handed in writing:  # the database thread finishes what it was given (write_batch
                handed.cancel()     # refuses every batch after one that failed)
                with contextlib.suppress(BaseException):
                    await handed
            self.error = exc
            self.fail_waiters(exc, item)
            if isinstance(exc, asyncio.CancelledError):
                raise
            # Kept in self.error: producers and close() raise it as a StoreError.
            log.debug("database writer failed: %s", exc)

    def prepare(self, batch: Batch) -> list[Step]:
        """The batch's steps: each statement once over all its rows, in the order statements
        first appear in it."""
        return [step for sql, params in batch.by_sql.items() for step in bulk_steps(sql, params, self.max_variables)]

    async def commit(self, steps: list[Step], rows: int) -> None:
        """Write a prepared batch in one transaction, handed to the database thread in one trip
        (in this coroutine's first step, so batches reach the thread in the order they were taken)."""
        await in_db_thread(self.conn, functools.partial(self.write_in_order, steps=steps))
        self.stats.rows += rows
        self.stats.transactions += 1

    def write_in_order(self, conn: sqlite3.Connection, steps: list[Step]) -> None:
        """``write_batch``, in the database thread, unless a batch handed over before failed:
        nothing after a failed batch is committed, as if the writer had stopped there."""
        if self.failed is not None:
            raise StoreError(f"not written: an earlier batch failed ({self.failed})")
        if self.has_generation is None:  # a writer may serve a bare test schema
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'library_generation'")
            self.has_generation = found.fetchone() is not None
        try:
            write_batch(conn, steps, self.has_generation)
        except BaseException as exc:
            self.failed = exc
            raise

    async def serve(self, special: Call | Barrier) -> None:
        # A caller stopped while it waited has cancelled its future: the work is still done, unreported.
        if isinstance(special, Barrier):
            if not special.future.done():
                special.future.set_result(None)
            return
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = await special.fn(self.conn)
            await self.conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - handed to the caller that asked for this work
            with contextlib.suppress(sqlite3.Error):  # SQLite rolled back on its own (a full disk):
                await self.conn.execute("ROLLBACK")  # the call's error is the one to tell
            if not special.future.done():
                special.future.set_exception(exc)
            return
        self.stats.transactions += 1
        if not special.future.done():
            special.future.set_result(result)

    def fail_waiters(self, exc: BaseException, taken: Item) -> None:
        """After the writer task stopped: fail every call and barrier it will never serve (the one
        it had taken included), and let producers waiting for room raise the error."""
        self.filling, self.filling_rows = {}, 0
        for item in (taken, *self.sealed):
            if isinstance(item, (Call, Barrier)) and not item.future.done():
                item.future.set_exception(StoreError(f"the database writer stopped: {exc}"))
        self.sealed.clear()
        while self.room:
            room = self.room.popleft()
            if not room.done():
                room.set_result(None)
