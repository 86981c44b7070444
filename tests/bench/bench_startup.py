"""Start-up of the command line: `enrich --help` and every `enrich COMMAND --help`.

    python tests/bench/bench_startup.py [--repeats 3]

Each as a fresh process (interpreter start included), beside two references run
in the same loop: a bare `python -c pass` and `python -c "import click"` (the
least a click program pays). Medians of wall and CPU seconds, with the load
average: on a shared machine wall time moves with the load, CPU seconds much
less. Goal: every help under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from enrich.cli import COMMANDS  # noqa: E402  (the list only; the commands are imported by name when run)
from tests.bench.child_env import child_env  # noqa: E402

ENV = child_env()


def run(args: list[str]) -> tuple[float, float]:
    """(wall, CPU seconds) of one process."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=ENV, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            raise SystemExit(f"{' '.join(args)} failed: {out.read().decode()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    py = sys.executable
    subjects = {
        "reference: python -c pass": [py, "-c", "pass"],
        "reference: python -c 'import click'": [py, "-c", "import click"],
        "enrich --help": [py, "-m", "enrich", "--help"],
        **{f"enrich {c} --help": [py, "-m", "enrich", c, "--help"]
           for c in sorted(COMMANDS)},
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in subjects}
    loads = []
    for _ in range(opts.repeats):
        for name, args in subjects.items():  # interleaved, so load changes hit all alike
            times[name].append(run(args))
        loads.append(os.getloadavg()[0])
    print(f"start-up, median of {opts.repeats} (load average {statistics.median(loads):.1f} on {os.cpu_count()} cores)")
    worst = worst_wall = 0.0
    for name, rows in times.items():
        wall, cpu = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        if name.startswith("enrich"):
            worst, worst_wall = max(worst, cpu), max(worst_wall, wall)
        print(f"  {name:<38} wall {wall:6.3f} s  CPU {cpu:6.3f} s")
    click_cpu = statistics.median(r[1] for r in times["reference: python -c 'import click'"])
    print(f"  slowest help: wall {worst_wall:.3f} s, {worst:.3f} CPU-s, {worst / click_cpu:.1f} x the bare click import"
          " (goal < 0.3 s)")


if __name__ == "__main__":
    main()
