"""The scan compares the walk with the stored state as two streams: a page of each side at a time.

These fail if the comparison goes back to holding a side whole: rows are fetched in pages of
the size asked, each page only once the walk has passed the previous one, and the comparing
side's peak memory barely moves from 1,000 to 8,000 files.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from enrich.library import changes
from enrich.library.walk import Found, display, resolve_roots, walk
from enrich.pipeline.scan_plan import Planner
from enrich.store.db import open_db
from enrich.store.tracks import FileState

EXTS = ("mp3", "flac")


def make_tree(root: Path, files: int, per_folder: int = 200) -> None:
    for i in range(files):
        folder = root / f"Artist {i // per_folder:04d}" / "Album"
        if i % per_folder == 0:
            folder.mkdir(parents=True)
        (folder / f"{i % per_folder:03d} Title.mp3").write_bytes(b"x")


def seed(db: Path, root: Path, *, skip_every: int = 0, extra: tuple[str, ...] = ()) -> int:
    """Store every file under ``root`` as scanned (but every ``skip_every``-th), plus ``extra`` paths."""

    async def schema() -> None:
        await (await open_db(db)).close()

    asyncio.run(schema())
    files = walk(resolve_roots([root]), extensions=EXTS).files
    rows = [(display(f.path), f.size, f.mtime_ns) for i, f in enumerate(files) if not skip_every or i % skip_every]
    rows += [(p, 1, 1) for p in extra]
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO tracks (path, size, mtime_ns, scanned_at) VALUES (?, ?, ?, 0)", rows)
    return len(rows)


def compare(db: Path | None, root: Path, page: int = 1000) -> tuple[Planner, list[str], int]:
    """Run the planner; (planner, paths to read, writer ops)."""

    async def go() -> tuple[Planner, list[str], int]:
        conn = await open_db(db) if db else None
        try:
            plan = Planner(conn, resolve_roots([root]), extensions=EXTS, follow_symlinks=True, leave_roots=False,
                           chunk_size=64, page=page)
            to_read, ops = [], 0
            async for batch in plan.batches():
                to_read += batch.to_read
                ops += len(batch.ops)
            return plan, to_read, ops
        finally:
            if conn:
                await conn.close()

    return asyncio.run(go())


def test_stored_rows_are_taken_only_as_the_walk_reaches_them():
    files = [Found(f"/m/{c}.mp3", 1, 1) for c in "bdfh"]
    stored = [(f"/m/{c}.mp3", FileState(1, 1)) for c in "abcdefgh"]
    pulled: list[tuple[str, str]] = []  # (stored row taken, the file the walk was at)
    at = [""]

    def walk_side():
        for f in files:
            at[0] = f.path
            yield f

    def stored_side():
        for row in stored:
            pulled.append((row[0], at[0]))
            yield row

    counts = changes.Counts()
    events = list(changes.compare(walk_side(), stored_side(), [], lambda p: True, counts, []))
    assert [e for e in events if e[0] == "missing"] == [("missing", f"/m/{c}.mp3") for c in "aceg"]
    assert counts.unchanged == 4 and counts.missing == 4
    # Never more than one stored row beyond the walk: the row after the file it stands on.
    for row, walk_at in pulled[1:]:
        assert row <= walk_at or row == min((r for r, _ in stored if r > walk_at), default=row), (row, walk_at)


def test_a_walk_out_of_path_order_is_refused_not_taken_for_missing_files():
    files = [Found("/m/b.mp3", 1, 1), Found("/m/a.mp3", 1, 1)]
    with pytest.raises(ValueError, match="out of path order"):
        list(changes.compare(files, [], [], lambda p: True, changes.Counts(), []))


def test_rescan_fetches_stored_state_in_pages_of_the_size_asked(tmp_path):
    music, db = tmp_path / "music", tmp_path / "lib.db"
    make_tree(music, 3000)
    stored = seed(db, music, skip_every=10, extra=(f"{display(str(music.resolve()))}/Gone/x.mp3",
                                                   "/elsewhere/not-scanned.mp3"))
    plan, to_read, ops = compare(db, music, page=100)
    assert plan.counts.unchanged == 2700 and plan.counts.new == 300 and len(to_read) == 300
    assert plan.counts.missing == 1 and ops == 1  # the gone one; the one outside the root is left alone
    assert plan.largest_page == 100
    # Every stored row under the root comes in pages of 100: no query took the whole table.
    assert plan.queries * 100 >= stored - 1 and plan.queries <= (stored - 1) // 100 + 2 * 2  # tracks + unreadable


ODD = ("a.mp3", "a/x.mp3", "a b.mp3", "a-b/y.mp3", "a.b/z.flac", "a0.mp3", "A.mp3", "é.mp3", "e/é/é.mp3",
       "Z/1.mp3", "z.mp3", "~.mp3", "[x]/1.mp3", "a (2)/1.mp3")


def test_walk_order_is_the_order_sqlite_keeps_the_stored_paths_in(tmp_path):
    music, db = tmp_path / "music", tmp_path / "lib.db"
    for rel in ODD:
        (music / rel).parent.mkdir(parents=True, exist_ok=True)
        (music / rel).write_bytes(b"x")
    raw = os.fsencode(music) + b"/caf\xe9.mp3"  # a Latin-1 name, not UTF-8
    with open(raw, "wb") as f:
        f.write(b"x")
    seed(db, music)
    walked = [display(f.path) for f in walk(resolve_roots([music]), extensions=EXTS).files]
    with sqlite3.connect(db) as conn:
        assert walked == [p for (p,) in conn.execute("SELECT path FROM tracks ORDER BY path")]
    plan, to_read, ops = compare(db, music, page=3)
    assert (plan.counts.unchanged, plan.counts.new, plan.counts.missing, to_read, ops) == (len(ODD) + 1, 0, 0, [], 0)


def peak_comparing(tmp_path: Path, files: int) -> int:
    music, db = tmp_path / f"music{files}", tmp_path / f"lib{files}.db"
    make_tree(music, files)
    stored = seed(db, music, skip_every=7)
    tracemalloc.start()
    try:
        plan, to_read, _ = compare(db, music, page=500)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plan.counts.unchanged == stored and len(to_read) == files - stored
    return peak


def test_comparing_memory_does_not_grow_with_the_library(tmp_path):
    small, large = peak_comparing(tmp_path, 1000), peak_comparing(tmp_path, 8000)
    # Holding either side whole costs several hundred bytes a file: 7,000 more files would add
    # megabytes. Streamed, the peak is pages, batches and a folder listing.
    print(f"peak {small:,} B at 1,000 files, {large:,} B at 8,000")
    assert large - small < 1_000_000, (small, large)


def test_a_page_deep_in_the_table_costs_what_the_first_one_costs(tmp_path):
    # A page found by seeking past every row before it made a rescan quadratic (a million
    # files: minutes). Count SQLite's virtual machine steps for the first and the last page.
    from enrich.store.tracks import file_states

    db = tmp_path / "lib.db"

    async def go() -> tuple[int, int]:
        conn = await open_db(db)
        try:
            await conn.executemany("INSERT INTO tracks (path, size, mtime_ns, scanned_at) VALUES (?, 1, 1, 0)",
                                   [(f"/m/{i:06d}.mp3",) for i in range(20_000)])
            await conn.commit()
            steps = [0]

            def count() -> int:
                steps[0] += 1
                return 0

            await conn.set_progress_handler(count, 100)
            costs = []
            for after in (None, "/m/018999.mp3"):
                steps[0] = 0
                assert len(await file_states(conn, "/m/", "/m0", after, 500)) == 500
                costs.append(steps[0])
            return costs[0], costs[1]
        finally:
            await conn.close()

    first, deep = asyncio.run(go())
    assert deep <= 2 * first + 10, (first, deep)
