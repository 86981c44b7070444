"""Benchmark of `enrich duplicates` on a 100,000-track library with planted copies.

    python tests/bench/bench_duplicates.py [--tracks 100000] [--share 0.05] [--repeats 3]

The library (built once under tests/bench/out/, then reused) holds albums of
tracks whose stored feature vectors are the project's real feature set
(features.NAMES): each album has a sound of its own and its tracks scatter
around it by two encoder tolerances per element (audio.TOLERANCES), each track
a tempo, a key, a length of 2-7 minutes and, for half of them, a MusicBrainz
recording id. Then ``share`` x tracks planted copies of earlier tracks:

* exact copies (30 %): the same tags, vector and length, another folder;
* re-encodes (40 %): MP3 at 128-320 kbit/s of a FLAC; the vector moved by the
  noise an encoder adds (0.3 tolerances per element, the size measured on real
  encodes), the length by 26 ms; a third keep all tags, a third lose their tags
  (artist and title from the file name "Artist - Title.mp3"), a third have the
  title in other case and without accents, and half keep the recording id;
* remasters (30 %): "(2011 Remaster)" and such in the title, 3 LU louder, the
  length within 1.5 s, the vector one tolerance per element away (too far for
  the audio evidence: found by name), a recording id of their own.

And things that must NOT match, as many as the copies: live takes of earlier
songs (a live note in the title, or a "Live at ..." album with the plain
title; another sound and tempo; half of them within 2.5 s of the studio
length), covers (the same title by another artist, the same length) and radio
edits (30-60 s shorter); and a fifth as many "Intro" tracks, each another
song by an artist who has several, 40-120 s long (the name evidence's known
weakness: two of them within a few seconds of each other look like copies).
A tenth of the re-encodes have neither tags nor a telling name ("track07.mp3"):
only their audio can find them.

Precision and recall count pairs of tracks: a reported group of k tracks is
k(k-1)/2 pairs; the truth is every pair within a planted group. The command
runs as a real process (`enrich duplicates --json`), timed and measured (peak
RSS) ``repeats`` times; the reference, in the same script on the same
database, is a plain read of the same columns and vectors with sqlite3 and
numpy. Budgets: precision 0.98, recall 0.95, 10 s, 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
from enrich.analysis.featureset import NAMES  # noqa: E402
from enrich.duplicates.audio import TOLERANCES  # noqa: E402
from enrich.store.db import open_db  # noqa: E402
from enrich.store.duplicates import FROM_NAME, TRACKS_SQL  # noqa: E402
from enrich.store.library_view import VECTORS_SQL  # noqa: E402
from tests.bench.child_env import child_env  # noqa: E402

ENV = child_env()
GENERATOR = 3  # raise when the library below changes, so an old one is not reused
REMASTER_NOTES = [" (2011 Remaster)", " - 2009 Remastered Version", " [Remastered]", " (Remastered 2015)"]
LIVE_NOTES = [" (Live)", " - Live", " (Live at Wembley)", " [Live in Berlin 1990]", " - Live at Budokan"]
ACCENTED = ["Café", "Señorita", "Über", "Naïve", "Jóga", "Déjà"]


def spread_of(names: list[str]) -> np.ndarray:
    """One encoder tolerance per element (loudness and other left-out elements: a plausible spread)."""
    other = {"tempo_confidence": 0.1, "key_fifths_cos": 0.5, "key_fifths_sin": 0.5, "mode_major": 0.5,
             "key_confidence": 0.1, "loudness": 3.0, "energy": 0.1, "mfcc1_mean": 20.0}
    return np.array([TOLERANCES.get(n, other.get(n, 1.0)) for n in names])


def build(db: Path, n_base: int, share: float, seed: int = 7) -> dict[str, list[int]]:
    """Write the library; return the planted groups (original id -> ids of its copies) as JSON-able lists."""
    rng = np.random.default_rng(seed)
    names = list(NAMES)
    dims = len(names)
    unit = spread_of(names)
    centre = np.array([120.0 if n == "tempo" else 0.0 for n in names])
    rows: list[tuple] = []
    vectors: list[np.ndarray] = []

    def add(path: str, artist: str | None, title: str | None, album: str, duration: float, fmt: str, codec: str,
            bitrate: int, recording: str | None, vector: np.ndarray) -> int:
        track_id = len(rows) + 1
        rows.append((track_id, path, fmt, codec, duration, bitrate, artist, artist, album, title, recording))
        vectors.append(vector.astype("<f4"))
        return track_id

    def recording_id() -> str:
        h = rng.integers(0, 16, 32)
        s = "".join("0123456789abcdef"[i] for i in h)
        return f"{s[:8]}-{s[8:12]}-4{s[13:16]}-8{s[17:20]}-{s[20:]}"

    def album_sound() -> np.ndarray:
        return centre + rng.normal(0, 12, dims) * unit

    per_album = 10
    base: list[dict] = []
    sound = album_sound()
    for i in range(n_base):
        if i % per_album == 0:
            sound = album_sound()
            artist = f"Artist {i // (per_album * 3):05d}" + (" " + ACCENTED[i % len(ACCENTED)] if i % 7 == 0 else "")
            album = f"Album {i // per_album:05d}"
        title = f"Song {i:06d}" + (f" {ACCENTED[i % len(ACCENTED)]}" if i % 5 == 0 else "")
        vector = sound + rng.normal(0, 2, dims) * unit
        duration = float(rng.uniform(120, 420))
        recording = recording_id() if rng.random() < 0.5 else None
        path = f"/music/{artist}/{album}/{i % per_album + 1:02d} {title}.flac"
        track_id = add(path, artist, title, album, duration, "FLAC", "flac", int(rng.integers(700, 1100)) * 1000,
                       recording, vector)
        base.append({"id": track_id, "artist": artist, "title": title, "album": album, "duration": duration,
                     "recording": recording, "vector": vector})

    planted: dict[int, list[int]] = defaultdict(list)
    n_copies = round(share * n_base)
    originals = rng.choice(len(base), size=n_copies, replace=True)
    for k, o in enumerate(originals.tolist()):
        src = base[o]
        roll = rng.random()
        where = f"/music/More/{k:06d}"
        if roll < 0.3:  # exact copy
            new = add(f"{where}/{src['title']}.flac", src["artist"], src["title"], src["album"], src["duration"],
                      "FLAC", "flac", 900_000, src["recording"], src["vector"])
        elif roll < 0.7:  # re-encode
            noisy = src["vector"] + rng.normal(0, 0.3, dims) * unit
            how = rng.random()
            artist, title = src["artist"], src["title"]
            name = f"{src['artist']} - {src['title']}"
            if how < 0.1:
                artist, title, name = None, f"track{k:02d}", f"track{k:02d}"  # no tags, a name that says nothing
            elif how < 1 / 3:
                artist = title = None  # untagged: the name says "Artist - Title"
            elif how < 2 / 3:
                title = "".join(c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c)).lower()
            new = add(f"{where}/{name}.mp3", artist, title, src["album"] if artist else "",
                      src["duration"] + 0.026, "MP3", "mp3", int(rng.choice([128, 192, 256, 320])) * 1000,
                      src["recording"] if rng.random() < 0.5 else None, noisy)
        else:  # remaster
            louder = src["vector"] + rng.normal(0, 1.0, dims) * unit
            louder[names.index("loudness")] += 3.0
            title = src["title"] + REMASTER_NOTES[int(rng.integers(len(REMASTER_NOTES)))]
            new = add(f"{where}/{title}.flac", src["artist"], title, src["album"] + " (Remastered)",
                      src["duration"] + float(rng.uniform(-1.5, 1.5)), "FLAC", "flac", 950_000,
                      recording_id() if rng.random() < 0.5 else None, louder)
        planted[src["id"]].append(new)

    # Must not match: live takes, covers, radio edits of earlier songs.
    for k, o in enumerate(rng.choice(len(base), size=n_copies, replace=False).tolist()):
        src = base[o]
        kind = k % 3
        where = f"/music/Others/{k:06d}"
        other_sound = album_sound() + rng.normal(0, 2, dims) * unit
        if kind == 0:  # live
            near = rng.random() < 0.5
            duration = src["duration"] + (float(rng.uniform(-2.5, 2.5)) if near else float(rng.uniform(15, 90)))
            if rng.random() < 0.5:
                title, album = src["title"] + LIVE_NOTES[int(rng.integers(len(LIVE_NOTES)))], "Tour Diaries"
            else:
                title, album = src["title"], "Live at the Apollo"
            add(f"{where}/{title}.flac", src["artist"], title, album, duration, "FLAC", "flac", 900_000,
                recording_id(), other_sound)
        elif kind == 1:  # cover
            add(f"{where}/{src['title']}.mp3", f"Cover Band {k:05d}", src["title"], "Covers",
                src["duration"] + float(rng.uniform(-1, 1)), "MP3", "mp3", 256_000, None, other_sound)
        else:  # radio edit: the same recording cut shorter (its own id, as MusicBrainz has it)
            title = src["title"] + " (Radio Edit)"
            edited = src["vector"] + rng.normal(0, 1.0, dims) * unit
            add(f"{where}/{title}.mp3", src["artist"], title, src["album"], src["duration"] - float(rng.uniform(30, 60)),
                "MP3", "mp3", 320_000, recording_id(), edited)

    # Different songs of one artist under one generic title, on different albums: the name
    # evidence cannot tell them apart when their lengths happen to be within a few seconds.
    for k, o in enumerate(rng.choice(len(base), size=n_copies // 5, replace=False).tolist()):
        src = base[o]
        add(f"/music/Intros/{k:06d}/Intro.flac", src["artist"], "Intro", f"Album {k:05d} Intro",
            float(rng.uniform(40, 120)), "FLAC", "flac", 900_000, None, album_sound() + rng.normal(0, 2, dims) * unit)

    asyncio.run(_migrate(db))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    conn.executemany(
        "INSERT INTO tracks (id, path, size, mtime_ns, format, codec, duration, bitrate, artist, album_artist,"
        " album, title, mb_track_id, scanned_at) VALUES (?, ?, 1000, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]) for r in rows])
    conn.execute("INSERT INTO feature_sets (version, names) VALUES (1, ?)", (json.dumps(names),))
    conn.executemany(
        "INSERT INTO features (track_id, version, analyzed_at, file_size, file_mtime_ns, tempo, vector)"
        " VALUES (?, 1, 0, 1000, 0, ?, ?)",
        [(r[0], float(v[0]), v.tobytes()) for r, v in zip(rows, vectors, strict=True)])
    conn.commit()
    conn.close()
    return {str(k): v for k, v in planted.items()}


async def _migrate(db: Path) -> None:
    conn = await open_db(db)
    await conn.close()


def library(n_base: int, share: float) -> tuple[Path, dict[str, list[int]]]:
    root = HERE / "out" / f"duplicates-g{GENERATOR}-{n_base}-{share:g}"
    db, truth = root / "library.db", root / "planted.json"
    if not (db.exists() and truth.exists()):
        root.mkdir(parents=True, exist_ok=True)
        for stale in (db, truth):
            stale.unlink(missing_ok=True)
        started = time.perf_counter()
        planted = build(db.with_suffix(".tmp"), n_base, share)
        db.with_suffix(".tmp").rename(db)
        truth.write_text(json.dumps(planted))
        print(f"built {n_base} tracks + planted copies and decoys in {time.perf_counter() - started:.1f} s: {db}")
    return db, json.loads(truth.read_text())


def pairs_of(groups: list[list[int]]) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for g in groups for a, b in combinations(g, 2)}


# The command, reporting its own peak resident memory at exit. wait4's ru_maxrss would not do: a
# child forked from this (large) process keeps the parent's high-water mark across exec.
MEASURED = (
    "import atexit, sys\n"
    "def peak():\n"
    "    sys.stderr.write(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'enrich'\n"
    "from enrich.__main__ import run\n"
    "run()\n"
)


def run_command(db: Path) -> tuple[float, float, float, dict]:
    """(wall seconds, CPU seconds, peak RSS MB, JSON) of one `enrich duplicates --json` process."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", MEASURED, "duplicates", "--db", str(db), "--json", "-q"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()  # -q: stderr holds at most an error line
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"enrich duplicates failed ({proc.returncode}): {err.decode()[-2000:]}")
    peak = int(err.decode().rsplit("VmHWM:", 1)[1].split()[0]) / 1024.0
    return wall, usage.ru_utime + usage.ru_stime, peak, json.loads(out)


def reference_read(db: Path) -> float:
    """A plain read of what the command reads: the columns and the vectors."""
    started = time.perf_counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute(TRACKS_SQL.format(named=FROM_NAME)).fetchall()
    blobs = conn.execute(VECTORS_SQL, (1, len(NAMES) * 4)).fetchall()
    np.frombuffer(b"".join(b for _, b in blobs), dtype="<f4").reshape(-1, len(NAMES))
    conn.close()
    del rows
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000, help="tracks in all (originals, copies, decoys)")
    parser.add_argument("--share", type=float, default=0.05, help="planted copies per track")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n_base = round(args.tracks / (1 + 2.2 * args.share))  # originals; then copies, decoys and intros
    db, planted = library(n_base, args.share)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    walls, cpus, rss, refs = [], [], [], []
    data: dict = {}
    for _ in range(args.repeats):
        refs.append(reference_read(db))
        wall, cpu, peak, data = run_command(db)
        walls.append(wall)
        cpus.append(cpu)
        rss.append(peak)
    truth = pairs_of([[int(k), *v] for k, v in planted.items()])
    found = pairs_of([[g["keep"]["id"], *(o["id"] for o in g["others"])] for g in data["groups"]])
    hit = len(truth & found)
    precision = hit / len(found) if found else 1.0
    recall = hit / len(truth) if truth else 1.0
    copies = sum(len(v) for v in planted.values())
    print(f"library: {data['tracks']} tracks, {copies} planted copies of {len(planted)} songs, "
          f"{copies} decoys (live takes, covers, radio edits), {copies // 5} generic 'Intro' titles")
    print(f"found {len(data['groups'])} groups, {data['copies_not_kept']} copies not kept")
    print(f"pairs: precision {precision:.4f} (budget 0.98), recall {recall:.4f} (budget 0.95)  "
          f"[{hit} right, {len(found) - hit} wrong, {len(truth) - hit} missed]")
    by_kind: dict[str, int] = defaultdict(int)
    for g in data["groups"]:
        for c in [g["keep"], *g["others"]]:
            by_kind[",".join(c["matched_by"])] += 1
    print("copies by evidence: " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])))
    wall, ref = statistics.median(walls), statistics.median(refs)
    print(f"enrich duplicates (whole process, median of {len(walls)}): {wall:.2f} s wall (budget 10 s), "
          f"{statistics.median(cpus):.2f} s CPU; peak RSS {max(rss):.0f} MB (budget 300 MB)")
    print(f"reference, a plain sqlite3 read of the same columns and vectors: {ref:.2f} s; command / reference "
          f"{wall / ref:.1f}x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = precision >= 0.98 and recall >= 0.95 and wall < 10 and max(rss) < 300
    print("within every budget" if ok else "OVER A BUDGET")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
