"""Benchmark of `enrich ls`, `stats`, `export` (and `report`) on a 100,000-track synthetic library.

    python tests/bench/bench_browse.py [--tracks 100000] [--repeats 3]

Each command runs as a real process with its output read through a pipe (as a
user's terminal or `| less` would). Printed per command, as medians: time to
the first line, total time, peak RSS; and the same for a reference, a bare
sqlite3 loop in Python printing the same joined rows, so the figures read as
ratios on a busy machine. The load average is printed before and after.
Budgets (issue 10): ls starts at once (first line under 1 s) and stays under
150 MB; report under 30 s and 25 MB.
The library is built once under tests/bench/out/ and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
from tests.bench.child_env import child_env  # noqa: E402
from tests.synthetic_library import build_library  # noqa: E402

ENV = child_env()

REFERENCE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
out = sys.stdout
for row in conn.execute(
    "SELECT t.artist, t.album, t.title, f.tempo, f.camelot, f.loudness,"
    " (SELECT group_concat(genre, ', ') FROM track_genres g WHERE g.track_id = t.id)"
    " FROM tracks t LEFT JOIN features f ON f.track_id = t.id ORDER BY t.artist, t.album, t.id"):
    out.write(f"{row[0]} - {row[1]} - {row[2]}  [{row[3]} BPM  {row[4]}  {row[5]} LUFS]  {row[6]}\\n")
"""

DROPPED = [("seen live", "not a genre (habit)"), ("90s", "not a genre (decade or year)"),
           ("dance", "not in the vocabulary"), ("chillout", "not in the vocabulary"),
           ("german", "not a genre (place or nationality)")]


def library(tracks: int) -> Path:
    db = HERE / "out" / f"browse-{tracks}" / "library.db"
    if db.exists():
        return db
    db.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = db.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    build_library(tmp, tracks, clusters=8, dims=32, seed=11, no_features=0.03, no_genres=0.03, neither=0.01,
                  missing=0.005)
    add_details(tmp, tracks)
    tmp.rename(db)
    print(f"built {tracks} synthetic tracks in {time.perf_counter() - started:.1f} s: {db}")
    return db


def add_details(db: Path, n: int) -> None:
    """What the playlists library lacks and stats/ls show: years, albums, votes' sources, dropped tags, runs."""
    rng = np.random.default_rng(5)
    conn = sqlite3.connect(db)
    years = rng.integers(1960, 2025, n)
    conn.executemany("UPDATE tracks SET year = ?, album = ?, album_artist = artist, track_number = ? WHERE id = ?",
                     [(int(years[i]), f"Album {i // 10}", i % 10 + 1, i + 1) for i in range(n)])
    sources = ["lastfm", "musicbrainz", "claude"]
    conn.executemany(
        "UPDATE track_genres SET provenance = ? WHERE track_id = ? AND rank = 0",
        [(json.dumps([{"source": sources[i % 3], "raw": "x", "weight": 1.0, "level": "track"}]), i + 1)
         for i in range(n)])
    conn.executemany(
        "INSERT INTO genre_state (track_id, fingerprint, enriched_at, status, dropped) VALUES (?, '', 0, ?, ?)",
        [(i + 1, "found", json.dumps([{"raw": r, "reason": why, "source": "lastfm", "level": "artist"}
                                      for r, why in DROPPED[: i % 5 + 1]])) for i in range(n)])
    conn.executemany("INSERT INTO analysis_failures (track_id, version, file_size, file_mtime_ns, error, failed_at)"
                     " VALUES (?, 1, 0, 0, ?, 0)",
                     [(i + 1, "digital silence: nothing to analyse" if i % 2 else "cannot decode: bad header")
                      for i in range(0, n, 500)])
    for command in ("scan", "genres", "analyze"):
        conn.execute("INSERT INTO runs (command, work_key, started_at, finished_at, status, counts)"
                     " VALUES (?, '/music', ?, ?, 'done', '{\"failed\": 0}')", (command, time.time() - 60, time.time()))
    conn.commit()
    conn.close()


# Started through a small launcher: a child forked from this (large) process would
# count this process's memory in its peak RSS until it execs.
LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"maxrss_kb={usage.ru_maxrss} cpu_s={usage.ru_utime + usage.ru_stime}", file=sys.stderr)
sys.exit(code)
"""


def run(args: list[str]) -> tuple[float, float, float, int, float]:
    """(seconds to the first line, total seconds, peak RSS MB, bytes out, CPU seconds) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, *args], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    first_at = time.perf_counter() - started
    size = len(first)
    while chunk := proc.stdout.read(1 << 16):
        size += len(chunk)
    err = proc.stderr.read().decode()
    code = proc.wait()
    total = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed ({code}): {err[-400:]}")
    rss_kb = int(err.rsplit("maxrss_kb=", 1)[1].split()[0])
    cpu = float(err.rsplit("cpu_s=", 1)[1].split()[0])
    return first_at, total, rss_kb / 1024, size, cpu


def measure(label: str, args: list[str], repeats: int,
            reference: tuple[float, float] | None) -> tuple[float, float, float, float]:
    """Medians of (first line, total wall, CPU) and the largest peak RSS; ratios to the reference's wall and CPU."""
    results = [run(args) for _ in range(repeats)]
    first = statistics.median(r[0] for r in results)
    total = statistics.median(r[1] for r in results)
    cpu = statistics.median(r[4] for r in results)
    rss = max(r[2] for r in results)
    ratio = f" ({total / reference[0]:4.1f}x ref)" if reference else ""
    cpu_ratio = f" ({cpu / reference[1]:4.1f}x ref)" if reference else ""
    print(f"{label:<44} first line {first:6.3f} s  total {total:6.2f} s{ratio}  CPU {cpu:6.2f} s{cpu_ratio}"
          f"  peak RSS {rss:5.0f} MB  out {results[-1][3] / 1e6:6.1f} MB")
    return first, total, rss, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-report", action="store_true")
    opts = parser.parse_args()
    db = library(opts.tracks)
    py = sys.executable
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}  ({os.cpu_count()} cores)")
    _, ref_wall, _, ref_cpu = measure("reference: bare sqlite3 loop, same rows", [py, "-c", REFERENCE, str(db)],
                                      opts.repeats, None)
    reference = (ref_wall, ref_cpu)
    enrich = [py, "-m", "enrich"]
    base = ["--db", str(db)]
    figures = {}
    cases = [
        ("ls (every track, default order)", ["ls", *base]),
        ("ls genre:electronic bpm:120..130", ["ls", *base, "genre:electronic", "bpm:120..130"]),
        ("ls artist:~'artist 1' key:compatible:8A", ["ls", *base, "artist:~artist 1", "key:compatible:8A"]),
        ("ls --sort -bpm --limit 20", ["ls", *base, "--sort", "-bpm", "--limit", "20"]),
        ("ls --json", ["ls", *base, "--json"]),
        ("ls --csv", ["ls", *base, "--csv"]),
        ("ls --paths", ["ls", *base, "--paths"]),
        ("ls --albums", ["ls", *base, "--albums"]),
        ("stats --json", ["stats", *base, "--json"]),
        ("export --format jsonl", ["export", *base]),
        ("export --format csv", ["export", *base, "--format", "csv"]),
    ]
    for label, args in cases:
        figures[label] = measure(label, [*enrich, *args], opts.repeats, reference)
    report_figures = None
    if not opts.no_report:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report.html"
            report_figures = measure("report --out report.html", [*enrich, "report", *base, "--out", str(out)],
                                     max(1, opts.repeats - 1), reference)
            report_mb = out.stat().st_size / 1e6
            print(f"{'  report file size':<44} {report_mb:.1f} MB")
    print(f"load average after:  {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ls_first = figures["ls (every track, default order)"][0]
    checks = [
        ("ls first line <= 1 s", ls_first <= 1.0),
        ("ls peak RSS <= 150 MB", max(f[2] for label, f in figures.items() if label.startswith("ls")) <= 150),
    ]
    if report_figures:
        checks += [("report <= 30 s", report_figures[1] <= 30), ("report file <= 25 MB", report_mb <= 25)]
    print("budgets: " + ", ".join(f"{name}: {'ok' if ok else 'OVER'}" for name, ok in checks))


if __name__ == "__main__":
    main()
