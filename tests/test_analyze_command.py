"""`enrich analyze` end to end: real files, the real scan, a real SQLite file, real processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from enrich.config import load as load_config
from enrich.playlists import snapshot
from enrich.playlists.refresh import snapshot_path
from enrich.playlists.settings import PlaylistsConfig
from enrich.store.library_view import library_generation
from tests.conftest import REPO, run_enrich
from tests.test_analysis_audio import music, write_audio

TRUTH = {"a.flac": (96, "D", "minor"), "b.m4a": (128, "G", "major"), "c.mp3": (174, "A#", "minor"),
         "d.ogg": (110, "E", "major")}


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    for name, (tempo, key, mode) in TRUTH.items():
        write_audio(folder / name, music(seconds=14, sr=44100, tempo=tempo, key=key, mode=mode, stereo=True), 44100)
    sf.write(folder / "silence.wav", np.zeros((44100 * 6, 2), dtype=np.float32), 44100)
    sf.write(folder / "tiny.wav", music(seconds=0.03, sr=44100), 44100)  # no spectrum to measure: a failure
    return folder


def db_rows(db, sql, params=()):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def analyze(db, *args, **kw):
    return run_enrich("analyze", "--db", str(db), *args, **kw)


def scanned_library(tmp_path, name: str, count: int, first_tempo: int, step: int):
    """``count`` 20 s FLAC files of rising tempo, scanned into a database; (folder, db)."""
    folder = tmp_path / name
    folder.mkdir()
    for i in range(count):
        write_audio(folder / f"{i:02d}.flac", music(seconds=20, sr=44100, tempo=first_tempo + step * i, seed=i), 44100)
    db = tmp_path / "lib.db"
    assert run_enrich("scan", "--db", str(db), str(folder)).returncode == 0
    return folder, db


def analyze_until(db, folder, stored: int, **popen) -> subprocess.Popen:
    """Start `enrich analyze` (one worker, no scan); return once it has stored ``stored`` tracks' features."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    popen = popen or {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    proc = subprocess.Popen([sys.executable, "-m", "enrich", "analyze", "--db", str(db), "--no-scan", "--workers", "1",
                             str(folder)], env=env, **popen)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if db_rows(db, "SELECT COUNT(*) FROM features")[0][0] >= stored:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be stopped"
    return proc


@pytest.mark.slow
def test_analyse_a_library_then_only_what_changed(tmp_path, library):
    db = tmp_path / "lib.db"
    first = analyze(db, str(library), "--json", "--workers", "2")
    assert first.returncode == 1, first.stderr  # the 30 ms file failed, the rest did not
    report = json.loads(first.stdout)
    assert report["analysed"] == 5 and report["to_analyse"] == {"new": 6}
    tiny_error = "only 0.03 s of audio decoded; at least 0.1 s needed"
    assert report["failed"] == [{"item": str(library / "tiny.wav"), "error": tiny_error}]
    rows = db_rows(db, "SELECT t.path, f.tempo, f.key_pc, f.mode, f.camelot, f.loudness, f.version, length(f.vector)"
                       " FROM features f JOIN tracks t ON t.id = f.track_id")
    names = json.loads(db_rows(db, "SELECT names FROM feature_sets")[0][0])
    assert len(rows) == 5
    silent = [r for r in rows if r[0].endswith("silence.wav")]
    assert [r[1:6] for r in silent] == [(None, None, None, None, None)]  # digital silence: a row, not a failure
    for path, tempo, key_pc, mode, camelot, loudness, version, vector_bytes in rows:
        if path.endswith("silence.wav"):
            continue
        want_tempo, want_key, want_mode = TRUTH[os.path.basename(path)]
        assert abs(tempo / want_tempo - 1) < 0.02
        assert ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"][key_pc] == want_key and mode == want_mode
        assert camelot[-1] == ("A" if mode == "minor" else "B")
        assert -40 < loudness < 0 and version >= 1 and vector_bytes == 4 * len(names)
    assert db_rows(db, "SELECT error FROM analysis_failures") == [(tiny_error,)]
    # A playlist is made: from now on the runs that change the library keep its snapshot current.
    tempo_weight = load_config(env={}, overrides={"paths.db": str(db)}).section("playlists", PlaylistsConfig).tempo_weight
    assert snapshot.load(db, tempo_weight).source == "rebuilt"
    made = snapshot_path(db).stat().st_mtime_ns

    again = analyze(db, str(library), "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["analysed"] == 0 and report["to_analyse"] == {} and report["remembered_failures"] == 1
    # Nothing changed (its feature set's row stored again changes no row): the snapshot is current as it is.
    assert report["snapshot"] is None and snapshot_path(db).stat().st_mtime_ns == made

    # A changed file (new audio, new size and mtime) is analysed again; so is the failure, with --retry-failed.
    write_audio(library / "a.flac", music(seconds=14, sr=44100, tempo=140, key="F", mode="major", stereo=True), 44100)
    changed = analyze(db, str(library), "--json", "--retry-failed")
    report = json.loads(changed.stdout)
    assert report["to_analyse"] == {"changed": 1, "retry": 1} and report["analysed"] == 1
    assert report["snapshot"]["tracks"] == 6  # rebuilt at the end of the run, not by the next playlist
    assert snapshot.read(snapshot_path(db), library_generation(db), tempo_weight) is not None
    tempo = db_rows(db, "SELECT f.tempo FROM features f JOIN tracks t ON t.id = f.track_id WHERE t.path LIKE '%a.flac'")
    assert abs(tempo[0][0] / 140 - 1) < 0.02

    # Tracks analysed with an older feature set are redone.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE features SET version = version - 1")
    redo = analyze(db, str(library), "--json", "--no-scan")
    report = json.loads(redo.stdout)
    assert report["to_analyse"] == {"older version": 5} and report["analysed"] == 5


@pytest.mark.slow
def test_dry_run_says_what_and_how_long_and_writes_nothing(tmp_path, library):
    db = tmp_path / "lib.db"
    assert run_enrich("scan", "--db", str(db), str(library)).returncode == 0
    before = db_rows(db, "SELECT COUNT(*) FROM runs")
    dry = analyze(db, str(library), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "6 to analyse (6 new)" in dry.stdout and "estimated time" in dry.stdout
    assert str(library / "a.flac") in dry.stdout
    assert db_rows(db, "SELECT COUNT(*) FROM runs") == before
    assert db_rows(db, "SELECT COUNT(*) FROM features") == [(0,)]
    as_json = json.loads(analyze(db, str(library), "--dry-run", "--json").stdout)
    assert as_json["estimate_seconds"] > 0 and len(as_json["would_analyse"]) == 6


@pytest.mark.slow
def test_a_file_deleted_after_the_scan_is_one_clear_failure(tmp_path, library):
    db = tmp_path / "lib.db"
    assert run_enrich("scan", "--db", str(db), str(library)).returncode == 0
    os.unlink(library / "b.m4a")
    result = analyze(db, str(library), "--no-scan")
    assert result.returncode == 1
    assert f"{library / 'b.m4a'}: file is gone (deleted or moved since the scan)" in result.stdout
    assert "4 analysed, 2 failed" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("batch", [5, 8])  # sizes at which a separate update ran ahead of its row
def test_tags_written_in_batches_of_any_size_never_cause_reanalysis(tmp_path, library, batch):
    # Batches cut by row count alone (the flush interval never comes first), one worker so the order is
    # fixed: a tagged file's new state shares batches with other tracks' rows.
    db, cfg = tmp_path / "lib.db", tmp_path / "small-batches.toml"
    cfg.write_text(f"[store]\nbatch_size = {batch}\nflush_interval = 60\n")
    result = analyze(db, "--config", str(cfg), str(library), "--write-tags", "--workers", "1", "--json")
    assert json.loads(result.stdout)["tags_written"] == 4, result.stderr
    sizes = {Path(p).name: (size, mtime) for p, size, mtime in db_rows(
        db, "SELECT t.path, f.file_size, f.file_mtime_ns FROM tracks t JOIN features f ON f.track_id = t.id")}
    for name in TRUTH:
        st = os.stat(library / name)
        assert sizes[name] == (st.st_size, st.st_mtime_ns), name  # the features describe the file as tagged
    again = json.loads(analyze(db, "--config", str(cfg), str(library), "--json").stdout)
    assert again["scan"]["changed"] == 4 and again["to_analyse"] == {}


@pytest.mark.slow
def test_write_tags_puts_bpm_and_key_in_the_files_and_does_not_cause_reanalysis(tmp_path, library):
    db = tmp_path / "lib.db"
    result = analyze(db, str(library), "--write-tags", "--json")
    assert json.loads(result.stdout)["tags_written"] == 4, result.stderr
    flac = mutagen.File(library / "a.flac")
    assert flac["BPM"] == ["96"] and flac["INITIALKEY"] == ["Dm"]
    mp4 = mutagen.File(library / "b.m4a")
    assert mp4["tmpo"] == [128]
    again = json.loads(analyze(db, str(library), "--json").stdout)
    assert again["scan"]["changed"] == 4 and again["to_analyse"] == {}  # rescanned for the tags, not reanalysed


@pytest.mark.slow
def test_sigkill_part_way_then_resume(tmp_path):
    """Kill -9 the command while it works; the rerun resumes the same run and redoes nothing finished."""
    folder, db = scanned_library(tmp_path, "many", 30, 80, 3)
    proc = analyze_until(db, folder, 3)
    helpers = descendants(proc.pid)  # the fork server and the analysis process
    assert helpers
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    before = dict(db_rows(db, "SELECT track_id, analyzed_at FROM features"))
    assert 3 <= len(before) < 30
    run_id, status = db_rows(db, "SELECT id, status FROM runs WHERE command = 'analyze'")[0]
    assert status == "running"  # killed: nobody could mark it

    resumed = analyze(db, "--no-scan", "--json", str(folder))
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["resumed"] is True and report["run_id"] == run_id
    assert report["analysed"] == 30 - len(before)
    after = dict(db_rows(db, "SELECT track_id, analyzed_at FROM features"))
    assert len(after) == 30 and all(after[t] == at for t, at in before.items())  # nothing finished was redone
    assert db_rows(db, "SELECT status FROM runs WHERE id = ?", (run_id,)) == [("done",)]
    # No helper process of the killed command outlived it for long.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in helpers):
        time.sleep(0.1)
    assert not any(running(pid) for pid in helpers)


def descendants(pid: int) -> list[int]:
    found = []
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return found
    for child in children:
        found += [child, *descendants(child)]
    return found


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_help_and_no_librosa_on_the_way_in():
    result = run_enrich("analyze", "--help")
    assert result.returncode == 0 and "--write-tags" in result.stdout and "--dry-run" in result.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, enrich.cli.analyze, enrich.pipeline.analyze;"
                            " print('librosa' in sys.modules)"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    assert probe.stdout.strip() == "False", probe.stderr


@pytest.mark.slow
def test_a_missing_folder_is_reported_and_fails_the_run(tmp_path):
    folder, db = scanned_library(tmp_path, "some", 1, 120, 0)
    result = analyze(db, str(folder), str(tmp_path / "no-such-folder"))
    assert result.returncode == 1
    assert f"{tmp_path / 'no-such-folder'}: folder does not exist" in result.stdout


@pytest.mark.slow
def test_sigterm_stops_cleanly_with_130_and_the_run_resumes(tmp_path):
    folder, db = scanned_library(tmp_path, "some", 16, 90, 4)
    proc = analyze_until(db, folder, 2, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    stored = db_rows(db, "SELECT COUNT(*) FROM features")[0][0]
    assert db_rows(db, "SELECT status FROM runs WHERE command = 'analyze'") == [("interrupted",)]
    finished = db_rows(db, "SELECT COUNT(*) FROM run_items i JOIN runs r ON r.id = i.run_id"
                           " WHERE r.command = 'analyze' AND i.status = 'done'")[0][0]
    assert finished == stored  # every checkpoint has its features and the other way round
    report = json.loads(analyze(db, "--no-scan", "--json", str(folder)).stdout)
    assert report["resumed"] is True and report["analysed"] == 16 - stored
    # The run's counts add up over both parts; the worker count is the run's, not a sum.
    [(counts,)] = db_rows(db, "SELECT counts FROM runs WHERE command = 'analyze'")
    counts = json.loads(counts)
    assert counts["analysed"] == 16 and counts["workers"] == report["workers"]


@pytest.mark.slow
def test_a_file_replaced_before_the_resume_is_analysed_again_in_the_resumed_run(tmp_path):
    folder, db = scanned_library(tmp_path, "some", 12, 90, 4)
    proc = analyze_until(db, folder, 2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 130
    [(track_id, path, tempo)] = db_rows(db, "SELECT t.id, t.path, f.tempo FROM features f JOIN tracks t"
                                            " ON t.id = f.track_id ORDER BY t.id LIMIT 1")
    # The finished file is replaced by a much faster piece before the run is resumed (with its scan).
    write_audio(Path(path), music(seconds=20, sr=44100, tempo=170, seed=99), 44100)
    report = json.loads(analyze(db, "--json", str(folder)).stdout)
    assert report["resumed"] is True and report["scan"]["changed"] == 1
    [(new_tempo, size)] = db_rows(db, "SELECT f.tempo, f.file_size FROM features f WHERE f.track_id = ?", (track_id,))
    assert size == os.path.getsize(path) and abs(new_tempo - 170) < 170 * 0.02 and abs(tempo - 170) > 10


def test_short_silent_and_oddly_named_files_are_analysed_and_an_older_feature_set_is_redone(tmp_path):
    """Through `enrich analyze`: 1-3 s clips and digital silence are rows, a Latin-1 file name decodes,
    a failure remembered under an older feature set is retried, and the report says what was redone."""
    folder = tmp_path / "odd"
    folder.mkdir()
    write_audio(folder / "short.flac", music(seconds=2.5, sr=44100, tempo=128, key="E", mode="minor"), 44100)
    write_audio(folder / "one-beat.ogg", music(seconds=1.0, sr=44100, tempo=60, key="C", mode="major"), 44100)
    sf.write(folder / "silence.flac", np.zeros(44100 * 3, dtype=np.float32), 44100)
    made = write_audio(folder / "made.mp3", music(seconds=8, sr=44100, tempo=100, key="G", mode="major"), 44100)
    latin1 = os.path.join(os.fsencode(folder), b"Caf\xe9 del Mar - \xc0 bient\xf4t.mp3")
    os.rename(made, latin1)
    db = tmp_path / "lib.db"
    result = analyze(db, str(folder), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["analysed"] == 4 and report["failed"] == []
    rows = {os.path.basename(p): (tempo, key, loud) for p, tempo, key, loud in db_rows(
        db, "SELECT t.path, f.tempo, f.key_pc, f.loudness FROM features f JOIN tracks t ON t.id = f.track_id")}
    assert abs(rows["short.flac"][0] / 128 - 1) < 0.04 and rows["short.flac"][1] is not None
    assert rows["one-beat.ogg"][0] is None and rows["one-beat.ogg"][2] is not None  # one beat: no tempo
    assert rows["silence.flac"] == (None, None, None)
    odd = [name for name in rows if name.startswith("Caf")]
    assert len(odd) == 1 and abs(rows[odd[0]][0] / 100 - 1) < 0.04

    # A library analysed with an older feature set, where the short clip failed then (< 3 s was refused):
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE features SET version = version - 1")
        short_id = conn.execute("SELECT id FROM tracks WHERE path LIKE '%short.flac'").fetchone()[0]
        conn.execute("INSERT INTO analysis_failures SELECT track_id, version, file_size, file_mtime_ns,"
                     " 'only 2.5 s of audio decoded; at least 3 s needed', 0 FROM features WHERE track_id = ?",
                     (short_id,))
        conn.execute("DELETE FROM features WHERE track_id = ?", (short_id,))
    redo = analyze(db, str(folder), "--no-scan")
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert "(3 older version, 1 retry)" in redo.stdout
    from enrich.analysis.featureset import VERSION
    assert f"3 tracks re-analysed: feature set {VERSION - 1} -> {VERSION}" in redo.stdout
    assert db_rows(db, "SELECT COUNT(*) FROM features WHERE version = ?", (VERSION,)) == [(4,)]
    assert db_rows(db, "SELECT COUNT(*) FROM analysis_failures") == [(0,)]
