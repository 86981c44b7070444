"""Fault benchmark: `enrich genres` over 2,000 tracks while the network misbehaves,
with a second enrich process (`genres --dry-run` on the same library and cache
dir) running beside it.

    python tests/bench/bench_faults.py [--repeats 3] [--factor 50] [--reset 0.2]

The library and world are bench_genres.py's (2,000 tracks by 500 artists, a
tenth of them unknown to all but Claude); every fake enforces its real
service's rate scaled by --factor and injects EVERY fault kind the fakes know,
connection resets of kept-alive connections at --reset (20 %) and each other
kind at about 1 %. Per repeat it prints:

- requests counted by the two clients (their reports) vs received by each fake
  (goal: equal), and rate-limit violations per source (goal: 0);
- that every track ends stored or listed as failed by its run, after reruns
  (at most --reruns) of the failed ones;
- wall time of the two processes together vs the ideal (the bottleneck source's
  received requests / its enforced rate), beside a reference run of the same
  library with no faults and no second process, and the load average.

Medians over --repeats. `enrich` runs as real subprocesses (at --nice 10, so
that on a loaded machine the fakes, which judge a violation by when they get
to a request, are not the ones starved); the fakes on a thread of this process.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.bench_genres import (
    BASE_RATES,
    bench_world,
    fill_db,
    library_rows,
)
from tests.bench.child_env import child_env
from tests.fakes import FAULT_KINDS, Faults, ThreadedFakes, World

SOURCES = tuple(BASE_RATES)
# Settings a user facing a flaky network might have; rates are set per run.
CLIENT = {"timeout": 5.0, "concurrency": 8}
HTTP = "[http]\nbackoff_base = 0.05\nbackoff_cap = 1.0\ndefault_pause = 0.2\n"
RARE = {"huge": 0.002, "timeout": 0.005}  # 9 MB bodies and hung requests cost time: fewer of them


def faults_for(reset: float, other: float, seed: int) -> dict[str, Faults]:
    rates = {kind: RARE.get(kind, other) for kind in FAULT_KINDS if kind != "keepalive_reset"}
    rates["keepalive_reset"] = reset
    return {name: Faults(rates=dict(rates), seed=seed + n, hang_seconds=6.0, slow_seconds=0.3)
            for n, name in enumerate(SOURCES)}


NICE = 0  # --nice: enrich runs below the fakes' priority (they judge violations by when they get to a request)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    prefix = ["nice", "-n", str(NICE)] if NICE else []
    return subprocess.Popen([*prefix, sys.executable, "-m", "enrich", *args],
                            env=child_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, what: str) -> dict:
    out, err = proc.communicate()
    if proc.returncode not in (0, 1):  # 1: finished, some tracks failed (they are listed)
        raise SystemExit(f"{what} failed ({proc.returncode}): {err[-2000:]}")
    return json.loads(out)


def coverage(db: Path) -> tuple[int, int, int]:
    """(tracks, stored, listed as failed by the latest genres run and not stored)."""
    with sqlite3.connect(db) as conn:
        ids = {str(r[0]) for r in conn.execute("SELECT id FROM tracks")}
        stored = {str(r[0]) for r in conn.execute("SELECT track_id FROM genre_state")}
        run = conn.execute("SELECT MAX(id) FROM runs WHERE command = 'genres'").fetchone()[0]
        failed = {r[0] for r in conn.execute("SELECT item FROM run_items WHERE run_id = ? AND status = 'failed'", (run,))}
    return len(ids), len(stored & ids), len((failed & ids) - stored)


def peak_rate(times: list[float], window: float = 1.0) -> float:
    """The most requests that arrived within any ``window`` seconds, per second."""
    times, most, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window:
            lo += 1
        most = max(most, hi - lo + 1)
    return most / window


def one_run(world: World, opts, folder: Path, seed: int, *, faulty: bool) -> dict:
    db = folder / "lib.db"
    fill_db(db, library_rows(world))
    rates = {name: rate * opts.factor for name, rate in BASE_RATES.items()}
    faults = faults_for(opts.reset, opts.other, seed) if faulty else None
    with ThreadedFakes(world, rates=rates, faults=faults) as fakes:
        cfg = folder / "c.toml"
        # The client runs just under the enforced rate, as a user would configure it.
        cfg.write_text(fakes.config_toml(client_rates={n: r * 0.97 for n, r in rates.items()},
                                         **{n: CLIENT for n in SOURCES}, extra=HTTP))
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(folder / "cache")}
        args = ["genres", "--no-scan", "--json", "-q", "--config", str(cfg), "--db", str(db), "/music"]
        began = time.perf_counter()
        main = start(args, env)
        beside = start([*args, "--dry-run"], env) if faulty else None
        reports = [finish(main, "enrich genres")]
        if beside is not None:
            reports.append(finish(beside, "enrich genres --dry-run"))
        wall = time.perf_counter() - began
        counted = {n: sum(r["sources"][n]["requests"] for r in reports) for n in SOURCES}
        received = {n: fakes.requests(n) for n in SOURCES}
        violations = {n: fakes.violations(n) for n in SOURCES}
        injected = sum(sum(fakes.service(n).counters.faults.values()) for n in SOURCES)
        resets = sum(fakes.service(n).counters.faults["keepalive_reset"] for n in SOURCES)
        # Over any second, against the enforced rate: what a service averaging over a window sees.
        peak = {n: peak_rate(fakes.service(n).counters.times) / rates[n] for n in SOURCES}
        first = coverage(db)
        ideal = max(received[n] / rates[n] for n in SOURCES)  # of the two processes together, before any rerun
        reruns = 0
        while faulty and coverage(db)[2] and reruns < opts.reruns:
            reruns += 1  # the failed ones again, faults still on
            rerun = finish(start(args, env), "enrich genres (rerun)")
            for n in SOURCES:
                counted[n] += rerun["sources"][n]["requests"]
                received[n], violations[n] = fakes.requests(n), fakes.violations(n)
    tracks, stored, listed = coverage(db)
    return {"wall": wall, "ideal": ideal, "counted": counted, "received": received, "violations": violations,
            "injected": injected, "resets": resets, "first": first, "tracks": tracks, "stored": stored,
            "listed": listed, "reruns": reruns, "peak": peak, "breakers": [b for r in reports for b in
                                                            (r["sources"][n]["breaker"] for n in SOURCES) if b]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--factor", type=float, default=50.0, help="the real services' rates times this")
    parser.add_argument("--reset", type=float, default=0.20, help="chance a kept-alive connection is dropped")
    parser.add_argument("--other", type=float, default=0.01, help="chance of each other fault kind")
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--nice", type=int, default=10,
                        help="run enrich at this niceness: on a loaded machine a starved fake counts requests it merely "
                             "got to late as a burst over the rate (0 to run both at the same priority)")
    opts = parser.parse_args()
    global NICE
    NICE = opts.nice
    world = bench_world()
    print(f"load average at start: {os.getloadavg()}; enrich runs at nice {NICE}", flush=True)
    rows = []
    for r in range(opts.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            ref = one_run(world, opts, Path(tmp), seed=r, faulty=False)
        with tempfile.TemporaryDirectory() as tmp:
            res = one_run(world, opts, Path(tmp), seed=r * 10 + 1, faulty=True)
        res["ref_wall"], res["ref_ideal"], res["ref_violations"] = ref["wall"], ref["ideal"], ref["violations"]
        rows.append(res)
        print(f"run {r + 1}: faults injected {res['injected']} (kept-alive resets {res['resets']}); "
              f"requests counted by the clients {res['counted']} vs received by the fakes {res['received']}; "
              f"violations {res['violations']} (reference {ref['violations']}); busiest second / enforced rate "
              f"{ {n: round(x, 2) for n, x in res['peak'].items()} }; first pass: {res['first'][1]} stored + {res['first'][2]} listed "
              f"failed of {res['first'][0]}; after {res['reruns']} rerun(s): {res['stored']} stored + "
              f"{res['listed']} listed of {res['tracks']}; breakers {res['breakers'] or 'none'}; "
              f"wall {res['wall']:.1f}s vs ideal {res['ideal']:.1f}s (reference without faults: "
              f"{ref['wall']:.1f}s vs {ref['ideal']:.1f}s); "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    def med(f):
        return statistics.median(f(r) for r in rows)
    print(f"\n== 2,000 tracks, every fault kind ({', '.join(FAULT_KINDS)}), kept-alive resets at "
          f"{opts.reset:.0%}, a genres --dry-run beside it, rates x{opts.factor:g} ==")
    print("requests counted == received, every source, every run: "
          f"{all(r['counted'] == r['received'] for r in rows)}")
    print(f"rate-limit violations per source (max over runs): "
          f"{ {n: max(r['violations'][n] for r in rows) for n in SOURCES} }   (goal 0); reference run without "
          f"faults or a second process: { {n: max(r['ref_violations'][n] for r in rows) for n in SOURCES} }")
    print(f"busiest second / enforced rate (max over runs): "
          f"{ {n: round(max(r['peak'][n] for r in rows), 2) for n in SOURCES} }   (the budget held over time: <= 1)")
    print(f"every track stored or listed as failed: {all(r['stored'] + r['listed'] == r['tracks'] for r in rows)} "
          f"(stored {[r['stored'] for r in rows]} of {rows[0]['tracks']}; reruns {[r['reruns'] for r in rows]})")
    print(f"wall / ideal (median of {opts.repeats}): {med(lambda r: r['wall'] / r['ideal']):.3f} with faults and two "
          f"processes; reference, one process and no faults: {med(lambda r: r['ref_wall'] / r['ref_ideal']):.3f}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
