"""The disk HTTP cache: one small JSON file per request under <cache_dir>/http/.

Layout ``http/<source>/<hh>/<sha256>.json``; an entry holds the readable key
(secrets already removed), status, the headers that matter, the body and the
fetch time. Writes go to a temp file that is renamed into place, so a crash
never leaves half an entry; an entry that cannot be read is a miss and is
replaced by the next write. If the folder cannot be written, the cache turns
itself off for the run and says so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets as _secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os

from enrich.net.policy import key_hash
from enrich.net.reply import Reply

log = logging.getLogger("enrich.net")
FORMAT = 1
LAST_RUN = "last_run.json"


@dataclass(frozen=True)
class Entry:
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
    return json.dumps({
        "format": FORMAT, "key": entry.key, "source": entry.source, "status": entry.status,
        "headers": entry.headers, "url": entry.url, "fetched_at": entry.fetched_at,
        "negative": entry.negative, "body": entry.body.decode("utf-8", "replace"),
    }, ensure_ascii=False).encode()


def decode(raw: bytes) -> Entry | None:
    """The entry in ``raw``, or None if it is truncated, not JSON or not ours."""
    try:
        d = json.loads(raw)
        if d.get("format") != FORMAT:
            return None
        return Entry(str(d["key"]), str(d["source"]), int(d["status"]), dict(d["headers"]),
                     str(d["body"]).encode(), str(d["url"]), float(d["fetched_at"]), bool(d["negative"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def http_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "http"


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)


class DiskCache:
    def __init__(self, cache_dir: Path):
        self.root = http_dir(cache_dir)
        self._root = str(self.root)
        self.writable = True
        self.notice: str | None = None
        self.inline_reads = 0
        try:
            make_private_dir(Path(cache_dir))
            make_private_dir(self.root)
        except OSError as exc:
            self._give_up(exc)

    def path(self, source: str, key: str) -> str:
        h = key_hash(key)
        # Plain strings: this runs on every lookup, and pathlib costs more.
        return os.path.join(self._root, source, h[:2], h + ".json")

    async def get(self, source: str, key: str) -> Entry | None:
        path = self.path(source, key)
        raw = _read_small(path)
        if isinstance(raw, _Large):
            raw = await _read_whole(path)
        else:
            # Read inline. Every few reads, let other tasks run: a burst of
            # hundreds of cache hits then holds the event loop a millisecond at most.
            self.inline_reads += 1
            if self.inline_reads % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        if raw is None:
            return None
        entry = decode(raw)
        # A hash collision or a hand-edited file is as good as a miss.
        return entry if entry is not None and entry.key == key else None

    async def put(self, entry: Entry) -> None:
        if not self.writable:
            return
        try:
            await _write_whole(self.path(entry.source, entry.key), encode(entry))
        except OSError as exc:
            self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        self.writable = False
        if self.notice is None:
            self.notice = f"HTTP cache {self.root} cannot be written ({exc.strerror or exc}); going on without caching"
            log.warning(self.notice)

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


def _write_file(final: str, data: bytes) -> None:
    """Write an entry whole: a private temp file renamed into place (a crash leaves no half entry)."""
    folder, name = os.path.split(final)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{_secrets.token_hex(4)}.tmp")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(tmp, "wb", opener=_private_opener) as fh:
            fh.write(data)
        os.replace(tmp, final)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# One trip to aiofiles' thread pool per read of a large entry and per write
# (every step of it together): at a hundred requests a second, separate hops
# for makedirs, open, write, close and rename cost the client a fifth of its CPU.
_read_whole = aiofiles.os.wrap(_read_file)
_write_whole = aiofiles.os.wrap(_write_file)

# Entries up to this size are read on the event loop: from the page cache that is
# a few microseconds, where a hop to a thread and back costs about a hundred.
SMALL_ENTRY = 64 * 1024
YIELD_EVERY = 16  # inline reads between two turns given to the other tasks


class _Large:
    """What ``_read_small`` answers for an entry too big to read on the event loop."""


LARGE = _Large()


def _read_small(path: str) -> bytes | _Large | None:
    """The file's bytes if it is small; ``LARGE`` if it is not; None if it cannot be read (a miss)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_size > SMALL_ENTRY:
            return LARGE
        chunks = []
        while chunk := os.read(fd, SMALL_ENTRY + 1):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
