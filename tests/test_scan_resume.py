"""A scan killed with SIGKILL part-way resumes as the same run, reads only what was not
stored, and ends with exactly the rows of a scan that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.generate import generate_bulk
from tests.conftest import REPO, run_enrich

FILES = 1500


def query(db, sql, *params):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored_rows(db) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM tracks ORDER BY id")
        return [{k: v for k, v in dict(r).items() if k != "scanned_at"} for r in rows]
    finally:
        conn.close()


def tracks_so_far(db) -> int:
    try:
        return query(db, "SELECT count(*) FROM tracks")[0][0]
    except sqlite3.Error:  # not created yet, or no schema yet
        return 0


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    dest = tmp_path_factory.mktemp("music")
    generate_bulk(dest, FILES, seconds=0.5)
    return dest


def children(pid: int) -> list[int]:
    return [int(c) for t in os.listdir(f"/proc/{pid}/task") for c in open(f"/proc/{pid}/task/{t}/children").read().split()]


def start_and_stop(music, db, sig, **popen) -> tuple[subprocess.Popen, list[int]]:
    """Start a scan; send ``sig`` as soon as the database holds some of its rows. Also its child pids.

    Small, quick batches make the first rows appear early, so the signal lands
    while most of the work is still ahead even on a loaded machine.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    settings = db.with_name(db.name + ".toml")
    settings.write_text("[store]\nbatch_size = 20\nflush_interval = 0.01\n")
    proc = subprocess.Popen([sys.executable, "-m", "enrich", "scan", "--db", str(db), "--config", str(settings),
                             "--workers", "1", "-q", str(music)], env=env, **popen)
    deadline = time.monotonic() + 60
    while tracks_so_far(db) == 0:
        assert proc.poll() is None, "the scan ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    readers = children(proc.pid)
    proc.send_signal(sig)
    return proc, readers


@pytest.mark.slow
def test_sigterm_stops_cleanly_as_interrupted(music, tmp_path):
    db = tmp_path / "stopped.db"
    proc, readers = start_and_stop(music, db, signal.SIGTERM, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "resume" in err and "Traceback" not in err, (proc.returncode, err[-3000:])
    assert query(db, "SELECT status FROM runs") == [("interrupted",)]
    assert readers and not any(os.path.exists(f"/proc/{pid}") and "enrich.library.reader" in
                               Path(f"/proc/{pid}/cmdline").read_text() for pid in readers)


@pytest.mark.slow
def test_sigkill_part_way_then_resume(music, tmp_path):
    db = tmp_path / "killed.db"
    proc, _ = start_and_stop(music, db, signal.SIGKILL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.wait()

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    kept = tracks_so_far(db)
    assert 0 < kept < FILES
    [(run_id, status)] = query(db, "SELECT id, status FROM runs")
    assert status == "running"  # killed: nobody could mark it
    # Every stored row has its checkpoint and no checkpoint lacks its row (same transaction).
    assert query(db, "SELECT count(*) FROM run_items WHERE run_id = ? AND status = 'done'", run_id) == [(kept,)]

    done = run_enrich("scan", "--db", str(db), "--json", str(music))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["run_id"], report["resumed"]) == (run_id, True)
    assert (report["read"], report["new"], report["unchanged"]) == (FILES - kept, FILES - kept, kept)
    assert query(db, "SELECT id, status FROM runs") == [(run_id, "done")]
    assert query(db, "SELECT count(*) FROM run_items WHERE run_id = ?", run_id) == [(FILES,)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]

    reference = tmp_path / "reference.db"
    assert run_enrich("scan", "--db", str(reference), "-q", str(music)).returncode == 0
    resumed, whole = stored_rows(db), stored_rows(reference)
    assert len(whole) == FILES
    assert resumed == whole  # every column but scanned_at, ids included
