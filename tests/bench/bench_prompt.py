"""Benchmark of `enrich playlists --prompt` on a 100,000-track synthetic library, against the fake Anthropic service.

    python tests/bench/bench_prompt.py [--tracks 100000] [--repeats 5]

Runs the whole command as a user does (a new process: interpreter start,
imports, config, Claude's round trip, library read, planning, output) and
prints medians of wall time, the process's own CPU seconds (steadier than wall
time on a loaded machine) and peak RSS, for:

- a NEW sentence each time (one request each): the wall time, the Claude
  round trip the command measured itself (``timings_ms.claude_ms``), and the
  time beyond that round trip (budget: 2 s);
- the SAME sentence again (answered from the disk cache: zero requests);
- references in the same run: a bare `python -c "import numpy"` start and a
  `--seed` playlist on the same database, so the figures read as ratios on a
  noisy machine.

It counts the requests the fake received (must be exactly one per new
sentence, none when cached) and prints the load average before and after.
The library (bench_playlists' builder, with a ninth cluster: cool jazz) is built
once under tests/bench/out/ and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
from tests.bench.bench_playlists import library  # noqa: E402
from tests.bench.child_env import child_env  # noqa: E402
from tests.fakes import ThreadedFakes, World  # noqa: E402

ENV = child_env()
BUDGET_BEYOND_S = 2.0


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall seconds, the child's CPU seconds, its peak RSS in MB, stdout) of one process."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own CPU and peak RSS
        wall = time.perf_counter() - started
        proc.stdout.close()
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"failed: {' '.join(args)}\n{err.read().decode()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    opts = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    db = library(opts.tracks, clusters=9)[1]  # the ninth cluster is slow cool jazz
    with tempfile.TemporaryDirectory() as tmp, ThreadedFakes(World.sample()) as fakes:
        config = Path(tmp) / "enrich.toml"
        config.write_text(fakes.config_toml())
        env = {**ENV, **fakes.env(), "ENRICH_CACHE_DIR": str(Path(tmp) / "cache")}
        command = [sys.executable, "-m", "enrich", "playlists", "--db", str(db), "--config", str(config),
                   "--dry-run", "--json"]
        timed([*command, "--prompt", "warm-up: calm ambient, 10 tracks"], env)  # page cache, .pyc files, snapshot
        timed([*command, "--genre", "ambient", "--length", "5"], env)

        new_wall, new_cpu, new_rss, new_claude, new_beyond, per_request = [], [], [], [], [], []
        for i in range(opts.repeats):
            sentence = f"rainy sunday jazz, nothing faster than {100 - i} bpm, about an hour"
            before = fakes.requests("claude")
            wall, cpu, rss, out = timed([*command, "--prompt", sentence], env)
            per_request.append(fakes.requests("claude") - before)
            data = json.loads(out)
            claude_s = data["timings_ms"]["claude_ms"] / 1000
            new_wall.append(wall)
            new_cpu.append(cpu)
            new_rss.append(rss)
            new_claude.append(claude_s)
            new_beyond.append(wall - claude_s)
            if i == 0:
                playlist = data["playlists"][0]
                print(f"first answer: {playlist['name']!r}, {playlist['count']} tracks, {playlist['minutes']} min, "
                      f"{data['reading']['allowed']} of {data['library']['tracks']} tracks pass the filters; "
                      f"claude {data['claude']['input_tokens']} + {data['claude']['output_tokens']} tokens, "
                      f"${data['claude']['cost_usd']:.4f}; in-process timings {data['timings_ms']}")

        cached_wall, cached_cpu, cached_requests = [], [], []
        sentence = "rainy sunday jazz, nothing faster than 100 bpm, about an hour"
        for _ in range(opts.repeats):
            before = fakes.requests("claude")
            wall, cpu, _rss, out = timed([*command, "--prompt", sentence], env)
            cached_requests.append(fakes.requests("claude") - before)
            assert json.loads(out)["claude"]["from_cache"]
            cached_wall.append(wall)
            cached_cpu.append(cpu)

        genre = [timed([*command, "--genre", "cool jazz", "--minutes", "60"], env) for _ in range(opts.repeats)]
        bare = [timed([sys.executable, "-c", "import numpy"], env) for _ in range(opts.repeats)]

    med = statistics.median
    genre_wall, genre_cpu = med(g[0] for g in genre), med(g[1] for g in genre)
    print(f"\n{opts.tracks} tracks, medians of {opts.repeats} runs (whole command, a new process each):")
    print(f"  new sentence      {med(new_wall):5.2f} s wall, {med(new_cpu):.3f} CPU-s, {med(new_rss):.0f} MB  = Claude "
          f"round trip {med(new_claude):.3f} s + {med(new_beyond):.2f} s beyond it (budget {BUDGET_BEYOND_S:.0f} s); "
          f"requests per run {per_request}")
    print(f"  same sentence     {med(cached_wall):5.2f} s wall, {med(cached_cpu):.3f} CPU-s (from the cache); "
          f"requests per run {cached_requests}")
    print(f"  reference: --genre playlist of an hour {genre_wall:.2f} s wall, {genre_cpu:.3f} CPU-s; "
          f"bare python+numpy start {med(b[0] for b in bare):.2f} s wall, {med(b[1] for b in bare):.3f} CPU-s")
    print(f"  ratios to the --genre playlist: new sentence {med(new_cpu) / genre_cpu:.2f}x its CPU "
          f"({med(new_beyond) / genre_wall:.2f}x its wall beyond the round trip); "
          f"cached {med(cached_cpu) / genre_cpu:.2f}x its CPU")
    ok = med(new_beyond) < BUDGET_BEYOND_S and all(n == 1 for n in per_request) and not any(cached_requests)
    print(f"  within budget: {'yes' if ok else 'NO'}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
