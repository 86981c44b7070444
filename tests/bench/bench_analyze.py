"""Benchmark of `enrich analyze`: CPU per track, scaling over workers, memory.

Run: python tests/bench/bench_analyze.py [--tracks 3] [--repeats 3] [--files 1000]

Prints, as medians over repeats, measured in this one process on the same files:
  1. CPU seconds per 4-minute track (MP3, 44.1 kHz stereo):
     - naive reference: librosa.load at 22,050 Hz, then separate librosa.feature.* and
       librosa.beat calls for the same features (each recomputes its own STFT);
     - ours (enrich.analysis.worker.analyse, default settings: 3 x 30 s excerpts);
     - ours over the whole track (excerpt = false), for comparison;
     - decoding the whole file alone (soundfile, native rate).
  2. Throughput of the pool with 2 workers against 1 (files per second).
  3. Peak RSS per worker, and the total RSS (parent + fork server + workers)
     sampled while the pool works through --files short files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from enrich.analysis.pool import AnalysisPool, Job  # noqa: E402
from enrich.analysis.settings import AnalysisConfig  # noqa: E402
from enrich.analysis.worker import analyse  # noqa: E402
from fixtures.synth import KEYS, render  # noqa: E402


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


def naive(path: str) -> None:
    """What one would write with librosa directly: each call makes its own spectrogram."""
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    librosa.beat.beat_track(y=y, sr=sr)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    chroma.mean(axis=1)
    librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
    librosa.feature.spectral_centroid(y=y, sr=sr)
    librosa.feature.spectral_rolloff(y=y, sr=sr)
    librosa.feature.spectral_flatness(y=y)
    librosa.feature.zero_crossing_rate(y)
    librosa.feature.rms(y=y)


def decode_only(path: str) -> None:
    sf.read(path, dtype="float32")


def cpu_seconds(fn, path: str) -> float:
    started = time.process_time()
    fn(path)
    return time.process_time() - started


def bench_cpu(paths: list[str], repeats: int) -> None:
    excerpts, whole = AnalysisConfig(), AnalysisConfig(excerpt=False, max_seconds=600.0)
    subjects = {
        "naive librosa": naive,
        "ours (excerpts)": lambda p: analyse(p, excerpts),
        "ours (whole track)": lambda p: analyse(p, whole),
        "decode only": decode_only,
    }
    for fn in subjects.values():  # imports, numba JIT, filter banks
        fn(paths[0])
    times = {name: [] for name in subjects}
    for _ in range(repeats):
        for path in paths:
            for name, fn in subjects.items():  # interleaved, so load changes hit all alike
                times[name].append(cpu_seconds(fn, path))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"1. CPU seconds per 4-minute MP3 track (median of {len(times['decode only'])} runs)")
    for name, value in med.items():
        print(f"   {name:<20} {value:7.3f} s")
    print(f"   naive / ours (excerpts)          = {med['naive librosa'] / med['ours (excerpts)']:.1f} x faster (goal >= 5)")
    print(f"   ours (excerpts) / decode only    = {med['ours (excerpts)'] / med['decode only']:.2f} x (goal <= 2.5)")
    print(f"   naive / ours (whole track)       = {med['naive librosa'] / med['ours (whole track)']:.1f} x faster")
    print(f"   ours (whole track) / decode only = {med['ours (whole track)'] / med['decode only']:.2f} x")


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
    parser.add_argument("--skip", default="", help="comma list of parts to skip: cpu,scaling,memory")
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
        if "memory" not in skip:
            short = folder / "short"
            short.mkdir()
            bench_memory(long_paths, write_tracks(short, 20, 6.0, "flac", sr=22050), args.files)


if __name__ == "__main__":
    main()
