"""Scan speed and memory on 10,000 generated files. Run from the repository root:

    python tests/bench/bench_scan.py [--files 10000] [--repeats 3]

Prints, as medians of the repeats:
  - first scan vs a plain single-process loop of mutagen.File over the same files
    (ratio = scan time / loop time; goal <= 1.0), for the whole `enrich scan`
    command (a fresh process, interpreter start included) and for the library call,
    plus the CPU seconds the scan's processes used (the wall-time ratio depends on
    how many cores are free: other work on the machine shows up there);
  - the same with 1 reader process, and an in-process loop of our own read_file,
    to show whether the reader processes pay;
  - rescan of the unchanged library (goal: first scan / rescan >= 20);
  - rows per second through the batched writer with the tracks upsert (goal >= 100,000);
  - peak RSS of `enrich scan`, its process plus its readers, sampled from /proc (goal <= 200 MB).
The library is generated once into tests/bench/out/scan-library and reused.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import mutagen  # noqa: E402

from enrich import config as config_mod  # noqa: E402
from enrich.library.tags import read_file  # noqa: E402
from enrich.library.walk import resolve_roots, walk  # noqa: E402
from enrich.pipeline.scan import scan  # noqa: E402
from enrich.store import tracks  # noqa: E402
from enrich.store.db import open_db  # noqa: E402
from enrich.store.writer import Writer  # noqa: E402
from fixtures.generate import generate_bulk  # noqa: E402

OUT = REPO / "tests" / "bench" / "out"


def library(count: int, dest: Path = OUT / "scan-library") -> tuple[Path, list[str]]:
    stamp = dest / ".count"
    if not (stamp.exists() and stamp.read_text() == str(count)):
        shutil.rmtree(dest, ignore_errors=True)
        started = time.perf_counter()
        generate_bulk(dest, count, seconds=0.5)
        stamp.write_text(str(count))
        print(f"generated {count} files in {time.perf_counter() - started:.1f}s")
    paths = [f.path for f in walk(resolve_roots([dest]), extensions=("mp3", "flac", "ogg", "opus", "m4a", "aiff",
                                                                     "wav", "wma", "wv")).files]
    assert len(paths) == count, len(paths)
    return dest, paths


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def plain_loop(paths):
    for p in paths:
        mutagen.File(p)


def own_loop(paths):
    for p in paths:
        read_file(p)


def process_tree_rss(root_pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants, now (cheap: no /proc listing)."""
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            for task in os.listdir(f"/proc/{pid}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_scan(music: Path, db: Path, *extra: str) -> tuple[float, int, dict, float]:
    """Run `enrich scan` as a process; (seconds, peak RSS of its tree, JSON report, CPU seconds of its tree)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cpu_before = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "enrich", "scan", "--db", str(db), "--json", "-q", *extra, str(music)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process_tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"enrich scan failed ({proc.returncode}): {err}")
    # The readers are waited for by enrich, so their CPU time is in enrich's, and so in ours.
    return elapsed, peak, json.loads(out), children_cpu() - cpu_before


def library_scan(music: Path, db: Path, workers: int | None = None) -> float:
    config = config_mod.load(overrides={"paths.db": str(db)})
    return timed(lambda: asyncio.run(scan(config, [music], workers=workers)))


def writer_rows(rows: int) -> list[tuple[str, tuple]]:
    template = {"format": "MP3", "codec": "mp3", "duration": 200.5, "sample_rate": 44100, "channels": 2,
                "bitrate": 320000, "artist": "Some Artist", "album_artist": "Some Artist", "album": "Some Album",
                "track_number": 3, "track_total": 12, "disc_number": 1, "disc_total": 1, "year": 1999,
                "tag_genres": '["Rock", "Pop"]', "scanned_at": time.time(), "size": 5_000_000,
                "mtime_ns": 1_700_000_000_000_000_000}
    return [tracks.upsert_op({**template, "path": f"/music/Artist/Album/{i:07d} Title.mp3", "title": f"Title {i}"})
            for i in range(rows)]


def writer_rows_per_second(ops: list, batch: int = 2000) -> tuple[float, float]:
    """(rows per wall second, rows per CPU second) through the batched writer, a group per row as the scan sends."""

    async def go(db: Path) -> tuple[float, float]:
        conn = await open_db(db)
        try:
            async with Writer(conn, batch_size=batch) as writer:
                started, cpu = time.perf_counter(), time.process_time()  # process time: every thread
                for op in ops:
                    await writer.put_group([op])
                await writer.flush()
                return time.perf_counter() - started, time.process_time() - cpu
        finally:
            await conn.close()

    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = asyncio.run(go(Path(tmp) / "w.db"))
    return len(ops) / wall, len(ops) / cpu


def executemany_rows_per_second(ops: list, batch: int = 2000) -> tuple[float, float]:
    """The reference: the same statement and rows with plain sqlite3 executemany, same batches, same database set-up."""
    sql = ops[0][0]
    params = [p for _, p in ops]

    async def create(db: Path) -> None:
        await (await open_db(db)).close()  # the schema, as the writer's database has it

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "r.db"
        asyncio.run(create(db))
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(params), batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, params[i:i + batch])
            conn.execute("COMMIT")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        conn.close()
    return len(ops) / wall, len(ops) / cpu


def bench_writer(repeats: int) -> None:
    ops = writer_rows(100_000)
    ours, ref, loads = [], [], []
    for _ in range(repeats):  # interleaved, so the load hits both alike
        ref.append(executemany_rows_per_second(ops))
        ours.append(writer_rows_per_second(ops))
        loads.append(os.getloadavg()[0])
    med = statistics.median
    print(f"writer, 100,000 tracks upserts (median of {repeats}; load {med(loads):.1f}):")
    print(f"  plain sqlite3 executemany (reference)  {med(r[0] for r in ref):9,.0f} rows/s wall  "
          f"{med(r[1] for r in ref):9,.0f} rows per CPU-s")
    print(f"  enrich's batched writer                {med(r[0] for r in ours):9,.0f} rows/s wall  "
          f"{med(r[1] for r in ours):9,.0f} rows per CPU-s  (goal >= 150,000)")
    print(f"  writer / reference: wall {med(r[0] for r in ours) / med(r[0] for r in ref):.2f}, "
          f"CPU {med(r[1] for r in ours) / med(r[1] for r in ref):.2f}")


def bench_scaling(sizes: list[int]) -> None:
    """Peak RSS, wall and CPU of a first scan and a rescan of 1k / 10k / 100k files: growth per file."""
    print("scan scaling (one run per size; real files, copied and retagged templates):")
    print(f"  {'files':>8}  {'first wall':>10}  {'first CPU':>9}  {'first RSS MB':>12}  {'rescan wall':>11}"
          f"  {'rescan CPU':>10}  {'rescan RSS MB':>13}  {'load':>4}")
    rows = []
    for n in sizes:
        music, _ = library(n, OUT / f"scan-library-{n}")
        with tempfile.TemporaryDirectory() as tmp:
            first = cli_scan(music, Path(tmp) / "s.db")
            again = cli_scan(music, Path(tmp) / "s.db")
        rows.append((n, first, again))
        print(f"  {n:>8,}  {first[0]:>10.2f}  {first[3]:>9.2f}  {first[1] / 2**20:>12.1f}  {again[0]:>11.2f}"
              f"  {again[3]:>10.2f}  {again[1] / 2**20:>13.1f}  {os.getloadavg()[0]:>4.1f}")
    for (a, fa, ra), (b, fb, rb) in itertools.pairwise(rows):
        print(f"  {a:,} -> {b:,} files (x{b / a:g}): first-scan CPU x{fb[3] / fa[3]:.2f}, RSS x{fb[1] / fa[1]:.2f}; "
              f"rescan CPU x{rb[3] / ra[3]:.2f}, RSS x{rb[1] / ra[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="scan benchmark")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["writer", "scaling"], help="run one part")
    parser.add_argument("--sizes", default="1000,10000,100000", help="file counts for --only scaling")
    args = parser.parse_args()
    if args.only == "writer":
        bench_writer(args.repeats)
        return
    if args.only == "scaling":
        bench_scaling([int(x) for x in args.sizes.split(",")])
        return
    music, paths = library(args.files)
    n = args.repeats
    print(f"{len(paths)} files, {os.cpu_count()} cores, medians of {n} runs, "
          f"load average before: {os.getloadavg()[0]:.1f}\n")

    plain, plain_cpu, first_cpu = [], [], []
    first_cli, rescan_cli, peak_rss = [], [], []
    first_lib, rescan_lib, first_lib_1 = [], [], []
    own = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            cpu = time.process_time()
            plain.append(timed(lambda: plain_loop(paths)))
            plain_cpu.append(time.process_time() - cpu)
            own.append(timed(lambda: own_loop(paths)))
            db = Path(tmp) / f"cli{i}.db"
            seconds, peak, report, cpu = cli_scan(music, db)
            assert report["read"] == len(paths), report
            first_cli.append(seconds)
            first_cpu.append(cpu)
            peak_rss.append(peak)
            seconds, _, report, _ = cli_scan(music, db)
            assert report["read"] == 0 and report["unchanged"] == len(paths), report
            rescan_cli.append(seconds)
            db = Path(tmp) / f"lib{i}.db"
            first_lib.append(library_scan(music, db))
            rescan_lib.append(library_scan(music, db))
            first_lib_1.append(library_scan(music, Path(tmp) / f"one{i}.db", workers=1))

    med = statistics.median
    print(f"plain mutagen.File loop (1 process)     {med(plain):7.2f} s  ({len(paths) / med(plain):6.0f} files/s)")
    print(f"our read_file loop (1 process)          {med(own):7.2f} s  ratio to plain {med(own) / med(plain):.2f}")
    print(f"first scan, `enrich scan` process        {med(first_cli):7.2f} s  ratio to plain {med(first_cli) / med(plain):.2f}"
          "  (goal <= 1.0)")
    print(f"  CPU seconds, all its processes         {med(first_cpu):7.2f} s  ratio to the plain loop's CPU "
          f"{med(first_cpu) / med(plain_cpu):.2f} (wall ratio <= 1 needs that many free cores)")
    print(f"first scan, library call, 2 readers      {med(first_lib):7.2f} s  ratio to plain {med(first_lib) / med(plain):.2f}")
    print(f"first scan, library call, 1 reader       {med(first_lib_1):7.2f} s  ratio to plain {med(first_lib_1) / med(plain):.2f}")
    print(f"rescan, `enrich scan` process            {med(rescan_cli):7.2f} s  first/rescan {med(first_cli) / med(rescan_cli):.1f}x"
          "  (goal >= 20)")
    print(f"rescan, library call                     {med(rescan_lib):7.2f} s  first/rescan {med(first_lib) / med(rescan_lib):.1f}x")
    bench_writer(n)
    print(f"load average after: {os.getloadavg()[0]:.1f} (other work competes for the cores; wall ratios move with it)")
    print(f"peak RSS of `enrich scan` + readers      {med(peak_rss) / 2**20:7.1f} MB  (max {max(peak_rss) / 2**20:.1f}; goal <= 200)")


if __name__ == "__main__":
    main()
