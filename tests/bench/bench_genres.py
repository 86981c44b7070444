"""Benchmark of `enrich genres` against the fake services.

    python tests/bench/bench_genres.py [--repeats 3] [--factor 100] [--big 100000]

1. 2,000 tracks by 500 artists; every fake enforces its real service's rate
   (Last.fm 2/s as configured, MusicBrainz 1/s, Claude 0.8/s) scaled up by the
   same factor, with a tolerance of 100 ms of requests; the client runs at 0.97
   of it with the bursts config/default.toml ships (or --burst N). Prints the wall time as a ratio of the bottleneck source's
   ideal time (its requests / its enforced rate; goal <= 1.1), rate-limit
   violations (goal 0), MusicBrainz requests per artist (goal <= 1.0), tracks
   per Claude request (goal >= 20) and whether Claude saw only the tracks the
   policy sent. Median of --repeats runs.
2. The nightly rerun of the same library with nothing changed: network
   requests (goal 0) and wall time of the whole `enrich genres` process (goal < 5 s).
3. Peak RSS of `enrich genres` over a 100,000-track database (synthetic rows):
   every track due (offline, empty cache: each fails fast), and the nightly
   rerun where every track is fresh (goal < 300 MB).

`enrich` runs as a real subprocess (python -m enrich); the fakes run on a
thread of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from enrich import config as config_mod  # noqa: E402
from enrich.genres.settings import genres_config  # noqa: E402
from enrich.pipeline.genres import basis  # noqa: E402
from enrich.store import tracks  # noqa: E402
from enrich.store.db import open_db  # noqa: E402
from enrich.store.genres import FINGERPRINT  # noqa: E402
from enrich.store.writer import Writer  # noqa: E402
from tests.bench.child_env import child_env  # noqa: E402
from tests.fakes import ThreadedFakes, World  # noqa: E402

# The configured client rates of config/default.toml: the fakes enforce them x factor.
BASE_RATES = {"lastfm": 2.0, "musicbrainz": 1.0, "claude": 0.8}
# The bursts config/default.toml ships (Last.fm 2, MusicBrainz 1, Claude 2); --burst N sets them all.
SHIPPED_BURSTS = {name: tomllib.loads((REPO / "config" / "default.toml").read_text())["sources"][name]["burst"]
                  for name in BASE_RATES}
WRAPPER = ("import resource, runpy, sys, os\n"
           "try:\n    runpy.run_module('enrich', run_name='__main__')\n"
           "finally:\n    open(os.environ['RSS_OUT'], 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n")


def bench_world() -> World:
    world = World.synthetic(500, 4)
    for n, artist in enumerate(world.artists):
        if n % 10 == 0:   # nobody knows these: the classifier is asked
            artist.tags, artist.genres, artist.mb_tags, artist.genre = [], [], [], "jazz"
    open_artists = {a.name for n, a in enumerate(world.artists) if n % 10 == 0}
    for t in world.tracks:
        if t.artist in open_artists:
            t.tags = []
    world.index()
    return world


def fill_db(db: Path, rows) -> None:
    async def fill():
        conn = await open_db(db)
        async with Writer(conn, batch_size=5000) as writer:
            for row in rows:
                await writer.put_group([tracks.upsert_op(row)])
        await conn.close()

    asyncio.run(fill())


def library_rows(world: World):
    ids = {a.name: a.mbid for a in world.artists}
    for n, t in enumerate(world.tracks):
        artist_no = int(t.artist.split()[-1])
        yield dict(path=f"/music/{n:06d}.flac", size=1, mtime_ns=1, scanned_at=0, tag_genres="[]", artist=t.artist,
                   title=t.title, album=t.album, mb_artist_id=ids[t.artist] if artist_no % 2 else None)


def children_cpu() -> tuple[float, float]:
    """CPU-s of the finished children: all of it, and of that in the kernel."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime


def run(args, env, rss_file: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    full = child_env(**env)
    cmd = [sys.executable, "-m", "enrich", *args]
    if rss_file is not None:
        full["RSS_OUT"] = str(rss_file)
        cmd = [sys.executable, "-c", WRAPPER, *args]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=full)
    return time.perf_counter() - started, done


def one_run(world: World, factor: float, folder: Path, bursts: dict[str, int]) -> dict:
    db = folder / "lib.db"
    fill_db(db, library_rows(world))
    rates = {name: rate * factor for name, rate in BASE_RATES.items()}   # the fakes allow a burst of 2
    with ThreadedFakes(world, rates=rates) as fakes:
        cfg = folder / "c.toml"
        # The client runs just under the enforced rate, as a user would configure it.
        cfg.write_text(fakes.config_toml(client_rates={n: r * factor * 0.97 for n, r in BASE_RATES.items()},
                                         **{n: {"concurrency": 8, "burst": bursts[n]} for n in BASE_RATES}))
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(folder / "cache")}
        args = ["genres", "--no-scan", "--json", "-q", "--config", str(cfg), "--db", str(db), "/music"]
        cpu_before, kernel_before = children_cpu()
        started = time.monotonic()
        wall, done = run(args, env)
        cpu_after, kernel_after = children_cpu()
        cpu, kernel = cpu_after - cpu_before, kernel_after - kernel_before
        load = os.getloadavg()[0]
        if done.returncode != 0:
            raise SystemExit(f"enrich genres failed ({done.returncode}): {done.stderr[-2000:]}")
        report = json.loads(done.stdout)
        sent = {name: fakes.requests(name) for name in BASE_RATES}
        violations = {name: fakes.violations(name) for name in BASE_RATES}
        ideal = {name: sent[name] / (BASE_RATES[name] * factor) for name in BASE_RATES}
        neck = max(ideal, key=ideal.get)
        # When the bottleneck's requests arrived: the process's start before the first, its rate between, its end after.
        times = list(fakes.service(neck).counters.times)
        phases = {"before_first": times[0] - started, "rate": (len(times) - 1) / (times[-1] - times[0]),
                  "after_last": started + wall - times[-1], "client_rate": BASE_RATES[neck] * factor * 0.97}
        fakes.reset_counters()
        rerun_wall, rerun = run(args, env)
        rerun_requests = fakes.requests()
    with sqlite3.connect(db) as conn:
        sent_to_claude = conn.execute("SELECT COUNT(*) FROM genre_state WHERE classifier IS NOT NULL").fetchone()[0]
    bottleneck = max(ideal, key=ideal.get)
    claude = report["claude"]
    waited = {name: report["sources"][name]["waited_s"] for name in BASE_RATES}
    return {
        "waited": waited, "cpu": cpu, "kernel": kernel, "load": load, "phases": phases,
        "wall": wall, "ideal": ideal[bottleneck], "bottleneck": bottleneck, "ratio": wall / ideal[bottleneck],
        "sent": sent, "violations": violations, "mb_per_artist": sent["musicbrainz"] / len(world.artists),
        "claude_tracks_per_request": claude["tracks"] / max(1, claude["requests"]),
        "claude_only_policy": claude["tracks"] == sent_to_claude, "claude_cost": claude["cost_usd"],
        "claude_tokens": (claude["input_tokens"], claude["output_tokens"]),
        "enriched": report["enriched"], "failed": report["failed_count"],
        "rerun_wall": rerun_wall, "rerun_requests": rerun_requests, "rerun_to_enrich": json.loads(rerun.stdout)["to_enrich"],
    }


def big_rss(n: int, folder: Path) -> dict:
    db = folder / "big.db"
    fill_db(db, (dict(path=f"/music/{i // 1000:03d}/{i:07d}.flac", size=1, mtime_ns=1, scanned_at=0, tag_genres="[]",
                      artist=f"Artist {i // 7:06d}", title=f"Song {i:07d}", album=f"Album {i // 12:06d}")
                 for i in range(n)))
    env = {"ENRICH_CACHE_DIR": str(folder / "empty-cache"), "HOME": str(folder)}
    args = ["genres", "--no-scan", "--offline", "--json", "-q", "--db", str(db), "/music"]
    due_wall, done = run(args, env, folder / "rss1")
    due = json.loads(done.stdout)
    rss_due = int((folder / "rss1").read_text()) / 1024
    # Every track fresh (as after a complete run), then the nightly rerun.
    config = config_mod.load(env={"HOME": str(folder)})
    cfg = genres_config(config)
    fingerprint_basis = basis(None, cfg, config.sources["claude"].model)
    with sqlite3.connect(db) as conn:
        conn.execute(f"INSERT OR REPLACE INTO genre_state (track_id, fingerprint, enriched_at, status)"
                     f" SELECT t.id, {FINGERPRINT}, ?, 'found' FROM tracks t", (fingerprint_basis, time.time()))
    fresh_wall, fresh = run(args, env, folder / "rss2")
    rerun = json.loads(fresh.stdout)
    return {"tracks": n, "due_wall": due_wall, "due_failed": due["failed_count"], "rss_due_mb": rss_due,
            "fresh_wall": fresh_wall, "fresh_to_enrich": rerun["to_enrich"],
            "rss_fresh_mb": int((folder / "rss2").read_text()) / 1024}


def report_run(r: int, res: dict) -> None:
    print(f"run {r + 1}: wall {res['wall']:.2f}s, ideal {res['ideal']:.2f}s ({res['bottleneck']}), "
          f"ratio {res['ratio']:.3f}; client CPU {res['cpu']:.2f}s ({res['cpu'] / res['wall']:.2f} of a core; "
          f"{res['kernel']:.2f}s in the kernel); "
          f"load {res['load']:.1f}; sent {res['sent']}; violations {res['violations']}; waited {res['waited']}; rerun "
          f"{res['rerun_wall']:.2f}s with {res['rerun_requests']} requests", flush=True)
    ph = res["phases"]
    print(f"       {res['bottleneck']}: first request {ph['before_first']:.2f}s after the start, then "
          f"{ph['rate']:.1f} requests/s (the client's rate {ph['client_rate']:.1f}), the process ended "
          f"{ph['after_last']:.2f}s after the last", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--factor", type=float, default=100.0)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=None,
                        help="the client's burst for every source (default: as config/default.toml ships them)")
    opts = parser.parse_args()
    bursts = {n: opts.burst for n in BASE_RATES} if opts.burst else dict(SHIPPED_BURSTS)
    world = bench_world()
    results = []
    # The runs' folders go at the end, not between runs: on ext4 without a journal (this
    # machine's disk) a new file skips every inode freed in the last 5-305 s, so deleting
    # one run's 3,000 cache entries made each entry of the next cost up to ~0.7 ms of
    # kernel time (3 CPU-s a run). A nightly run follows no such deletion.
    with tempfile.TemporaryDirectory() as runs:
        for r in range(opts.repeats):
            (folder := Path(runs) / f"run{r + 1}").mkdir()
            results.append(one_run(world, opts.factor, folder, bursts))
            report_run(r, results[-1])
    if results:
        med = lambda key: statistics.median(r[key] for r in results)  # noqa: E731
        last = results[-1]
        print(f"\n== 2,000 tracks, 500 artists, rates x{opts.factor:g}, client at 0.97 of them, bursts {bursts} ==")
        print(f"wall / bottleneck ideal (median of {opts.repeats}): {med('ratio'):.3f}   (goal <= 1.1), at load "
              f"{med('load'):.1f} on {os.cpu_count()} cores; the client used {med('cpu'):.2f} CPU-s "
              f"({med('cpu') / med('ideal'):.2f} of a core over the ideal time; the fakes run in this process)")
        print(f"rate-limit violations (max over runs): {max(sum(r['violations'].values()) for r in results)}   (goal 0)")
        print(f"MusicBrainz requests per artist: {last['mb_per_artist']:.3f}   (goal <= 1.0)")
        print(f"Claude tracks per request: {last['claude_tracks_per_request']:.1f}   (goal >= 20); only policy tracks: "
              f"{last['claude_only_policy']}; tokens in/out {last['claude_tokens']}; est. cost ${last['claude_cost']:.4f}")
        print(f"tracks enriched: {last['enriched']}, failed: {last['failed']}")
        print(f"nightly rerun: {max(r['rerun_requests'] for r in results)} network requests, "
              f"{med('rerun_wall'):.2f}s wall (median; whole process)   (goal 0 and < 5 s)")
    if opts.big:
        with tempfile.TemporaryDirectory() as tmp:
            big = big_rss(opts.big, Path(tmp))
        print(f"\n== {big['tracks']:,} tracks in the database ==")
        print(f"all due (offline, empty cache): {big['due_wall']:.1f}s, {big['due_failed']:,} failed fast, "
              f"peak RSS {big['rss_due_mb']:.0f} MB   (goal < 300 MB)")
        print(f"nightly rerun, all fresh: {big['fresh_wall']:.2f}s, {big['fresh_to_enrich']} to enrich, "
              f"peak RSS {big['rss_fresh_mb']:.0f} MB   (goal < 300 MB)")


if __name__ == "__main__":
    main()
