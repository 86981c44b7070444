"""Scan speed and memory on generated files, each figure beside a plain reference on the same work.

    python tests/bench/bench_scan.py [--files 10000] [--repeats 3]
    python tests/bench/bench_scan.py --only writer
    python tests/bench/bench_scan.py --only scaling --sizes 1000,10000,100000
    python tests/bench/bench_scan.py --only compare --sizes 1000,10000,100000,1000000

Prints medians of the repeats and the load average:
  - first scan vs a plain single-process loop of mutagen.File over the same files
    (ratio = scan time / loop time), for the whole `enrich scan` command (a fresh
    process, interpreter start included) and for the library call, plus the CPU
    seconds of the scan's processes (the wall-time ratio depends on how many cores are free);
  - the same with 1 reader process, and an in-process loop of our own read_file;
  - rescan of the unchanged library;
  - rows per second through the batched writer with the tracks upsert, beside plain
    sqlite3 executemany of the same statement and rows (goal >= 150,000 rows/s and >= the reference);
  - peak RSS of `enrich scan`: its own process, its reader processes, and both at once, sampled from /proc.
--only scaling: a first scan and a rescan of 1k / 10k / 100k real files, beside a plain
mutagen loop (first scan) and a plain walk + stat + one pass over the stored rows (rescan).
--only compare: the rescan's walk and comparison with stored state on empty files and a
database seeded with a row per file (nothing is read), up to a million files.
The libraries are generated once into tests/bench/out/ and reused; one of more than
100,000 files is that many copies of the 100,000-file library, a folder each.
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
from tests.bench.child_env import child_env  # noqa: E402

OUT = REPO / "tests" / "bench" / "out"


SHELF = 100_000  # libraries larger than this are copies of the SHELF-file library, one folder a copy


def library(count: int, dest: Path = OUT / "scan-library") -> tuple[Path, list[str]]:
    stamp = dest / ".count"
    if not (stamp.exists() and stamp.read_text() == str(count)):
        shutil.rmtree(dest, ignore_errors=True)
        started = time.perf_counter()
        if count > SHELF and count % SHELF == 0:
            # Tagging a million files one by one takes hours; copies of real tagged files read the same.
            shelf, _ = library(SHELF, OUT / f"scan-library-{SHELF}")
            for i in range(count // SHELF):
                shutil.copytree(shelf, dest / f"Shelf {i}", ignore=shutil.ignore_patterns(".*"))
        else:
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


def process_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                kids = [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
                found += kids
                todo += kids
        except OSError:
            continue
    return found


class PeakRss:
    """Peak resident memory of a process and, apart, of its descendants (the readers), sampled from /proc."""

    def __init__(self, pid: int):
        self.pid, self.own, self.children, self.total = pid, 0, 0, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample)
        self.thread.start()

    def sample(self) -> None:
        while not self.done.is_set():
            own = process_rss(self.pid)
            kids = sum(process_rss(k) for k in descendants(self.pid))
            self.own, self.children = max(self.own, own), max(self.children, kids)
            self.total = max(self.total, own + kids)
            time.sleep(0.02)

    def stop(self) -> tuple[int, int, int]:
        """(enrich's process, its readers together, both at once) in bytes."""
        self.done.set()
        self.thread.join()
        return self.own, self.children, self.total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_scan(music: Path, db: Path, *extra: str) -> tuple[float, tuple[int, int, int], dict, float]:
    """Run `enrich scan` as a process; (seconds, peak RSS (own, readers, together), JSON report, CPU seconds of its tree)."""
    env = child_env()
    cpu_before = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "enrich", "scan", "--db", str(db), "--json", "-q", *extra, str(music)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = PeakRss(proc.pid)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    rss = peak.stop()
    if proc.returncode != 0:
        raise SystemExit(f"enrich scan failed ({proc.returncode}): {err}")
    # The readers are waited for by enrich, so their CPU time is in enrich's, and so in ours.
    return elapsed, rss, json.loads(out), children_cpu() - cpu_before


# The references: the same work done plainly, streamed, in one process.
PLAIN_FIRST = """
import os, sys, mutagen
n = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for name in sorted(files):
        if not name.startswith("."):
            mutagen.File(os.path.join(folder, name))
            n += 1
print(n)
"""
PLAIN_RESCAN = """
import os, sqlite3, sys
n = 0
for folder, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for name in sorted(files):
        if not name.startswith("."):
            os.stat(os.path.join(folder, name))
            n += 1
rows = sum(1 for _ in sqlite3.connect(sys.argv[2]).execute("SELECT path, size, mtime_ns, missing FROM tracks"))
print(n, rows)
"""


def plain_process(script: str, *args: str) -> tuple[float, int, float]:
    """A reference script in a fresh process: (seconds, peak RSS, CPU seconds)."""
    cpu_before = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = PeakRss(proc.pid)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    rss = peak.stop()
    if proc.returncode != 0:
        raise SystemExit(f"reference failed: {err}")
    return elapsed, rss[2], children_cpu() - cpu_before


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


def mb(n: float) -> str:
    return f"{n / 2**20:.1f}"


def rss_text(rss: list[tuple[int, int, int]]) -> str:
    """Medians of enrich's own / its readers' / both together peak RSS, in MB."""
    med = statistics.median
    return "/".join(mb(med(r[k] for r in rss)) for k in range(3))


def scan_row(label: str, ours: list, ref: list) -> str:
    med = statistics.median
    return (f"  {label:>9}  {med(o[0] for o in ours):8.2f} {med(o[3] for o in ours):7.2f}  "
            f"{rss_text([o[1] for o in ours]):>17}   {med(r[0] for r in ref):8.2f} {med(r[2] for r in ref):7.2f} "
            f"{mb(med(r[1] for r in ref)):>7}")


SCALING_HEADER = (f"  {'files':>9}  {'wall s':>8} {'CPU s':>7}  {'RSS MB own/rd/both':>17}   "
                  f"{'wall s':>8} {'CPU s':>7} {'RSS MB':>7}")


def growth(rows: list[tuple[int, list, list]], what: str) -> None:
    med = statistics.median
    for (a, ours_a, _), (b, ours_b, _) in itertools.pairwise(rows):
        ra, rb = med(o[1][2] for o in ours_a), med(o[1][2] for o in ours_b)
        print(f"  {what} {a:,} -> {b:,} files: enrich+readers peak RSS {mb(ra)} -> {mb(rb)} MB "
              f"({(rb - ra) / (b - a):+.0f} bytes per file added); CPU x{med(o[3] for o in ours_b) / med(o[3] for o in ours_a):.2f}")


def bench_scaling(sizes: list[int], repeats: int) -> None:
    """A first scan and a rescan of 1k / 10k / 100k real files, each beside a plain loop over the same files."""
    print(f"scan scaling: medians of {repeats}; real files (copied and retagged templates); peak RSS of enrich's "
          "process / its reader processes / both at once")
    print("  first scan: enrich scan (fresh database)   |   reference: one process, os.walk + mutagen.File per file")
    print(SCALING_HEADER)
    firsts, rescans, loads = [], [], []
    for n in sizes:
        music, _ = library(n, OUT / f"scan-library-{n}")
        ours_first, ours_again, ref_first, ref_again = [], [], [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / "s.db"
                ours_first.append(cli_scan(music, db))
                assert ours_first[-1][2]["read"] == n, ours_first[-1][2]
                ref_first.append(plain_process(PLAIN_FIRST, str(music)))
                ours_again.append(cli_scan(music, db))
                assert ours_again[-1][2]["unchanged"] == n and ours_again[-1][2]["read"] == 0, ours_again[-1][2]
                ref_again.append(plain_process(PLAIN_RESCAN, str(music), str(db)))
            loads.append(os.getloadavg()[0])
        firsts.append((n, ours_first, ref_first))
        rescans.append((n, ours_again, ref_again))
        print(scan_row(f"{n:,}", ours_first, ref_first) + f"   load {statistics.median(loads[-repeats:]):.1f}")
    print("  rescan, nothing changed: enrich scan   |   reference: one process, os.walk + os.stat per file "
          "+ one pass over the stored rows")
    print(SCALING_HEADER)
    for (n, ours, ref), load in zip(rescans, [statistics.median(loads[i:i + repeats])
                                              for i in range(0, len(loads), repeats)], strict=True):
        print(scan_row(f"{n:,}", ours, ref) + f"   load {load:.1f}")
    growth(firsts, "first scan")
    growth(rescans, "rescan")


def stub_library(count: int) -> Path:
    """``count`` empty .mp3 files, 100 a folder (only walked and compared: nothing is read)."""
    dest = OUT / f"scan-stubs-{count}"
    stamp = dest / ".count"
    if not (stamp.exists() and stamp.read_text() == str(count)):
        shutil.rmtree(dest, ignore_errors=True)
        started = time.perf_counter()
        for i in range(count):
            folder = dest / f"Artist {i // 1000:04d}" / f"Album {i // 100:05d}"
            if i % 100 == 0:
                folder.mkdir(parents=True)
            (folder / f"{i % 100:02d} Track {i:07d}.mp3").touch()
        stamp.write_text(str(count))
        print(f"  made {count:,} empty files in {time.perf_counter() - started:.0f} s")
    return dest


def seed_database(music: Path, db: Path) -> int:
    """The tracks table as if ``music`` had been scanned: a row per file with its size and mtime."""

    async def create() -> None:
        await (await open_db(db)).close()

    asyncio.run(create())
    rows = ((f.path, f.size, f.mtime_ns) for f in walk(resolve_roots([music]), extensions=("mp3",)).files)
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO tracks (path, size, mtime_ns, scanned_at) VALUES (?, ?, ?, 0)", rows)
        return conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]


def bench_compare(sizes: list[int], repeats: int) -> None:
    """The rescan's walk and comparison with stored state up to 1,000,000 files: empty files and a seeded database."""
    print(f"rescan of empty files against a database seeded with a row per file (nothing is read; this measures the "
          f"walk and the comparison with stored state); medians of {repeats}")
    print("  enrich scan   |   reference: one process, os.walk + os.stat per file + one pass over the stored rows")
    print(SCALING_HEADER)
    rows = []
    for n in sizes:
        music = stub_library(n)
        ours, ref, loads = [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "seeded.db"
            assert seed_database(music, db) == n
            for _ in range(repeats):
                ours.append(cli_scan(music, db))
                assert ours[-1][2]["unchanged"] == n and ours[-1][2]["missing"] == 0, ours[-1][2]
                ref.append(plain_process(PLAIN_RESCAN, str(music), str(db)))
                loads.append(os.getloadavg()[0])
        rows.append((n, ours, ref))
        print(scan_row(f"{n:,}", ours, ref) + f"   load {statistics.median(loads):.1f}")
    growth(rows, "rescan")


def main() -> None:
    parser = argparse.ArgumentParser(description="scan benchmark")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["writer", "scaling", "compare"], help="run one part")
    parser.add_argument("--sizes", default="1000,10000,100000", help="file counts for --only scaling / compare")
    args = parser.parse_args()
    if args.only == "writer":
        bench_writer(args.repeats)
        return
    if args.only == "scaling":
        bench_scaling([int(x) for x in args.sizes.split(",")], args.repeats)
        return
    if args.only == "compare":
        bench_compare([int(x) for x in args.sizes.split(",")], args.repeats)
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
    print(f"peak RSS of `enrich scan` (first scan): {rss_text(peak_rss)} MB (its process / its readers / both at once)")


if __name__ == "__main__":
    main()
