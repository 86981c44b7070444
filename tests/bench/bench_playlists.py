"""Benchmark of `enrich playlists` on a 100,000-track synthetic library.

    python tests/bench/bench_playlists.py [--tracks 100000] [--repeats 7]

Prints, as medians of several runs: the whole command (interpreter start
included) for a 50-track playlist from one seed and for --auto 10, with its peak
RSS; the scoring step alone (in this process); and a reference, a bare
`python -c "import numpy"` start, so the figures read as ratios on a noisy
machine. Budgets: seed 1.5 s, scoring 50 ms, RSS 300 MB, --auto 10 10 s.
The library is built once under tests/bench/out/ and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from enrich.playlists.build import Request, plan, prepare  # noqa: E402
from enrich.playlists.genre_tree import load_tree  # noqa: E402
from enrich.playlists.settings import PlaylistsConfig  # noqa: E402
from enrich.playlists.similarity import score, track_target  # noqa: E402
from enrich.store.library_view import load_library  # noqa: E402
from tests.synthetic_library import build_library  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO)}
HEAVY = ("librosa", "numba", "scipy", "aiohttp", "soundfile", "av", "mutagen")


def library(tracks: int) -> tuple[Path, Path]:
    root = HERE / "out" / f"playlists-{tracks}"
    db = root / "library.db"
    if not db.exists():
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build_library(db.with_suffix(".tmp"), tracks, clusters=8, dims=32, seed=11, files_dir=root / "Music",
                      no_features=0.03, no_genres=0.03, neither=0.01, missing=0.005)
        db.with_suffix(".tmp").rename(db)
        print(f"built {tracks} synthetic tracks in {time.perf_counter() - started:.1f} s: {db}")
    return root, db


def run(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {err.decode()[-400:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def measure(label: str, args: list[str], cwd: Path, repeats: int, reference: float) -> tuple[float, float, str]:
    results = [run(args, cwd) for _ in range(repeats)]
    wall = statistics.median(r[0] for r in results)
    rss = max(r[1] for r in results)
    print(f"{label:<34} median {wall:6.3f} s  ({wall / reference:5.1f}x reference)  peak RSS {rss:5.0f} MB"
          f"  [runs: {', '.join(f'{r[0]:.2f}' for r in results)}]")
    return wall, rss, results[-1][2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    opts = parser.parse_args()
    root, db = library(opts.tracks)
    out = root / "lists"
    seed_path = sorted((root / "Music" / "techno").iterdir())[0]
    py = sys.executable

    ref_runs = [run([py, "-c", "import numpy"], root)[0] for _ in range(opts.repeats)]
    reference = statistics.median(ref_runs)
    print(f"{'reference: python -c import numpy':<34} median {reference:6.3f} s")

    seed_cmd = [py, "-m", "enrich", "playlists", "--db", str(db), "--seed", str(seed_path), "--length", "50",
                "--out", str(out), "--json"]
    seed_wall, seed_rss, seed_out = measure("seed, 50 tracks, whole command", seed_cmd, root, opts.repeats, reference)
    timings = json.loads(seed_out)["timings_ms"]
    print(f"  inside the command (ms): {timings}")
    auto_cmd = [py, "-m", "enrich", "playlists", "--db", str(db), "--auto", "10", "--out", str(out), "--json"]
    auto_wall, auto_rss, auto_out = measure("--auto 10, whole command", auto_cmd, root, max(3, opts.repeats // 2),
                                            reference)
    auto_data = json.loads(auto_out)
    print(f"  inside the command (ms): {auto_data['timings_ms']}")
    print("  names: " + "; ".join(p["name"] for p in auto_data["playlists"]))

    # The scoring step alone, in this process, over the loaded library.
    cfg = PlaylistsConfig()
    view = load_library(db)
    parents, lookup = load_tree()
    prep = prepare(view, cfg, parents, lookup)
    seed = view.paths.index(str(seed_path))
    relation = prep.relation[: len(view.genre_names), : len(view.genre_names)]
    target = track_target(view, prep.space, relation, seed)
    times = []
    for _ in range(25):
        started = time.perf_counter()
        score(view, prep.space, [target], cfg)
        times.append(time.perf_counter() - started)
    score_ms = statistics.median(times) * 1000
    print(f"{'scoring step alone (in process)':<34} median {score_ms:6.2f} ms over {len(view)} tracks")
    started = time.perf_counter()
    plan(prep, Request(seeds=(str(seed_path),), length=50, dry_run=True), cfg)
    print(f"{'plan (score+select+order) in proc':<34} {1000 * (time.perf_counter() - started):6.1f} ms")

    probe = ("import sys\nfrom enrich.cli import main\n"
             f"sys.argv = ['enrich', 'playlists', '--db', {str(db)!r}, '--seed', {str(seed_path)!r}, '--dry-run', '-q']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}), file=sys.stderr)\n")
    heavy = subprocess.run([py, "-c", probe], env=ENV, capture_output=True, text=True).stderr.strip().splitlines()[-1]
    print(f"{'heavy modules imported':<34} {heavy}")

    checks = [
        ("seed command <= 1.5 s", seed_wall <= 1.5),
        ("scoring <= 50 ms", score_ms <= 50),
        ("peak RSS <= 300 MB", max(seed_rss, auto_rss) <= 300),
        ("--auto 10 <= 10 s", auto_wall <= 10),
        ("no librosa/numba/scipy", heavy == "[]"),
    ]
    print("budgets: " + ", ".join(f"{name}: {'ok' if ok else 'OVER'}" for name, ok in checks))


if __name__ == "__main__":
    main()
