"""Benchmark of `enrich playlists` on synthetic libraries of 10,000 to 1,000,000 tracks.

    python tests/bench/bench_playlists.py [--tracks 100000] [--repeats 3]
    python tests/bench/bench_playlists.py --tracks 10000,100000,1000000   # the scaling table

For each size, as medians of --repeats runs, each beside its reference measured
in the same run: the whole `enrich playlists` command (interpreter start
included) for a 50-track playlist from one seed, wall time and CPU seconds, with
its own peak RSS, when the snapshot is current (the usual case) and, measured
apart, when it must be rebuilt (the first command after the library changed);
the reference is a bare `python -c "import numpy"` process. Then a path from that
seed to a track of another genre (`--to`), whose points between the two are scored too. Peak RSS is the
VmHWM each process reports before it exits (tests/bench/peak_rss.py): wait4's
figure would carry this large process's own high-water mark. Then the scoring
step alone, in this process (median of --score-repeats calls, wall and CPU ms,
and the first call apart) and, at 100,000 tracks or fewer, --auto 10. The load
average is printed beside every figure: on a shared machine, wall time moves
with it and CPU seconds much less. Budgets: 100,000 tracks: command 0.5 s;
1,000,000: command 3 s, 500 MB, scoring 50 ms. Libraries are built once under
tests/bench/out/ and reused.
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
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
from enrich.playlists import snapshot  # noqa: E402
from enrich.playlists.build import PATH_STEPS, prepare  # noqa: E402
from enrich.playlists.genre_tree import load_tree  # noqa: E402
from enrich.playlists.settings import PlaylistsConfig  # noqa: E402
from enrich.playlists.similarity import score, track_target  # noqa: E402
from tests.bench.child_env import child_env  # noqa: E402
from tests.bench.peak_rss import ENRICH, measured, peak_mb  # noqa: E402
from tests.synthetic_library import build_library  # noqa: E402

ENV = child_env()


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
    """(wall seconds, CPU seconds, peak RSS MB, stdout) of one process started with ``measured`` code."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own CPU (its RSS figure is not its own)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        err.seek(0)
        errors = err.read().decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[:1] + args[3:])} failed ({proc.returncode}): {errors[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime, peak_mb(errors), out.decode()


def load() -> float:
    return os.getloadavg()[0]


def measure(label: str, args: list[str], cwd: Path, repeats: int, before: Callable[[], object] | None = None) -> dict:
    """Medians of wall, CPU and peak RSS of ``repeats`` runs (``before()`` runs ahead of each one)."""
    results, loads = [], []
    for _ in range(repeats):
        if before:
            before()
        results.append(run(args, cwd))
        loads.append(load())
    m = {"wall": statistics.median(r[0] for r in results), "cpu": statistics.median(r[1] for r in results),
         "rss": statistics.median(r[2] for r in results), "out": results[-1][3], "load": statistics.median(loads)}
    print(f"  {label:<38} wall {m['wall']:6.3f} s  CPU {m['cpu']:6.3f} s  peak RSS {m['rss']:5.0f} MB"
          f"  load {m['load']:4.1f}  [runs: wall {', '.join(f'{r[0]:.2f}' for r in results)};"
          f" RSS {', '.join(f'{r[2]:.0f}' for r in results)}]")
    return m


def scoring_ms(db: Path, seed_path: Path, repeats: int) -> dict:
    """The scoring step alone over the loaded library: the first call, then the median of ``repeats`` (ms)."""
    cfg = PlaylistsConfig()
    loaded = snapshot.load(db, cfg.tempo_weight)
    view = loaded.view
    parents, lookup = load_tree()
    prep = prepare(view, cfg, parents, lookup, space=loaded.space)
    seed = view.paths.index(str(seed_path))
    relation = prep.relation[: len(view.genre_names), : len(view.genre_names)]
    target = track_target(view, prep.space, relation, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    score(view, prep.space, [target], cfg)
    first = (time.perf_counter() - wall) * 1000
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        score(view, prep.space, [target], cfg)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall": statistics.median(walls) * 1000, "cpu": statistics.median(cpus) * 1000, "first": first,
            "load": load()}


def bench_size(tracks: int, repeats: int, score_repeats: int) -> dict:
    root, db = library(tracks)
    out = root / "lists"
    seed_path = sorted((root / "Music" / "techno").iterdir())[0]
    py = sys.executable
    print(f"\n== {tracks:,} tracks (load average {load():.1f} on {os.cpu_count()} cores) ==")
    ref = measure("reference: python -c 'import numpy'", [py, "-c", measured("import numpy")], root, repeats)
    seed_cmd = [py, "-c", ENRICH, "playlists", "--db", str(db), "--seed", str(seed_path), "--length", "50",
                "--out", str(out), "--json"]
    file = snapshot.snapshot_path(db)
    cold = measure("seed, snapshot rebuilt (after a change)", seed_cmd, root, repeats,
                   before=lambda: file.unlink(missing_ok=True))
    assert json.loads(cold["out"])["library_from"] == "rebuilt"
    warm = measure("seed, snapshot current (usual)", seed_cmd, root, repeats)
    data = json.loads(warm["out"])
    assert data["library_from"] == "snapshot"
    assert json.loads(cold["out"])["playlists"] == data["playlists"]  # the same playlist either way
    print(f"    ratio to the reference: wall {warm['wall'] / ref['wall']:.2f} x, CPU {warm['cpu'] / ref['cpu']:.2f} x,"
          f" RSS {warm['rss'] / ref['rss']:.2f} x; inside the command (ms, wall): {data['timings_ms']}")
    scored = scoring_ms(db, seed_path, score_repeats)
    print(f"  {'scoring step alone (in process)':<38} wall {scored['wall']:6.2f} ms  CPU {scored['cpu']:6.2f} ms"
          f"  (median of {score_repeats}; first call {scored['first']:.2f} ms wall)  load {scored['load']:4.1f}")
    end_path = sorted((root / "Music" / "ambient").iterdir())[0]
    path_cmd = [py, "-c", ENRICH, "playlists", "--db", str(db), "--seed", str(seed_path), "--to", str(end_path),
                "--length", "30", "--out", str(out), "--json"]
    path = measure(f"path --seed A --to B ({PATH_STEPS} points)", path_cmd, root, repeats)
    assert json.loads(path["out"])["playlists"][0]["kind"] == "path"
    row = {"tracks": tracks, "ref": ref, "cold": cold, "warm": warm, "score": scored, "path": path}
    if tracks <= 100_000:
        auto_cmd = [py, "-c", ENRICH, "playlists", "--db", str(db), "--auto", "10", "--out", str(out), "--json"]
        row["auto"] = measure("--auto 10", auto_cmd, root, repeats)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", default="100000", help="sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--score-repeats", type=int, default=50)
    opts = parser.parse_args()
    rows = [bench_size(int(n), opts.repeats, opts.score_repeats) for n in opts.tracks.split(",")]

    print(f"\n== scaling (medians of {opts.repeats}; CPU seconds are what the command costs, wall moves with the load) ==")
    print(f"  {'tracks':>9}  {'ref wall':>8}  {'ref CPU':>7}  {'ref RSS':>7}  {'wall s':>6}  {'CPU s':>5}  {'RSS MB':>6}  "
          f"{'scoring ms':>10}  {'rebuild wall':>12}  {'rebuild CPU':>11}  {'rebuild RSS':>11}  {'load':>4}")
    for r in rows:
        ref, warm, cold = r["ref"], r["warm"], r["cold"]
        print(f"  {r['tracks']:>9,}  {ref['wall']:>8.3f}  {ref['cpu']:>7.3f}  {ref['rss']:>7.0f}  {warm['wall']:>6.3f}"
              f"  {warm['cpu']:>5.3f}  {warm['rss']:>6.0f}  {r['score']['wall']:>10.2f}  {cold['wall']:>12.2f}"
              f"  {cold['cpu']:>11.2f}  {cold['rss']:>11.0f}  {warm['load']:>4.1f}")
    for a, b in itertools.pairwise(rows):
        size = b["tracks"] / a["tracks"]
        grow = b["cold"]["cpu"] / a["cold"]["cpu"]
        print(f"  {a['tracks']:,} -> {b['tracks']:,} ({size:g}x tracks): command CPU x{b['warm']['cpu'] / a['warm']['cpu']:.2f},"
              f" RSS x{b['warm']['rss'] / a['warm']['rss']:.2f}, scoring x{b['score']['wall'] / a['score']['wall']:.2f},"
              f" rebuild CPU x{grow:.2f} ({'no worse than linear' if grow <= size * 1.1 else 'WORSE than linear'})")
    checks = []
    for r in rows:
        if r["tracks"] == 100_000:
            checks += [("100k: command <= 0.5 s (wall, at this load)", r["warm"]["wall"] <= 0.5),
                       ("100k: command <= 0.5 s (CPU)", r["warm"]["cpu"] <= 0.5)]
        if r["tracks"] == 1_000_000:
            checks += [("1M: command <= 3 s (wall)", r["warm"]["wall"] <= 3), ("1M: RSS <= 500 MB", r["warm"]["rss"] <= 500),
                       ("1M: scoring <= 50 ms (wall)", r["score"]["wall"] <= 50),
                       ("1M: A -> B <= 3 s (wall)", r["path"]["wall"] <= 3), ("1M: A -> B RSS <= 500 MB", r["path"]["rss"] <= 500)]
    print("budgets: " + ", ".join(f"{name}: {'ok' if ok else 'OVER'}" for name, ok in checks))


if __name__ == "__main__":
    main()
