"""Network layer figures against the fake services (run: python tests/bench/bench_net.py).

1. MusicBrainz enforcing 20 req/s: 400 distinct lookups; wall / ideal (20 s), violations.
2. The three sources at once, each at its own enforced rate: wall / slowest ideal.
3. 10% injected 5xx/429 and 2% timeouts: every lookup succeeds or is reported; violations.
4. Warm cache: the same 400 lookups from a new client: network requests, lookups/s (per
   wall second and per CPU second: the machine is shared), the longest the event loop
   was blocked (a task that asks to wake every millisecond records its longest wait
   beyond that), and the ratio to a plain synchronous read and JSON parse of the same
   cache files (the reference: with the standard library's json, and with orjson, the
   parser enrich uses), in passes that alternate with the lookups' passes.

Each figure is the median of --repeats runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from enrich.errors import SourceError
from enrich.net import open_client
from enrich.sources import claude, lastfm, musicbrainz
from tests.fakes import FakeServices, Faults, World


def classify_body(i: int) -> dict:
    return {"model": "claude-haiku-4-5", "max_tokens": 200 + i,
            "messages": [{"role": "user", "content": f'[{{"id": "{i}", "artist": "Artist {i:05d}", "title": "Song 000"}}]'}]}


async def mb_lookups(world: World, n: int, folder: Path, *, faults=None, timeout=20.0):
    async with FakeServices(world, rates={"musicbrainz": 20.0}, faults=faults) as fakes:
        config = fakes.load_config(folder, http={"backoff_base": 0.05, "backoff_cap": 0.5, "default_pause": 0.1},
                                   musicbrainz={"concurrency": 4, "timeout": timeout, "max_retries": 8,
                                                "breaker_threshold": 50})
        start = time.monotonic()
        ok, failed = 0, []
        async with open_client(config) as client:
            results = await asyncio.gather(*(musicbrainz.lookup(client, "artist", a.mbid) for a in world.artists[:n]),
                                           return_exceptions=True)
            stats = client.stats("musicbrainz")
        for r in results:
            if isinstance(r, SourceError):
                failed.append(str(r))
            elif isinstance(r, BaseException):
                raise r
            else:
                ok += 1
        return time.monotonic() - start, ok, failed, fakes.violations(), fakes.requests(), stats


async def three_sources(world: World, folder: Path):
    rates = {"musicbrainz": 20.0, "lastfm": 40.0, "claude": 10.0}
    counts = {"musicbrainz": 400, "lastfm": 600, "claude": 150}
    ideal = {k: counts[k] / rates[k] for k in rates}
    async with FakeServices(world, rates=rates) as fakes:
        config = fakes.load_config(folder, musicbrainz={"concurrency": 4}, lastfm={"concurrency": 4},
                                   claude={"concurrency": 4})
        start = time.monotonic()
        async with open_client(config) as client:
            arts = world.artists
            await asyncio.gather(
                *(musicbrainz.lookup(client, "artist", a.mbid) for a in arts[:counts["musicbrainz"]]),
                *(lastfm.artist_top_tags(client, a.name) for a in arts[:300]),
                *(lastfm.track_top_tags(client, a.name, "Song 000") for a in arts[:300]),
                *(claude.create_message(client, classify_body(i)) for i in range(counts["claude"])),
            )
        violations = {name: fakes.violations(name) for name in rates}
        return time.monotonic() - start, max(ideal.values()), violations, ideal


def read_and_parse(files: list[Path], loads=json.loads) -> float:
    """The reference: read each cache file and parse the JSON it holds (the entry's
    line and the reply's body), synchronously, nothing else. Seconds taken."""
    started = time.perf_counter()
    for p in files:
        head, _, body = p.read_bytes().partition(b"\n")
        loads(head)
        loads(body)
    return time.perf_counter() - started


async def warm_cache(world: World, n: int, folder: Path, passes: int = 5):
    """``passes`` warm passes of ``n`` lookups, each from a new client, each beside a
    pass of the reference over the same files; per-pass medians."""
    async with FakeServices(world) as fakes:
        config = fakes.load_config(folder)
        async with open_client(config) as client:
            await asyncio.gather(*(musicbrainz.lookup(client, "artist", a.mbid) for a in world.artists[:n]))
        files = [p for p in (folder / "cache" / "http" / "musicbrainz").rglob("*.json")]
        fakes.reset_counters()
        walls, cpus, wholes, stalls, refs, fast_refs = [], [], [], [], [], []
        for _ in range(passes):
            opened = time.monotonic()
            async with open_client(config) as client:
                stall = asyncio.create_task(longest_stall())
                await asyncio.sleep(0)
                start, cpu = time.monotonic(), time.process_time()  # the lookups only; opening a session is a one-off
                got = await asyncio.gather(*(musicbrainz.lookup(client, "artist", a.mbid) for a in world.artists[:n]))
                walls.append(time.monotonic() - start)
                cpus.append(time.process_time() - cpu)
                stall.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stall
                stalls.append(tuple(STALL))
            wholes.append(time.monotonic() - opened)
            assert len(got) == n
            refs.append(read_and_parse(files))
            fast_refs.append(read_and_parse(files, orjson.loads))
        med = statistics.median
        return (n / med(walls), fakes.requests(), len(files) / med(refs), n / med(wholes), n / med(cpus),
                med(s[0] for s in stalls), os.getloadavg()[0], max(s[0] for s in stalls), med(s[1] for s in stalls),
                max(s[1] for s in stalls), len(files) / med(fast_refs))


STALL = [0.0, 0.0]  # the longest the event loop went without running a ticking task, in the last warm run:
# in wall seconds (which includes time the OS gave other processes), and in CPU seconds of this thread


async def longest_stall(tick: float = 0.001) -> None:
    """How long the event loop was blocked at most: a task that wants to wake every ``tick``."""
    STALL[:] = [0.0, 0.0]
    loop = asyncio.get_running_loop()
    while True:
        before, cpu = loop.time(), time.thread_time()
        await asyncio.sleep(tick)
        STALL[0] = max(STALL[0], loop.time() - before - tick)
        STALL[1] = max(STALL[1], time.thread_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["rate", "three", "faults", "warm"])
    args = parser.parse_args()
    world = World.synthetic(400)
    tmp = Path(tempfile.mkdtemp(prefix="bench_net_"))
    run = iter(range(10_000))

    def folder() -> Path:
        f = tmp / str(next(run))
        f.mkdir()
        return f

    if args.only in (None, "rate"):
        rows = [asyncio.run(mb_lookups(world, 400, folder())) for _ in range(args.repeats)]
        walls = [r[0] for r in rows]
        print(f"1. MusicBrainz 20/s, 400 lookups: wall median {statistics.median(walls):.2f} s, "
              f"ratio to ideal 20 s = {statistics.median(walls) / 20:.3f} (runs {', '.join(f'{w:.2f}' for w in walls)}); "
              f"violations {[r[3] for r in rows]}; ok {[r[1] for r in rows]}")
    if args.only in (None, "three"):
        rows = [asyncio.run(three_sources(world, folder())) for _ in range(args.repeats)]
        walls = [r[0] for r in rows]
        print(f"2. three sources at once (ideal {rows[0][3]}): wall median {statistics.median(walls):.2f} s, "
              f"ratio to slowest ideal {rows[0][1]:.0f} s = {statistics.median(walls) / rows[0][1]:.3f}; "
              f"violations {[r[2] for r in rows]}")
    if args.only in (None, "faults"):
        rows = []
        for i in range(args.repeats):
            faults = {"musicbrainz": Faults(rates={"500": 0.04, "502": 0.02, "503": 0.02, "429": 0.02, "timeout": 0.02},
                                            seed=i + 1, hang_seconds=3.0)}
            rows.append(asyncio.run(mb_lookups(world, 200, folder(), faults=faults, timeout=0.5)))
        walls = [r[0] for r in rows]
        print(f"3. 10% 5xx/429 + 2% timeouts, 200 lookups at 20/s: ok {[r[1] for r in rows]}, "
              f"reported {[len(r[2]) for r in rows]}, ok+reported {[r[1] + len(r[2]) for r in rows]}, "
              f"retries {[r[5].retries for r in rows]}, violations {[r[3] for r in rows]}, "
              f"wall median {statistics.median(walls):.2f} s (ideal 10 s, ratio {statistics.median(walls) / 10:.3f})")
        for r in rows:
            for line in r[2][:3]:
                print("   reported:", line)
    if args.only in (None, "warm"):
        rows = [asyncio.run(warm_cache(world, 400, folder())) for _ in range(args.repeats)]
        rates = [r[0] for r in rows]
        refs = [r[2] for r in rows]
        print(f"4. warm cache, {len(world.artists)} lookups, median of {args.repeats} runs of 5 passes each "
              f"(load {statistics.median(r[6] for r in rows):.1f} on {os.cpu_count()} cores): "
              f"{statistics.median(rates):,.0f} lookups/s wall (goal >= 20,000; runs {', '.join(f'{x:,.0f}' for x in rates)}), "
              f"{statistics.median(r[4] for r in rows):,.0f} per CPU-second of this process; "
              f"longest event-loop stall {1000 * statistics.median(r[5] for r in rows):.1f} ms wall, "
              f"{1000 * statistics.median(r[8] for r in rows):.1f} ms of CPU "
              f"(worst pass {1000 * max(r[7] for r in rows):.1f} ms wall, {1000 * max(r[9] for r in rows):.1f} ms CPU)")
        print(f"   network requests {[r[1] for r in rows]}; "
              f"{statistics.median(r[3] for r in rows):,.0f}/s counting the session's opening and closing; "
              f"reference sync read + JSON parse (entry line and body) of the same files "
              f"{statistics.median(refs):,.0f} files/s, ratio {statistics.median(r[0] / r[2] for r in rows):.3f}; "
              f"the same with orjson, the parser enrich uses, {statistics.median(r[10] for r in rows):,.0f} files/s, "
              f"ratio {statistics.median(r[0] / r[10] for r in rows):.3f}")

if __name__ == "__main__":
    main()
