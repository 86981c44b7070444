"""The disk HTTP cache: one small file per request under <cache_dir>/http/.

Layout ``http/<source>/<hh>/<sha256>.json``. An entry is one line of JSON (the
readable key with secrets already removed, status, the headers that matter,
the fetch time and the body's length), a newline, then the body's bytes as
they came: reading one back parses only the short line, and the body is parsed
once, by its source. Entries of the first format (the body inside the JSON)
are still read. Writes go to a temp file that is renamed into place, so a
crash never leaves half an entry; an entry that cannot be read is a miss and
is replaced by the next write. If the folder cannot be written, the cache
turns itself off for the run and says so once.

Reads and writes keep the event loop free:

- small entries (up to SMALL_ENTRY) are read on the event loop, where a read
  from the page cache costs microseconds and a trip to a thread a hundred;
  callers take a turn first (``turns.enter()``, as the client does for every
  cached request): at most SLICE seconds of lookups per turn of the loop, and
  those beyond it wait, first come first served, so a burst of hundreds of
  hits never holds the loop;
- large entries are read in a worker thread;
- writes are queued and written in batches, one trip to a thread per batch
  (``flush()``, and ``close()`` at the end of a run); until then ``get``
  answers from the queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from enrich.net.policy import key_hash
from enrich.net.reply import Reply, parse_json

log = logging.getLogger("enrich.net")
FORMAT = 2  # 2: a JSON line, then the body's bytes; 1: the body inside the JSON
LAST_RUN = "last_run.json"


class Entry(NamedTuple):  # a tuple: built on every cache hit, where a frozen dataclass costs 5x more
    key: str
    source: str
    status: int
    headers: dict[str, Any]
    body: bytes
    url: str
    fetched_at: float
    negative: bool

    def reply(self) -> Reply:
        return Reply(self.source, self.status, self.headers, self.body, self.url, self.fetched_at, from_cache=True)


def encode(entry: Entry) -> bytes:
    head = json.dumps({
        "format": FORMAT, "key": entry.key, "source": entry.source, "status": entry.status,
        "headers": entry.headers, "url": entry.url, "fetched_at": entry.fetched_at,
        "negative": entry.negative, "length": len(entry.body),
    }, ensure_ascii=False)  # no newline inside: json.dumps escapes them
    return head.encode() + b"\n" + entry.body


def decode(raw: bytes) -> Entry | None:
    """The entry in ``raw``, or None if it is truncated, not ours or damaged."""
    head, newline, body = raw.partition(b"\n")
    try:
        d = parse_json(head)
        form = d["format"]  # (a line that is not an object fails here too, with TypeError or KeyError)
        if form == 1 and not newline:
            body = str(d["body"]).encode()
        elif not (form == FORMAT and newline and len(body) == d["length"]):
            return None
        entry = Entry(d["key"], d["source"], d["status"], d["headers"], body, d["url"], d["fetched_at"], d["negative"])
    except (ValueError, TypeError, KeyError, AttributeError):  # UnicodeDecodeError is a ValueError
        return None
    # Written by us, so the types hold; checked anyway, cheaply, as a damaged file is a miss.
    if (type(entry.key) is str and type(entry.source) is str and type(entry.status) is int
            and type(entry.headers) is dict and type(entry.url) is str and type(entry.fetched_at) in (float, int)
            and type(entry.negative) is bool):
        return entry
    return None


def http_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "http"


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)


# Entries up to this size are read on the event loop.
SMALL_ENTRY = 64 * 1024
# Inline reads (with what their callers do with the entry before they next
# wait) per turn of the event loop, in seconds.
SLICE = 0.001
# Writes wait this long for others to share their trip to a thread.
WRITE_LINGER = 0.05


class Turns:
    """Shares the event loop between inline cache reads and everything else.

    The first read of a turn of the loop opens a slice of SLICE seconds; reads
    go inline while it lasts. Later readers queue, first come first served, and
    at the end of the turn as many of them are let in as fitted in the last
    full slice: every turn of the loop then holds about SLICE seconds of reads,
    however many lookups are ready at once.
    """

    def __init__(self) -> None:
        self.ends: float | None = None  # perf_counter() when this turn's slice is over; None: no slice yet
        self.count = 0                  # readers let in during this slice
        self.fitted: int | None = None  # how many had been let in when it was over
        self.fit = 8                    # readers to let in at once from the queue
        self.queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self.scheduled = False
        self.loop: asyncio.AbstractEventLoop | None = None

    async def enter(self) -> None:
        """Return when this reader may read inline: at once, or on a later turn."""
        if not self.queue and self._admit():
            return
        waiter = asyncio.get_running_loop().create_future()
        self.queue.append(waiter)
        self._schedule()
        await waiter
        self._join()

    def _admit(self) -> bool:
        now = time.perf_counter()
        if self.ends is None:
            self._open(now)
        elif now >= self.ends:
            if self.fitted is None:
                self.fitted = self.count
            return False
        self.count += 1
        return True

    def _join(self) -> None:
        """A reader let in from the queue counts in the slice, even past its end."""
        now = time.perf_counter()
        if self.ends is None:
            self._open(now)
        elif now >= self.ends and self.fitted is None:
            self.fitted = self.count
        self.count += 1

    def _open(self, now: float) -> None:
        self.ends, self.count, self.fitted = now + SLICE, 0, None
        self._schedule()

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        if not self.scheduled or self.loop is not loop:  # (a loop that ended drops what it had scheduled)
            self.scheduled, self.loop = True, loop
            loop.call_soon(self._turn)

    def _turn(self) -> None:
        """The end of a turn of the loop: close the slice, let the next readers in."""
        self.scheduled = False
        if self.fitted is not None:
            self.fit = max(1, self.fitted)
        elif self.ends is not None and self.queue:
            self.fit = min(1024, 2 * max(self.fit, self.count))  # all fitted with time to spare
        self.ends = None
        let_in = 0
        while self.queue and let_in < self.fit:
            waiter = self.queue.popleft()
            if not waiter.done():  # a reader cancelled while it waited
                waiter.set_result(None)
                let_in += 1
        if self.queue:
            self._schedule()


class DiskCache:
    def __init__(self, cache_dir: Path):
        self.root = http_dir(cache_dir)
        self._root = str(self.root)
        self.writable = True
        self.notice: str | None = None
        self.turns = Turns()
        self.inline_reads = 0
        self.thread_reads = 0
        self._pending: dict[str, Entry] = {}  # written soon; path -> entry
        self._proven: set[str] = set()  # sources whose folder took an entry
        self.on_notice: Callable[[str], None] | None = None  # told when the cache turns itself off
        self._linger: asyncio.TimerHandle | None = None
        self._writing: asyncio.Task[None] | None = None
        try:
            make_private_dir(Path(cache_dir))
            make_private_dir(self.root)
        except OSError as exc:
            self._give_up(exc)

    def path(self, source: str, key: str) -> str:
        h = key_hash(key)
        # One f-string: this runs on every lookup, and os.path.join costs ten times more (pathlib more still).
        return f"{self._root}{os.sep}{source}{os.sep}{h[:2]}{os.sep}{h}.json"

    async def get(self, source: str, key: str) -> Entry | None:
        path = self.path(source, key)
        entry = self._pending.get(path)
        if entry is None:
            raw = _read_small(path)
            if isinstance(raw, _Large):
                self.thread_reads += 1
                raw = await asyncio.to_thread(_read_file, path)
            else:
                self.inline_reads += 1
            if raw is None:
                return None
            entry = decode(raw)
        # A hash collision or a hand-edited file is as good as a miss.
        return entry if entry is not None and entry.key == key else None

    async def put(self, entry: Entry) -> None:
        """Queue ``entry`` to be written soon; ``get`` answers with it from now on.
        A source's first entry is written at once, so a folder that cannot be
        written is found (and said) before the run goes on."""
        if not self.writable:
            return
        path = self.path(entry.source, entry.key)
        if entry.source not in self._proven:
            try:
                await asyncio.to_thread(_write_batch, {path: entry})
            except OSError as exc:
                self._give_up(exc)
            else:
                self._proven.add(entry.source)
            return
        self._pending[path] = entry
        if self._linger is None and self._writing is None:
            self._linger = asyncio.get_running_loop().call_later(WRITE_LINGER, self._start_writing)

    async def flush(self) -> None:
        """Write every queued entry now."""
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                await asyncio.to_thread(_write_batch, batch)
            except OSError as exc:
                self._give_up(exc)

    async def close(self) -> None:
        """Write what is queued: the end of a run."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._writing is not None:
            await asyncio.shield(self._writing)
        await self.flush()

    def _start_writing(self) -> None:
        self._linger = None
        self._writing = asyncio.get_running_loop().create_task(self._write_queued())

    async def _write_queued(self) -> None:
        try:
            await self.flush()
        finally:
            self._writing = None

    def _give_up(self, exc: OSError) -> None:
        self.writable = False
        self._pending.clear()
        if self.notice is None:
            self.notice = f"HTTP cache {self.root} cannot be written ({exc.strerror or exc}); going on without caching"
            log.warning(self.notice)
            if self.on_notice is not None:
                self.on_notice(self.notice)

    def write_last_run(self, counts: dict[str, dict[str, Any]]) -> None:
        """Record this run's hits and misses per source for `enrich cache stats`."""
        if not self.writable:
            return
        final = self.root / LAST_RUN
        tmp = final.with_name(f".{LAST_RUN}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"finished_at": time.time(), "sources": counts}))
            os.replace(tmp, final)
        except OSError as exc:
            self._give_up(exc)


def _read_file(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _write_batch(batch: dict[str, Entry]) -> None:
    """Write queued entries (in a worker thread); the first that cannot be written stops the batch."""
    for path, entry in batch.items():
        _write_file(path, encode(entry))


# Temp names: the process id and a count, unique while the process lives (one left by
# a dead process of the same id is overwritten, never shared).
_tmp_numbers = itertools.count()
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _write_file(final: str, data: bytes) -> None:
    """Write an entry whole: a private temp file renamed into place (a crash leaves no half entry).

    When the folder exists: four calls into the kernel that let go of the interpreter's
    lock (open, write, close, rename), each a hand-over between this thread and the loop's.
    """
    folder, name = os.path.split(final)
    tmp = f"{folder}{os.sep}.{name}.{os.getpid()}.{next(_tmp_numbers)}.tmp"
    try:
        try:
            fd = os.open(tmp, _CREATE, 0o600)
        except FileNotFoundError:  # the folder's first entry
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd = os.open(tmp, _CREATE, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _Large:
    """What ``_read_small`` answers for an entry too big to read on the event loop."""


LARGE = _Large()


def _read_small(path: str) -> bytes | _Large | None:
    """The file's bytes if it is small; ``LARGE`` if it is not; None if it cannot be read (a miss)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        # One read: a regular file gives all it has up to the size asked, so no fstat first.
        # (A short read, were a filesystem to give one, leaves the entry shorter than its
        # line says: decode() calls that a miss.)
        data = os.read(fd, SMALL_ENTRY + 1)
        return LARGE if len(data) > SMALL_ENTRY else data
    except OSError:
        return None
    finally:
        os.close(fd)
