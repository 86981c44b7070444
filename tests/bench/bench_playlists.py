"""Benchmark of `enrich playlists` on synthetic libraries of 10,000 to 1,000,000 tracks.

    python tests/bench/bench_playlists.py [--tracks 100000] [--repeats 3]
    python tests/bench/bench_playlists.py --tracks 10000,100000,1000000   # the scaling table

For each size, as medians of --repeats runs, each beside its reference measured
in the same run: the whole `enrich playlists` command (interpreter start
included) for a 50-track playlist from one seed, wall time and CPU seconds, with
its peak RSS, when the snapshot is current (the usual case) and when it must be
rebuilt (the first command after the library changed); the reference is a bare
`python -c "import numpy"` process. Then the scoring step alone (CPU ms, in this
process) and, at 100,000 tracks or fewer, --auto 10. The load average is printed
beside every figure: on a shared machine, wall time moves with it and CPU
seconds much less. Budgets: 100,000 tracks: command 0.5 s; 1,000,000: command
3 s, 500 MB, scoring 50 ms. Libraries are built once under tests/bench/out/ and reused.
"""

from __future__ import annotations

import argparse
import itertools
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

from enrich.playlists import snapshot  # noqa: E402
from enrich.playlists.build import prepare  # noqa: E402
from enrich.playlists.genre_tree import load_tree  # noqa: E402
from enrich.playlists.settings import PlaylistsConfig  # noqa: E402
from enrich.playlists.similarity import score, track_target  # noqa: E402
from tests.synthetic_library import build_library  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def library(tracks: int, clusters: int = 8) -> tuple[Path, Path]:
    root = HERE / "out" / (f"playlists-{tracks}" if clusters == 8 else f"playlists-{tracks}-c{clusters}")
    db = root / "library.db"
    if not db.exists():
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build_library(db.with_suffix(".tmp"), tracks, clusters=clusters, dims=32, seed=11, files_dir=root / "Music",
                      no_features=0.03, no_genres=0.03, neither=0.01, missing=0.005)
        db.with_suffix(".tmp").rename(db)
        print(f"built {tracks} synthetic tracks in {time.perf_counter() - started:.1f} s: {db}")
    return root, db


def run(args: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MB, stdout) of one process."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own CPU and peak RSS
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {err.read().decode()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode()


def load() -> float:
    return os.getloadavg()[0]


def measure(label: str, args: list[str], cwd: Path, repeats: int, before=None) -> dict:
    """Median wall and CPU, max RSS of ``repeats`` runs (``before()`` runs ahead of each one)."""
    results, loads = [], []
    for _ in range(repeats):
        if before:
            before()
        results.append(run(args, cwd))
        loads.append(load())
    m = {"wall": statistics.median(r[0] for r in results), "cpu": statistics.median(r[1] for r in results),
         "rss": max(r[2] for r in results), "out": results[-1][3], "load": statistics.median(loads)}
    print(f"  {label:<38} wall {m['wall']:6.3f} s  CPU {m['cpu']:6.3f} s  peak RSS {m['rss']:5.0f} MB"
          f"  load {m['load']:4.1f}  [wall runs: {', '.join(f'{r[0]:.2f}' for r in results)}]")
    return m


def scoring_ms(db: Path, seed_path: Path) -> float:
    """CPU ms of the scoring step alone over the loaded library (median of 25)."""
    cfg = PlaylistsConfig()
    loaded = snapshot.load(db, cfg.tempo_weight)
    view = loaded.view
    parents, lookup = load_tree()
    prep = prepare(view, cfg, parents, lookup, space=loaded.space)
    seed = view.paths.index(str(seed_path))
    relation = prep.relation[: len(view.genre_names), : len(view.genre_names)]
    target = track_target(view, prep.space, relation, seed)
    score(view, prep.space, [target], cfg)
    times = []
    for _ in range(25):
        started = time.process_time()
        score(view, prep.space, [target], cfg)
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def bench_size(tracks: int, repeats: int) -> dict:
    root, db = library(tracks)
    out = root / "lists"
    seed_path = sorted((root / "Music" / "techno").iterdir())[0]
    py = sys.executable
    print(f"\n== {tracks:,} tracks (load average {load():.1f} on {os.cpu_count()} cores) ==")
    ref = measure("reference: python -c 'import numpy'", [py, "-c", "import numpy"], root, repeats)
    seed_cmd = [py, "-m", "enrich", "playlists", "--db", str(db), "--seed", str(seed_path), "--length", "50",
                "--out", str(out), "--json"]
    file = snapshot.snapshot_path(db)
    cold = measure("seed, snapshot rebuilt (after a change)", seed_cmd, root, repeats,
                   before=lambda: file.unlink(missing_ok=True))
    assert json.loads(cold["out"])["library_from"] == "rebuilt"
    warm = measure("seed, snapshot current (usual)", seed_cmd, root, repeats)
    data = json.loads(warm["out"])
    assert data["library_from"] == "snapshot"
    assert json.loads(cold["out"])["playlists"] == data["playlists"]  # the same playlist either way
    print(f"    ratio to the reference: wall {warm['wall'] / ref['wall']:.2f} x, CPU {warm['cpu'] / ref['cpu']:.2f} x;"
          f" inside the command (ms, wall): {data['timings_ms']}")
    score = scoring_ms(db, seed_path)
    print(f"  {'scoring step alone (in process)':<38} CPU {score:6.2f} ms  load {load():4.1f}")
    row = {"tracks": tracks, "ref": ref, "cold": cold, "warm": warm, "score_ms": score}
    if tracks <= 100_000:
        auto_cmd = [py, "-m", "enrich", "playlists", "--db", str(db), "--auto", "10", "--out", str(out), "--json"]
        row["auto"] = measure("--auto 10", auto_cmd, root, repeats)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", default="100000", help="sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    rows = [bench_size(int(n), opts.repeats) for n in opts.tracks.split(",")]

    print("\n== scaling (medians; CPU seconds are what the command costs, wall moves with the load) ==")
    print(f"  {'tracks':>9}  {'warm wall':>9}  {'warm CPU':>8}  {'RSS MB':>6}  {'scoring ms':>10}  "
          f"{'rebuild wall':>12}  {'rebuild CPU':>11}  {'load':>4}")
    for r in rows:
        print(f"  {r['tracks']:>9,}  {r['warm']['wall']:>9.3f}  {r['warm']['cpu']:>8.3f}  {r['warm']['rss']:>6.0f}  "
              f"{r['score_ms']:>10.2f}  {r['cold']['wall']:>12.2f}  {r['cold']['cpu']:>11.2f}  {r['warm']['load']:>4.1f}")
    for a, b in itertools.pairwise(rows):
        size = b["tracks"] / a["tracks"]
        print(f"  {a['tracks']:,} -> {b['tracks']:,} ({size:g}x tracks): warm CPU x{b['warm']['cpu'] / a['warm']['cpu']:.2f},"
              f" scoring x{b['score_ms'] / a['score_ms']:.2f}, rebuild CPU x{b['cold']['cpu'] / a['cold']['cpu']:.2f}"
              f" ({'no worse than linear' if b['cold']['cpu'] / a['cold']['cpu'] <= size * 1.1 else 'WORSE than linear'})")
    checks = []
    for r in rows:
        if r["tracks"] == 100_000:
            checks += [("100k: command <= 0.5 s (CPU)", r["warm"]["cpu"] <= 0.5),
                       ("100k: command <= 0.5 s (wall, at this load)", r["warm"]["wall"] <= 0.5)]
        if r["tracks"] == 1_000_000:
            checks += [("1M: command <= 3 s (wall)", r["warm"]["wall"] <= 3), ("1M: RSS <= 500 MB", r["warm"]["rss"] <= 500),
                       ("1M: scoring <= 50 ms (CPU)", r["score_ms"] <= 50)]
    print("budgets: " + ", ".join(f"{name}: {'ok' if ok else 'OVER'}" for name, ok in checks))


if __name__ == "__main__":
    main()
