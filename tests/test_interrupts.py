"""Ctrl-C at any moment, as a terminal sends it: SIGINT to the whole process group.

Real processes and real signals: before anything starts, during the scan,
while the analysis processes start and while they work, during genres against
the fake services. Each time: exit 130 with one line, within a second, no
traceback from the command or its children, the run recorded as interrupted and
resumed by the next run. A run killed with SIGKILL shows as interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_enrich
from tests.fakes import ThreadedFakes, World
from tests.test_analysis_audio import music, write_audio
from tests.test_genres_cli import make_library_db

PROGRESS = ("listing", "reading", "analysing", "genres", "scan:")


def start(*args: str, env: dict | None = None, prefix: tuple[str, ...] = ()) -> subprocess.Popen:
    """`python -m enrich ARGS` in a process group of its own, as a shell starts a job."""
    return subprocess.Popen([*prefix, sys.executable, "-m", "enrich", *args], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def ctrl_c(proc: subprocess.Popen) -> tuple[float, str]:
    """SIGINT to the job's group; seconds until the command exited, and its stderr without progress lines."""
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    while proc.poll() is None and time.monotonic() - sent < 30:
        time.sleep(0.01)
    took = time.monotonic() - sent
    try:  # children that were still importing close their end of the pipes a little later
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(PROGRESS)]
    return took, "\n".join(lines)


def assert_stopped_cleanly(proc: subprocess.Popen, took: float, err: str) -> None:
    assert proc.returncode == 130, err
    assert err.startswith("error: interrupted") and len(err.splitlines()) == 1, err
    assert took < 3.0, took  # a second on a quiet machine; slack for a loaded one


def wait_for(db: Path, sql: str, at_least: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the command ended before the moment to stop it"
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                if conn.execute(sql).fetchone()[0] >= at_least:
                    return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {sql}")


def runs(db: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, command, status FROM runs ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    for i in range(24):
        write_audio(folder / f"{i:02d}.flac", music(seconds=20, sr=44100, tempo=90 + i, seed=i), 44100)
    return folder


@pytest.mark.parametrize("after", [0.8, 1.5])  # past Python's own start-up (about 0.1 s; a signal then is Python's)
def test_ctrl_c_while_the_command_starts(tmp_path, audio, after):
    # One worker: the whole run takes over 2 s on a quiet machine (with two, about 1.7 s),
    # so the signal lands while it is still on.
    proc = start("analyze", "--db", str(tmp_path / "lib.db"), "--workers", "1", str(audio))
    time.sleep(after)  # Python is importing the command line or the command (it used to say "Aborted!", exit 1)
    assert proc.poll() is None, "the command ended before the moment to stop it"
    took, err = ctrl_c(proc)
    assert_stopped_cleanly(proc, took, err)


def test_ctrl_c_during_the_scan_and_the_next_scan_resumes(tmp_path, audio):
    db = tmp_path / "lib.db"
    many = tmp_path / "many"
    many.mkdir()
    short = tmp_path / "short.flac"
    write_audio(short, music(seconds=1, sr=22050, tempo=120, seed=1), 22050)
    for i in range(400):
        shutil.copyfile(short, many / f"{i:03d}.flac")  # copies: a hard link is one file to the scan
    cfg = tmp_path / "small-batches.toml"
    cfg.write_text("[scan]\nchunk_size = 4\n[store]\nbatch_size = 4\nflush_interval = 0.01\n")
    proc = start("scan", "--db", str(db), "--config", str(cfg), "--workers", "1", str(many))
    wait_for(db, "SELECT COUNT(*) FROM tracks", 8, proc)
    took, err = ctrl_c(proc)
    assert_stopped_cleanly(proc, took, err)
    assert runs(db) == [(1, "scan", "interrupted")]
    stored = sqlite3.connect(db).execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    assert 8 <= stored < 400
    again = run_enrich("scan", "--db", str(db), "--json", str(many), timeout=300)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["resumed"] and report["run_id"] == 1 and report["read"] == 400 - stored
    assert runs(db) == [(1, "scan", "done")]


def test_ctrl_c_while_the_analysis_processes_start(tmp_path, audio):
    db = tmp_path / "lib.db"
    assert run_enrich("scan", "--db", str(db), "-q", str(audio)).returncode == 0
    proc = start("analyze", "--db", str(db), "--no-scan", "--workers", "2", str(audio))
    # The run is begun just before the pool starts its processes (whose fork server
    # imports numpy and scipy for seconds: a Ctrl-C there was a 40-line traceback).
    wait_for(db, "SELECT COUNT(*) FROM runs WHERE command = 'analyze'", 1, proc)
    time.sleep(0.3)
    took, err = ctrl_c(proc)
    assert_stopped_cleanly(proc, took, err)
    assert runs(db)[-1][1:] == ("analyze", "interrupted")


def test_ctrl_c_while_analysing_and_the_next_run_resumes(tmp_path, audio):
    db = tmp_path / "lib.db"
    assert run_enrich("scan", "--db", str(db), "-q", str(audio)).returncode == 0
    proc = start("analyze", "--db", str(db), "--no-scan", "--workers", "2", str(audio))
    wait_for(db, "SELECT COUNT(*) FROM features", 2, proc)
    took, err = ctrl_c(proc)
    assert_stopped_cleanly(proc, took, err)
    run_id, _, status = runs(db)[-1]
    assert status == "interrupted"
    done = sqlite3.connect(db).execute("SELECT COUNT(*) FROM features").fetchone()[0]
    again = run_enrich("analyze", "--db", str(db), "--no-scan", "--json", str(audio), timeout=600)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["resumed"] and report["run_id"] == run_id
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM features").fetchone()[0] == 24 > done


def test_ctrl_c_during_genres_with_the_fake_services(tmp_path):
    world = World.synthetic(150, 1)
    db = tmp_path / "lib.db"
    make_library_db(db, world)
    with ThreadedFakes(world, rates={"lastfm": 40.0, "musicbrainz": 40.0}) as fakes:
        cfg = fakes.write_config(tmp_path / "c.toml")
        args = ["genres", "--no-scan", "--config", str(cfg), "--db", str(db), "/music"]
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache")}
        # Below the fakes' priority (as in test_net_budget): on a loaded machine a fake starved while
        # enrich starts would count the requests it got to late, all at once, as a burst over the rate.
        nice = ("nice", "-n", "10")
        proc = start(*args, env=env, prefix=nice)
        wait_for(db, "SELECT COUNT(*) FROM genre_state", 10, proc)
        took, err = ctrl_c(proc)
        assert_stopped_cleanly(proc, took, err)
        assert runs(db) == [(1, "genres", "interrupted")]
        again = subprocess.run([*nice, sys.executable, "-m", "enrich", *args, "--json"], capture_output=True, text=True,
                               timeout=300, env={**os.environ, "PYTHONPATH": str(REPO), **env})
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["resumed"]
        assert fakes.violations() == 0
    assert runs(db) == [(1, "genres", "done")]


def test_a_run_killed_with_sigkill_shows_as_interrupted(tmp_path, audio):
    db = tmp_path / "lib.db"
    assert run_enrich("scan", "--db", str(db), "-q", str(audio)).returncode == 0
    proc = start("analyze", "--db", str(db), "--no-scan", "--workers", "1", str(audio))
    wait_for(db, "SELECT COUNT(*) FROM features", 1, proc)
    live = json.loads(run_enrich("runs", "--db", str(db), "--json").stdout)
    assert live[0]["command"] == "analyze" and live[0]["status"] == "running"  # it is
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    listed = run_enrich("runs", "--db", str(db))
    assert listed.returncode == 0
    assert [line.split()[2] for line in listed.stdout.splitlines()[1:]] == ["interrupted", "done"]
    shown = json.loads(run_enrich("runs", "show", str(live[0]["id"]), "--db", str(db), "--json").stdout)
    assert shown["status"] == "interrupted"
