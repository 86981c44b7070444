"""Reader processes: a file that hangs, eats memory, crashes its reader, vanishes or changes
costs only itself, and the other files are read.

The misbehaving readers below are real code run in the real reader processes
(``ReaderPool(read="tests.test_scan_reader:...")``); what they do depends on the file's name.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from enrich.errors import FileError
from enrich.library.reader import ReaderPool, read_one
from enrich.library.tags import read_file
from fixtures.generate import QUICKSTART, generate_library


def misbehaving_read(path: str) -> dict:
    name = os.path.basename(path)
    if name.startswith("hang"):  # a parser loop in Python: the reader's own alarm stops it
        while True:
            pass
    if name.startswith("stuck"):  # as if stuck in C: the alarm cannot fire, the parent must kill
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(600)
    if name.startswith("hog"):
        return {"size": len(bytearray(2 * 1024**3))}
    if name.startswith("crash"):
        os.abort()
    if name.startswith("exit"):
        os._exit(3)
    if name.startswith("odd words"):  # a reader's message that reads like a vanished file's
        raise FileError(path, "vanished during scan, says this odd parser")
    return read_file(path)


def rewriting_read(path: str) -> dict:
    """Appends to the file while reading it: the reader notices and reads again."""
    if "always" in path or not os.path.exists(path + ".done"):
        with open(path, "ab") as fh:
            fh.write(b"\0" * 16)
        Path(path + ".done").touch()
    return read_file(path)


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    dest = tmp_path_factory.mktemp("lib")
    manifest = generate_library(dest, seconds=0.5, specs=QUICKSTART[:4])
    return [str(dest / e["path"]) for e in manifest]


def read_all(paths, **kwargs) -> list:
    results = []

    async def handle(chunk):
        results.extend(chunk)

    options = dict(workers=2, timeout=1.0, memory_mb=256, chunk_size=3, read="tests.test_scan_reader:misbehaving_read",
                   grace=1.0) | kwargs
    asyncio.run(ReaderPool(**options).read_all(paths, handle))
    return results


@pytest.mark.slow
def test_bad_files_cost_only_themselves(good_files, tmp_path):
    bad = {}
    for name in ("hang.mp3", "stuck.mp3", "hog.mp3", "crash.mp3", "exit.mp3"):
        bad[name] = tmp_path / name
        bad[name].write_bytes(b"x" * 10)
    paths = [good_files[0], str(bad["hang.mp3"]), good_files[1], str(bad["stuck.mp3"]), str(bad["hog.mp3"]),
             good_files[2], str(bad["crash.mp3"]), str(bad["exit.mp3"]), good_files[3]]
    started = time.monotonic()
    results = read_all(paths)
    assert time.monotonic() - started < 20
    assert [r.path for r in results] == paths  # in order, one each
    by_name = {os.path.basename(r.path): r for r in results}
    for good in good_files:
        r = by_name[os.path.basename(good)]
        assert r.error is None and r.tags["title"], r
    assert "took longer than 1s" in by_name["hang.mp3"].error
    assert "stuck" in by_name["stuck.mp3"].error and "stopped it" in by_name["stuck.mp3"].error
    assert "more than 256 MB" in by_name["hog.mp3"].error
    assert "died" in by_name["crash.mp3"].error and "SIGABRT" in by_name["crash.mp3"].error
    assert "died" in by_name["exit.mp3"].error and "exit status 3" in by_name["exit.mp3"].error


@pytest.mark.slow
def test_handled_chunks_are_let_go(good_files):
    # A first scan hands every file's tags over chunk by chunk: a chunk handled must not stay
    # in memory (they all did, ~1.4 KB a file: a scan's memory grew with the library).
    import gc

    from enrich.library.reader import ReadResult

    paths = good_files * 10
    alive: list[int] = []

    async def handle(chunk):
        gc.collect()
        alive.append(sum(type(o) is ReadResult for o in gc.get_objects()))  # type(): a dead weak proxy raises

    asyncio.run(ReaderPool(workers=1, timeout=5.0, memory_mb=256, chunk_size=2).read_all(paths, handle))
    assert len(alive) == len(paths) // 2
    window = (2 * 1 + 1) * 2  # read-ahead chunks plus the one being handled, 2 files each
    assert max(alive) <= window, alive


@pytest.mark.slow
def test_no_reader_process_is_left_behind(good_files):
    children_before = set(os.listdir("/proc"))
    read_all(good_files)
    leftovers = []
    for pid in set(os.listdir("/proc")) - children_before:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"enrich.library.reader" in cmdline and f"PPid:\t{os.getpid()}" in Path(f"/proc/{pid}/status").read_text():
            leftovers.append(pid)
    assert not leftovers


@pytest.mark.slow
def test_stopped_as_a_chunk_arrives_ends_cancelled_with_no_reader_left(good_files):
    # Ctrl-C lands in the same instant a reader hands its chunk over: the chunk nobody waits for
    # any more is dropped, and the scan ends as cancelled (it was an "invalid state" error).
    pool = ReaderPool(workers=1, timeout=5.0, memory_mb=256, chunk_size=2)
    reader = pool.readers[0]
    read_chunk = reader.read_chunk
    handled: list = []

    async def main():
        consumer = asyncio.current_task()

        async def read_then_stop(paths):
            got = await read_chunk(paths)
            consumer.cancel()  # cancels the future the consumer is waiting on, at once
            return got

        reader.read_chunk = read_then_stop

        async def handle(chunk):
            handled.extend(chunk)

        await pool.read_all(good_files, handle)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert handled == []
    assert all(r.proc is None or r.proc.returncode is not None for r in pool.readers)


def test_vanished_file(tmp_path):
    result = read_one(str(tmp_path / "gone.mp3"), read_file, 5.0, 256)
    assert result["error"].startswith("vanished during scan") and result["gone"]


def test_empty_file(tmp_path):
    (tmp_path / "empty.flac").write_bytes(b"")
    assert read_one(str(tmp_path / "empty.flac"), read_file, 5.0, 256)["error"] == "empty file (0 bytes)"


def test_file_rewritten_while_read_is_read_again(good_files, tmp_path):
    path = tmp_path / "once.mp3"
    path.write_bytes(Path(good_files[0]).read_bytes())
    result = read_one(str(path), rewriting_read, 5.0, 256)
    assert result.get("error") is None and result["size"] == path.stat().st_size


def test_file_that_keeps_changing_is_left_for_the_next_scan(good_files, tmp_path):
    path = tmp_path / "always.mp3"
    path.write_bytes(Path(good_files[0]).read_bytes())
    assert "kept changing" in read_one(str(path), rewriting_read, 5.0, 256)["error"]


def test_reader_that_cannot_start_fails_its_files_with_a_reason(good_files):
    results = read_all(good_files[:2], read="tests.no_such_module:read")
    assert [r.error for r in results] == ["tag reader process could not start (exit status 1)"] * 2
