"""Benchmark of `enrich playlists --lastfm-user` against the fake Last.fm on loopback.

    python tests/bench/bench_lastfm_user.py [--tracks 100000] [--top 1000] [--repeats 5]

A user with ``--top`` most played tracks (85 % in the library, some spelt
otherwise: upper case, a leading "The", a remaster note; 15 % not in it), a
library of ``--tracks`` synthetic tracks (built once under tests/bench/out/).

Prints:
* the network: every page of user.getTopTracks at Last.fm's own default page
  size (50) plus artist.getSimilar for 10 artists, through the real client,
  against a fake that enforces Last.fm's 5 requests/s (the client set 1 %
  under it): requests, violations the fake counted, the busiest second, wall time;
* matching the played tracks to the library (names of every row, then the
  match), median of ``--repeats``, beside a reference on the same work: the
  plain way, normalising every row's artist and title first;
* the whole playlist built from the result (score, select, order), median;
* the load average before and after.
Budgets: zero violations; matching under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from enrich.config import load  # noqa: E402
from enrich.playlists.build import Request, make_playlists  # noqa: E402
from enrich.playlists.listening import LibraryNames, artist_name_key, match, song_of  # noqa: E402
from enrich.sources.lastfm_user import Played  # noqa: E402
from enrich.store.library_view import load_library  # noqa: E402
from tests.fakes import FakeServices, World  # noqa: E402
from tests.fakes.world import Artist, Listener  # noqa: E402
from tests.synthetic_library import build_library  # noqa: E402

LASTFM_RATE = 5.0  # requests per second: Last.fm's long-standing terms
PAGE_SIZE = 50     # Last.fm's own default `limit`
SIMILAR_ARTISTS = 10


def library(tracks: int) -> Path:
    root = HERE / "out" / f"lastfm-{tracks}"
    db = root / "library.db"
    if not db.exists():
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build_library(db.with_suffix(".tmp"), tracks, clusters=8, dims=32, seed=11,
                      no_features=0.03, no_genres=0.03, neither=0.01, missing=0.005)
        db.with_suffix(".tmp").rename(db)
        print(f"built {tracks} synthetic tracks in {time.perf_counter() - started:.1f} s: {db}")
    return db


def listener(view_artists: list[str], view_titles: list[str], top: int, seed: int = 3) -> tuple[World, list[Played]]:
    rng = random.Random(seed)
    in_library = int(top * 0.85)
    rows = rng.sample(range(len(view_artists)), in_library)
    played = []
    for k, i in enumerate(rows):
        artist, title = view_artists[i], view_titles[i]
        if k % 10 == 1:
            artist = artist.upper()
        elif k % 10 == 2:
            artist = "The " + artist
        elif k % 10 == 3 and "(" not in title:
            title += " (2011 Remaster)"
        played.append((artist, title))
    played += [(f"Elsewhere Artist {k}", f"Elsewhere Song {k}") for k in range(top - in_library)]
    rng.shuffle(played)
    top_tracks = [(a, t, 2000 - k) for k, (a, t) in enumerate(played)]
    artists = {}
    for a, _, _ in top_tracks[:200]:
        if a not in artists:
            artists[a] = Artist(a, similar=[(rng.choice(view_artists), round(rng.random(), 3)) for _ in range(100)])
    world = World(list(artists.values()), listeners=[Listener("bench", top={"overall": top_tracks})])
    return world, [Played(a, t, p) for a, t, p in top_tracks]


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


async def network(db: Path, world: World, top: int, folder: Path) -> dict[str, float]:
    async with FakeServices(world, rates={"lastfm": LASTFM_RATE}) as fakes:
        extra = (f'[paths]\ndb = "{db}"\ncache_dir = "{folder / "cache"}"\n'
                 f"[playlists.lastfm]\ntracks = {top}\npage_size = {PAGE_SIZE}\n"
                 f"similar_artists = {SIMILAR_ARTISTS}\n")
        path = folder / "enrich.toml"
        path.write_text(fakes.config_toml(extra=extra))  # the client 1 % under the fake's rate
        config = load(path, env=fakes.env())
        started = time.perf_counter()
        result = await make_playlists(config, Request(lastfm_user="bench", length=50, dry_run=True),
                                      exists=lambda _: True)
        wall = time.perf_counter() - started
        counters = fakes.service("lastfm").counters
        return {"wall_s": wall, "requests": counters.requests, "violations": fakes.violations("lastfm"),
                "busiest_second": busiest_second(counters.times), "read": result["lastfm"]["read"],
                "matched": result["lastfm"]["matched"], "not_in_library": len(result["lastfm"]["not_in_library"]),
                "pages": result["lastfm"]["pages"], **{f"t_{k}": v for k, v in result["timings_ms"].items()}}


def plain_match(view, played: list[Played]) -> int:
    """The reference: every row's song key first, then a dict look-up per played track."""
    keys: dict[str, int] = {}
    for i, (artist, title) in enumerate(zip(view.artists, view.titles, strict=True)):
        keys.setdefault(song_of(artist_name_key(artist), title), i)
    return len({keys[k] for p in played if (k := song_of(artist_name_key(p.artist), p.title)) in keys})


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    db = library(args.tracks)
    view = load_library(db)
    world, played = listener(view.artists, view.titles, args.top)

    with tempfile.TemporaryDirectory() as folder:
        net = asyncio.run(network(db, world, args.top, Path(folder)))
    floor = args.top // PAGE_SIZE + SIMILAR_ARTISTS
    print(f"network: {net['requests']} requests ({net['pages']} pages of {PAGE_SIZE} + artist.getSimilar; at least "
          f"{floor}) in {net['wall_s']:.2f} s against a fake enforcing {LASTFM_RATE:g}/s: "
          f"{net['violations']} violations, busiest second {net['busiest_second']} requests")
    print(f"  read {net['read']} top tracks: {net['matched']} in the library, {net['not_in_library']} not "
          f"(planted: {int(args.top * 0.85)} in, {args.top - int(args.top * 0.85)} out)")
    print("  command timings (ms): " + ", ".join(f"{k[2:]} {v:.0f}" for k, v in net.items() if k.startswith("t_")))

    def ours() -> int:
        return len(match(view, LibraryNames.of(view), played).matched)

    ours_s, matched = median_time(ours, args.repeats)
    plain_s, plain_matched = median_time(lambda: plain_match(view, played), max(1, args.repeats // 2))
    names_s, _ = median_time(lambda: LibraryNames.of(view), args.repeats)
    print(f"matching {len(played)} played tracks to {len(view)} library tracks (median of {args.repeats}): "
          f"{ours_s * 1000:.0f} ms (names of every row {names_s * 1000:.0f} ms), {matched} matched; "
          f"reference (normalise every row first) {plain_s * 1000:.0f} ms, {plain_matched} matched: "
          f"{plain_s / ours_s:.1f}x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = net["violations"] == 0 and ours_s < 1.0
    print("budgets (zero violations, matching under 1 s):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
