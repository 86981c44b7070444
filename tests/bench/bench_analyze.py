"""Benchmark of `enrich analyze`: CPU per track, scaling over workers, memory.

Run: python tests/bench/bench_analyze.py [--tracks 3] [--repeats 3] [--files 1000]

Prints, as medians over repeats, measured in this one process on the same files:
  1. CPU seconds per 4-minute track (MP3, 44.1 kHz stereo), always on equal work:
     - whole track: naive librosa (librosa.load at 22,050 Hz, then separate
       librosa.feature.* and librosa.beat calls, each recomputing its STFT) against
       ours with excerpt = false, and our decoder alone over the whole track;
     - excerpts: the same naive calls over exactly the three 30 s excerpts ours
       reads (librosa.load with offset and duration) against ours with the default
       settings, and our decoder alone over those excerpts.
  2. Throughput of the pool with 2 workers against 1 (files per second).
  3. Peak RSS per worker, and the total RSS (parent + fork server + workers)
     sampled while the pool works through --files short files.
  4. The whole `enrich analyze` command over the 4-minute tracks: the wall time a user
     waits, and how much of the command's CPU is analysis (the rest: start-up, imports).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from enrich.analysis.decode import decode, plan_windows  # noqa: E402
from enrich.analysis.pool import AnalysisPool, Job  # noqa: E402
from enrich.analysis.settings import AnalysisConfig  # noqa: E402
from enrich.analysis.worker import analyse  # noqa: E402
from fixtures.synth import KEYS, render  # noqa: E402
from tests.bench.child_env import child_env  # noqa: E402


def write_tracks(folder: Path, count: int, seconds: float, fmt: str, sr: int = 44100) -> list[str]:
    paths = []
    for i in range(count):
        y = render(tempo=90 + 13 * i, key=KEYS[(5 * i) % 12], mode=("major", "minor")[i % 2], seconds=seconds,
                   sr=sr, seed=i)
        path = folder / f"t{i:03d}.{fmt}"
        subtype = {"mp3": "MPEG_LAYER_III", "flac": "PCM_16", "wav": "PCM_16"}[fmt]
        sf.write(path, np.stack([y, 0.9 * y]).T, sr, subtype=subtype)
        paths.append(str(path))
    return paths


def naive_features(y, sr: int) -> None:
    """What one would write with librosa directly: each call makes its own spectrogram."""
    import librosa

    librosa.beat.beat_track(y=y, sr=sr)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    chroma.mean(axis=1)
    librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
    librosa.feature.spectral_centroid(y=y, sr=sr)
    librosa.feature.spectral_rolloff(y=y, sr=sr)
    librosa.feature.spectral_flatness(y=y)
    librosa.feature.zero_crossing_rate(y)
    librosa.feature.rms(y=y)


def naive_whole(path: str) -> None:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    naive_features(y, sr)


def naive_excerpts(path: str, settings: AnalysisConfig) -> None:
    """The naive way over exactly the excerpts ours analyses: the same audio, not the whole track."""
    import librosa

    for w in excerpt_windows(path, settings):
        y, sr = librosa.load(path, sr=22050, mono=True, offset=w.start, duration=w.length)
        naive_features(y, sr)


def excerpt_windows(path: str, settings: AnalysisConfig) -> list:
    return plan_windows(sf.info(path).duration, excerpt=settings.excerpt, windows=settings.excerpt_windows,
                        seconds=settings.excerpt_seconds, max_seconds=settings.max_seconds)


def our_decode(path: str, settings: AnalysisConfig) -> None:
    """Our decoder alone over what the analysis reads (the excerpts, or the whole track), resampled as it does."""
    decode(path, sr=settings.sample_rate, excerpt=settings.excerpt, windows=settings.excerpt_windows,
           seconds=settings.excerpt_seconds, max_seconds=settings.max_seconds)


def cpu_seconds(fn, path: str) -> float:
    started = time.process_time()
    fn(path)
    return time.process_time() - started


def bench_cpu(paths: list[str], repeats: int) -> None:
    excerpts, whole = AnalysisConfig(), AnalysisConfig(excerpt=False, max_seconds=600.0)
    subjects = {
        "naive librosa, whole": naive_whole,
        "ours, whole": lambda p: analyse(p, whole),
        "decode, whole": lambda p: our_decode(p, whole),
        "naive librosa, excerpts": lambda p: naive_excerpts(p, excerpts),
        "ours, excerpts": lambda p: analyse(p, excerpts),
        "decode, excerpts": lambda p: our_decode(p, excerpts),
    }
    for fn in subjects.values():  # imports, numba JIT, filter banks
        fn(paths[0])
    times: dict[str, list[float]] = {name: [] for name in subjects}
    load = []
    for _ in range(repeats):
        for path in paths:
            for name, fn in subjects.items():  # interleaved, so load changes hit all alike
                times[name].append(cpu_seconds(fn, path))
            load.append(os.getloadavg()[0])
    med = {name: statistics.median(t) for name, t in times.items()}
    seconds = {kind: sum(w.length for w in excerpt_windows(paths[0], cfg)) for kind, cfg in
               (("whole", whole), ("excerpts", excerpts))}
    print(f"1. CPU seconds per 4-minute MP3 track, each beside its reference on the same audio "
          f"(median of {len(times['ours, whole'])} runs; load average {statistics.median(load):.1f})")
    for name, value in med.items():
        print(f"   {name:<26} {value:7.3f} s")
    for kind in ("whole", "excerpts"):
        print(f"   {kind} ({seconds[kind]:.0f} s of audio): naive / ours = "
              f"{med[f'naive librosa, {kind}'] / med[f'ours, {kind}']:.1f} x faster; ours / decode = "
              f"{med[f'ours, {kind}'] / med[f'decode, {kind}']:.2f} x")


def bench_command(paths: list[str], repeats: int) -> None:
    """What a user waits for: the whole `enrich analyze` process over the tracks, interpreter start included."""
    env = child_env()
    rows = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-analyze-cmd-") as tmp:
            music = Path(tmp) / "music"
            music.mkdir()
            for p in paths:
                shutil.copy(p, music)
            before = os.times()
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "enrich", "analyze", str(music), "--db", f"{tmp}/a.db",
                                   "--workers", "2", "--json", "-q"], env=env, capture_output=True, text=True,
                                  check=False)
            wall = time.perf_counter() - started
            after = os.times()
            if done.returncode != 0:
                raise SystemExit(f"enrich analyze failed: {done.stderr[-1000:]}")
            report = json.loads(done.stdout)
            rows.append((wall, after.children_user + after.children_system - before.children_user
                         - before.children_system, report["pool"]["cpu_seconds"], os.getloadavg()[0]))
    wall, cpu, analysis, load = (statistics.median(r[k] for r in rows) for k in range(4))
    imports = []
    for _ in range(repeats):  # what the fork server pays once per run, before any worker starts
        before = os.times()
        subprocess.run([sys.executable, "-c", "import enrich.analysis.worker"], env=env, check=True)
        after = os.times()
        imports.append(after.children_user + after.children_system - before.children_user - before.children_system)
    print(f"4. `enrich analyze` over {len(paths)} tracks as a user runs it (median of {repeats}; load {load:.1f}):"
          f" {wall:.2f} s wall; CPU of the enrich process itself (start-up, scan, storing) {cpu:.2f} s;"
          f" analysis in the workers {analysis:.2f} CPU-s; the fork server's one import of the worker code"
          f" (numpy, scipy), measured alone: {statistics.median(imports):.2f} CPU-s")


async def run_pool(workers: int, paths: list[str], settings, max_tasks: int = 200, sample=None):
    pool = AnalysisPool(workers, settings, timeout=120, max_tasks=max_tasks)
    done = 0

    async def jobs():
        for i, p in enumerate(paths):
            yield Job(i, p)

    async def handle(outcome):
        nonlocal done
        done += 1
        if outcome.features is None:
            raise RuntimeError(f"{outcome.job.path}: {outcome.error}")
        if sample and done % 50 == 0:
            sample(done, pool)

    started = time.perf_counter()
    stats = await pool.run(jobs(), handle)
    return time.perf_counter() - started, stats


def bench_scaling(paths: list[str], repeats: int) -> None:
    settings = AnalysisConfig()
    rates = {1: [], 2: []}
    busy = {1: [], 2: []}  # worker CPU seconds per wall second: 2.0 means two whole cores were ours
    for _ in range(repeats):
        for workers in (1, 2):
            elapsed, stats = asyncio.run(run_pool(workers, paths, settings))
            rates[workers].append(len(paths) / elapsed)
            busy[workers].append(stats.cpu_seconds / elapsed)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    load = os.getloadavg()
    print(f"2. Pool throughput over {len(paths)} files of 60 s (median of {repeats}; includes worker start-up)")
    print(f"   1 worker  {one:6.2f} files/s   {[f'{r:.2f}' for r in rates[1]]}")
    print(f"   2 workers {two:6.2f} files/s   {[f'{r:.2f}' for r in rates[2]]}")
    print(f"   2 / 1 = {two / one:.2f} x (goal >= 1.7); load average now {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
          f" on {os.cpu_count()} cores")
    print(f"   cores the workers actually got (CPU s per wall s): 1 worker {statistics.median(busy[1]):.2f},"
          f" 2 workers {statistics.median(busy[2]):.2f}")


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            found = [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []
    return found + [g for c in found for g in children(c)]


def bench_memory(long_paths: list[str], short_paths: list[str], files: int) -> None:
    settings = AnalysisConfig()
    _, stats = asyncio.run(run_pool(1, long_paths, settings))
    print(f"3. Peak RSS of a worker over 4-minute tracks: {stats.peak_rss_mb:.0f} MB (goal <= 400)")
    whole = AnalysisConfig(excerpt=False, max_seconds=600.0)
    _, stats = asyncio.run(run_pool(1, long_paths, whole))
    print(f"   ... analysing whole 4-minute tracks (excerpt = false): {stats.peak_rss_mb:.0f} MB")
    samples = []

    def sample(done, pool):
        me = os.getpid()
        total = rss_mb(me) + sum(rss_mb(c) for c in children(me))
        samples.append((done, total))

    jobs = [short_paths[i % len(short_paths)] for i in range(files)]
    elapsed, stats = asyncio.run(run_pool(2, jobs, settings, max_tasks=200, sample=sample))
    first = statistics.mean(t for _, t in samples[: max(1, len(samples) // 5)])
    last = statistics.mean(t for _, t in samples[-max(1, len(samples) // 5):])
    print(f"   total RSS over {files} files, 2 workers recycled every 200 ({elapsed:.0f} s, {stats.workers_started}"
          f" workers started): first fifth {first:.0f} MB, last fifth {last:.0f} MB,"
          f" max {max(t for _, t in samples):.0f} MB, peak worker {stats.peak_rss_mb:.0f} MB")
    print("   samples (files done: MB):", ", ".join(f"{d}: {t:.0f}" for d, t in samples[:: max(1, len(samples) // 10)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=3, help="4-minute tracks for the CPU comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000, help="short files for the memory run")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: cpu,scaling,command,memory")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        folder = Path(tmp)
        long_paths = write_tracks(folder, args.tracks, 240.0, "mp3")
        if "cpu" not in skip:
            bench_cpu(long_paths, args.repeats)
        if "scaling" not in skip:
            minute = folder / "minute"
            minute.mkdir()
            bench_scaling(write_tracks(minute, 24, 60.0, "flac"), args.repeats)
        if "command" not in skip:
            bench_command(long_paths, args.repeats)
        if "memory" not in skip:
            short = folder / "short"
            short.mkdir()
            bench_memory(long_paths, write_tracks(short, 20, 6.0, "flac", sr=22050), args.files)


if __name__ == "__main__":
    main()
