"""Reading many files' tags in reader processes, each read capped in time and memory.

Why processes of our own instead of ``ProcessPoolExecutor``: the parent must be
able to kill the one reader that is stuck in C code and name the file it was on,
without breaking the other readers' work (a pool can only be torn down whole).
Each reader is ``python -m enrich.library.reader`` (a fresh interpreter, like a
spawn context), talking over its stdin/stdout in length-prefixed pickles:

    parent -> reader   a list of paths
    reader -> parent   lists of result dicts, in order: every FLUSH_EVERY files,
                       at least every FLUSH_SECONDS, and at the end of the list

A reader caps each read with SIGALRM (``read_timeout``) and its address space
with RLIMIT_AS (``read_memory_mb``). The parent's watchdog kills a reader that
sends nothing for longer than the time cap plus a grace period. When a reader
is lost (stuck, killed, crashed, out of memory), the files it had not reported
go to a new reader one at a time, so the file at fault is found and costs only
itself.

Results come back chunk by chunk in the order of the paths given, so a scan
that is stopped and resumed writes its rows in the same order as one that is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

from enrich.children import sigint_blocked, silence_native_output
from enrich.errors import FileError

DEFAULT_READ = "enrich.library.tags:read_file"
HEADER = struct.Struct(">I")
# Extra seconds the parent allows over the reader's own cap, and for a reader to start.
GRACE = 5.0
STARTUP = 30.0
# Results a reader gathers before sending: fewer, larger messages cost the parent less.
FLUSH_EVERY = 32
FLUSH_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ReadResult:
    path: str
    size: int | None = None
    mtime_ns: int | None = None
    tags: dict[str, Any] | None = None  # the tracks columns read from the file
    error: str | None = None  # one line; set when tags is None
    gone: bool = False  # the file was deleted before or while it was read


# ---------------------------------------------------------------- in the reader process


class ReadTimeout(BaseException):
    """Raised by SIGALRM inside a read. A BaseException so no parser's ``except Exception`` eats it."""


def on_alarm(signum: int, frame: FrameType | None) -> None:
    raise ReadTimeout()


def read_one(path: str, read: Callable[[str], dict[str, Any]], timeout: float, memory_mb: int) -> dict[str, Any]:
    """Stat, read (once more if the file changed meanwhile), and describe the outcome as a dict."""
    for _attempt in range(2):
        try:
            before = os.stat(path)
        except FileNotFoundError:
            return {"path": path, "error": "vanished during scan (deleted before it could be read)", "gone": True}
        except OSError as exc:
            return {"path": path, "error": f"cannot stat: {exc.strerror or exc}"}
        state = {"path": path, "size": before.st_size, "mtime_ns": before.st_mtime_ns}
        if before.st_size == 0:
            return {**state, "error": "empty file (0 bytes)"}
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            outcome = {**state, "tags": read(path)}
        except ReadTimeout:
            return {**state, "error": f"tag reading took longer than {timeout:g}s (scan.read_timeout); abandoned"}
        except MemoryError:
            return {**state, "error": f"tag reading needed more than {memory_mb} MB (scan.read_memory_mb); abandoned"}
        except FileError as exc:
            outcome = {**state, "error": exc.reason}
        except Exception as exc:  # noqa: BLE001 - a reader must survive any one file
            outcome = {**state, "error": f"tag reader failed: {type(exc).__name__}: {exc}"[:300]}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            after = os.stat(path)
        except FileNotFoundError:
            return {**state, "error": "vanished during scan (deleted while it was read)", "gone": True}
        except OSError:
            return outcome
        if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
            return outcome
    return {**state, "error": "kept changing while it was read; it will be read at the next scan"}


def load_function(dotted: str) -> Callable[[str], dict[str, Any]]:
    module, _, name = dotted.partition(":")
    function: Callable[[str], dict[str, Any]] = getattr(importlib.import_module(module), name)
    return function


def serve(read: str, timeout: float, memory_mb: int) -> None:
    """The reader's loop: read path lists from stdin, write one result per path to stdout."""
    import resource

    inbox = sys.stdin.buffer
    outbox = os.fdopen(os.dup(1), "wb")
    silence_native_output(1, 2)  # stray prints must not corrupt the protocol, nor decoders' warnings the bar
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    signal.signal(signal.SIGALRM, on_alarm)
    read_fn = load_function(read)
    limit = memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    send(outbox, [])  # ready: imported and capped
    while True:
        header = inbox.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        paths = pickle.loads(inbox.read(HEADER.unpack(header)[0]))
        done, last_sent = [], time.monotonic()
        for path in paths:
            done.append(read_one(path, read_fn, timeout, memory_mb))
            if len(done) >= FLUSH_EVERY or time.monotonic() - last_sent >= FLUSH_SECONDS:
                send(outbox, done)
                done, last_sent = [], time.monotonic()
        if done:
            send(outbox, done)


def send(outbox: BinaryIO, message: list[dict[str, Any]]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    outbox.write(HEADER.pack(len(data)) + data)
    outbox.flush()


# ---------------------------------------------------------------- in the parent


def exit_text(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def lost(path: str, error: str) -> ReadResult:
    """A file whose reader was lost, with its state, so an unchanged one is not tried every night."""
    try:
        st = os.stat(path)
    except OSError:
        return ReadResult(path, error=error)
    return ReadResult(path, st.st_size, st.st_mtime_ns, error=error)


class ReaderFailed(Exception):
    """A reader process could not be started."""


class Reader:
    """One reader process, started on demand and replaced when it dies or is killed."""

    def __init__(self, read: str, timeout: float, memory_mb: int, grace: float = GRACE):
        self.read, self.timeout, self.memory_mb, self.grace = read, timeout, memory_mb, grace
        self.proc: asyncio.subprocess.Process | None = None
        self.inbox = bytearray()  # bytes received and not yet parsed

    async def start(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.inbox = bytearray()
        with sigint_blocked():
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "enrich.library.reader", self.read, repr(self.timeout), str(self.memory_mb),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            )
        try:
            await self.receive(STARTUP)  # an empty list once imported and capped
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionResetError):
            code = await self.kill(patience=2.0)
            raise ReaderFailed(f"tag reader process could not start ({exit_text(code)})") from None

    async def receive(self, deadline: float) -> list[dict[str, Any]]:
        """The next message; waits (at most ``deadline`` seconds) only when none is buffered."""
        assert self.proc and self.proc.stdout
        while True:
            if len(self.inbox) >= HEADER.size:
                end = HEADER.size + HEADER.unpack_from(self.inbox)[0]
                if len(self.inbox) >= end:
                    message: list[dict[str, Any]] = pickle.loads(memoryview(self.inbox)[HEADER.size:end])
                    del self.inbox[:end]
                    return message
            # Read whatever has arrived: many results per wake-up when the parent is busy.
            async with asyncio.timeout(deadline):
                data = await self.proc.stdout.read(1 << 16)
            if not data:
                raise asyncio.IncompleteReadError(bytes(self.inbox), None)
            self.inbox += data

    async def kill(self, patience: float = 0.0) -> int | None:
        """Stop the reader (after ``patience`` seconds for one already on its way out); its exit status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if patience:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), patience)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        return await proc.wait()

    async def close(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.stdin and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
            self.proc = None
        except TimeoutError:
            await self.kill()

    async def read_chunk(self, paths: Sequence[str]) -> list[ReadResult]:
        results: list[ReadResult] = []
        pending = list(paths)
        careful = False  # after a lost reader: one file per message until the culprit shows
        while pending:
            if self.proc is None:
                try:
                    await self.start()
                except ReaderFailed as exc:
                    return results + [ReadResult(p, error=str(exc)) for p in pending]
            batch = pending[:1] if careful else pending
            got, failure = await self.exchange(batch)
            results += got
            del pending[:len(got)]
            if failure is None:
                continue
            if len(got) == len(batch) - 1:
                results.append(lost(pending.pop(0), failure))  # the one file unreported: no doubt
                careful = False
            else:
                careful = True  # unreported results died with the reader: find the file one by one
        return results

    async def exchange(self, batch: list[str]) -> tuple[list[ReadResult], str | None]:
        """Send ``batch``; the results that came back, and why the reader was lost if it was."""
        assert self.proc and self.proc.stdin
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(HEADER.pack(len(data)) + data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader is dead; receive() finds out
        got: list[ReadResult] = []
        deadline = self.timeout + self.grace + FLUSH_SECONDS
        while len(got) < len(batch):
            try:
                got += [ReadResult(**r) for r in await self.receive(deadline)]
            except TimeoutError:
                await self.kill()
                return got, f"tag reader stuck for over {deadline:g}s; stopped it (scan.read_timeout)"
            except (asyncio.IncompleteReadError, ConnectionResetError):
                code = await self.kill(patience=2.0)  # it closed its output: let it finish dying
                return got, f"tag reader process died on this file ({exit_text(code)})"
        return got, None


class ReaderPool:
    """``workers`` reader processes; ``read_all`` hands results over chunk by chunk, in order."""

    def __init__(self, workers: int, *, timeout: float, memory_mb: int, chunk_size: int = 64,
                 read: str = DEFAULT_READ, grace: float = GRACE):
        self.workers = max(1, workers)
        self.chunk_size = max(1, chunk_size)
        self.readers = [Reader(read, timeout, memory_mb, grace) for _ in range(self.workers)]

    async def read_all(self, paths: Sequence[str], handle: Callable[[list[ReadResult]], Awaitable[None]]) -> None:
        async def chunks() -> AsyncIterator[Sequence[str]]:
            for i in range(0, len(paths), self.chunk_size):
                yield paths[i:i + self.chunk_size]

        await self.read_stream(chunks(), handle)

    async def read_stream(self, chunks: AsyncIterable[Sequence[str]],
                          handle: Callable[[list[ReadResult]], Awaitable[None]]) -> None:
        """Read each chunk as it comes; ``handle`` the results chunk by chunk, in the order given.

        At most ``2 * workers`` chunks are taken ahead of the one being handled: memory is
        bounded whatever the number of files, and the producer of ``chunks`` is held back.
        """
        loop = asyncio.get_running_loop()
        # Chunks taken, in order, each with the future of its results.
        order: asyncio.Queue[asyncio.Future[list[ReadResult]] | None] = asyncio.Queue(2 * self.workers)
        jobs: asyncio.Queue[tuple[Sequence[str], asyncio.Future[list[ReadResult]]] | None] = asyncio.Queue()

        async def take() -> None:
            async for chunk in chunks:
                if chunk:
                    future = loop.create_future()
                    await order.put(future)
                    jobs.put_nowait((chunk, future))
            # Ended (a failure or a stop instead cancels the whole group).
            for _ in self.readers:
                jobs.put_nowait(None)
            await order.put(None)

        async def work(reader: Reader) -> None:
            while (job := await jobs.get()) is not None:
                paths, future = job
                results = await reader.read_chunk(paths)
                if not future.done():  # cancelled when the consumer was stopped while waiting for it
                    future.set_result(results)

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(take())
                for reader in self.readers:
                    group.create_task(work(reader))
                while (future := await order.get()) is not None:
                    results = await future
                    await handle(results)
                    del results, future  # let the handled chunk go at once
        except BaseException:
            await asyncio.shield(self.close(kill=True))  # stopped: no reader outlives us
            raise
        await self.close()

    async def close(self, kill: bool = False) -> None:
        await asyncio.gather(*((r.kill() if kill else r.close()) for r in self.readers), return_exceptions=True)


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
