"""`enrich scan` end to end: rows as the manifest says, incremental rescans, missing files,
dry runs, and every kind of bad input (each named with its reason; the scan goes on)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from enrich import config as config_mod
from enrich.pipeline.scan import scan
from fixtures.generate import QUICKSTART, generate_library
from tests.conftest import REPO, run_enrich, unprivileged_prefix

TAG_COLUMNS = ("artist", "album_artist", "album", "title", "track_number", "track_total", "disc_number", "disc_total",
               "year", "mb_track_id", "mb_artist_id", "mb_album_id", "mb_releasegroup_id", "tag_bpm", "tag_key")


@pytest.fixture(scope="module")
def source_library(tmp_path_factory):
    dest = tmp_path_factory.mktemp("source")
    return dest, generate_library(dest, odd=True, seconds=0.5)


@pytest.fixture
def library(source_library, tmp_path):
    """A fresh copy per test, so tests may damage it."""
    src, manifest = source_library
    dest = tmp_path / "music"
    shutil.copytree(src, dest)
    return dest, manifest


def cfg(db: Path, **settings):
    return config_mod.load(overrides={"paths.db": str(db), **{f"scan.{k}": v for k, v in settings.items()}})


def rows(db: Path) -> dict[str, dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {r["path"]: dict(r) for r in conn.execute("SELECT * FROM tracks")}


def query(db: Path, sql: str, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.mark.anyio
async def test_first_scan_stores_what_the_files_hold(library, tmp_path):
    music, manifest = library
    db = tmp_path / "lib.db"
    report = await scan(cfg(db), [music], workers=2)
    assert (report.new, report.read, report.failed, report.unreadable) == (len(manifest), len(manifest), [], 0)
    stored = rows(db)
    assert len(stored) == len(manifest)
    for entry in manifest:
        row = stored[str((music / entry["path"]).resolve())]
        expected = dict(entry["expected"])
        if expected["title"] is None:  # the title comes from the file name (one folder level: no artist)
            expected.update(title=Path(entry["path"]).stem)
            assert json.loads(row["from_filename"]) == ["title"]
        else:
            assert row["from_filename"] is None
        assert {c: row[c] for c in TAG_COLUMNS} == {c: expected[c] for c in TAG_COLUMNS}, entry["path"]
        assert json.loads(row["tag_genres"]) == expected["tag_genres"]
        assert (row["format"], row["codec"], row["missing"], row["last_error"]) == \
               (entry["container"], entry["codec"], 0, None)
        assert row["size"] == (music / entry["path"]).stat().st_size
    [(status, counts)] = query(db, "SELECT status, counts FROM runs")
    assert status == "done" and json.loads(counts)["new"] == len(manifest)


@pytest.mark.anyio
async def test_rescan_reads_nothing_then_notices_changes_and_missing_files(library, tmp_path):
    music, manifest = library
    db = tmp_path / "lib.db"
    config = cfg(db)
    await scan(config, [music])
    before = rows(db)

    again = await scan(config, [music])
    assert (again.unchanged, again.read, again.new, again.changed, again.missing) == (len(manifest), 0, 0, 0, 0)
    assert rows(db) == before

    first = music / manifest[0]["path"]
    from mutagen import File
    audio = File(first)
    audio.tags["TIT2"].text = ["A New Title"]
    audio.save()
    second = music / manifest[1]["path"]
    parked = tmp_path / "parked"
    second.rename(parked)
    report = await scan(config, [music])
    assert (report.changed, report.read, report.missing) == (1, 1, 1)
    after = rows(db)
    assert after[str(first.resolve())]["title"] == "A New Title"
    gone = after[str(second.resolve())]
    assert gone["missing"] == 1 and gone["title"] == before[str(second.resolve())]["title"]  # kept, not deleted

    parked.rename(second)  # back, same size and mtime: not read, just present again
    report = await scan(config, [music])
    assert (report.reappeared, report.read, report.missing) == (1, 0, 0)
    assert rows(db)[str(second.resolve())]["missing"] == 0


@pytest.mark.anyio
async def test_missing_only_under_the_roots_scanned(library, tmp_path):
    music, _manifest = library
    db = tmp_path / "lib.db"
    config = cfg(db)
    await scan(config, [music])
    shutil.rmtree(music / "Daft Punk")
    report = await scan(config, [music / "Nirvana"])
    assert report.missing == 0 and not any(r["missing"] for r in rows(db).values())
    report = await scan(config, [music])
    assert report.missing == 2
    assert sorted(Path(p).name for p, r in rows(db).items() if r["missing"]) == ["01 Around the World.mp3", "02 Da Funk.m4a"]


@pytest.mark.anyio
async def test_dry_run_writes_nothing(library, tmp_path):
    music, manifest = library
    db = tmp_path / "lib.db"
    report = await scan(cfg(db), [music], dry_run=True)
    assert report.new == len(manifest) and report.read == 0 and report.run_id is None
    assert not db.exists()

    await scan(cfg(db), [music])
    (music / manifest[0]["path"]).unlink()
    (music / "new.mp3").write_bytes((music / manifest[1]["path"]).read_bytes())
    snapshot, stored = db.read_bytes(), rows(db)
    report = await scan(cfg(db), [music], dry_run=True)
    assert (report.new, report.missing, report.unchanged) == (1, 1, len(manifest) - 1)
    # (Opening a WAL database read-only may create its -shm file; the data stays as it was.)
    assert db.read_bytes() == snapshot and rows(db) == stored
    assert query(db, "SELECT count(*) FROM runs") == [(1,)]


@pytest.mark.slow
@pytest.mark.anyio
async def test_hanging_and_crashing_files_in_a_scan(library, tmp_path):
    music, manifest = library
    for name in ("hang.mp3", "crash.mp3"):
        shutil.copyfile(music / manifest[0]["path"], music / name)
    db = tmp_path / "lib.db"
    report = await scan(cfg(db, read_timeout=1.0), [music], read="tests.test_scan_reader:misbehaving_read")
    failed = {Path(f["item"]).name: f["error"] for f in report.failed}
    assert set(failed) == {"hang.mp3", "crash.mp3"}
    assert "took longer than 1s" in failed["hang.mp3"] and "died" in failed["crash.mp3"]
    assert report.read == len(manifest) and len(rows(db)) == len(manifest)
    assert query(db, "SELECT count(*) FROM unreadable_files") == [(2,)]


@pytest.mark.anyio
async def test_a_file_is_missing_because_it_is_gone_not_because_of_what_an_error_says(library, tmp_path):
    music, manifest = library
    shutil.copyfile(music / manifest[0]["path"], music / "odd words.mp3")
    db = tmp_path / "lib.db"
    report = await scan(cfg(db), [music], read="tests.test_scan_reader:misbehaving_read")
    assert [Path(f["item"]).name for f in report.failed] == ["odd words.mp3"] and report.unreadable == 1
    assert query(db, "SELECT count(*) FROM unreadable_files") == [(1,)]


@pytest.mark.anyio
async def test_a_stored_track_whose_file_turns_bad_keeps_its_row(library, tmp_path):
    music, manifest = library
    db = tmp_path / "lib.db"
    config = cfg(db)
    await scan(config, [music])
    victim = music / manifest[0]["path"]
    title = rows(db)[str(victim.resolve())]["title"]
    victim.write_text("overwritten by something that is not audio")
    report = await scan(config, [music])
    assert [Path(f["item"]).name for f in report.failed] == [victim.name] and report.unreadable == 1
    row = rows(db)[str(victim.resolve())]
    assert row["title"] == title and row["missing"] == 0 and "not readable as audio" in row["last_error"]
    # Unchanged since: not read again, still counted, no longer a failure of the new run.
    report = await scan(config, [music])
    assert (report.read, report.unreadable, report.failed) == (0, 1, [])


# ---------------------------------------------------------------- the command line


def make_bad_inputs(music: Path, good: Path) -> dict[str, str]:
    """Bad files next to good ones; returns name -> words its error must contain."""
    (music / "bad").mkdir()
    (music / "bad/zero.mp3").write_bytes(b"")
    (music / "bad/text.mp3").write_text("I am a text file with an .mp3 name\n" * 20)
    (music / "bad/truncated.flac").write_bytes((music / f"{QUICKSTART[2].path}.flac").read_bytes()[:60])
    (music / "bad/broken.mp3").symlink_to(music / "bad/nowhere.mp3")
    (music / "bad/loop.mp3").symlink_to(music / "bad/loop.mp3")
    (music / "bad/up").symlink_to(music)  # a folder loop: skipped, not followed forever
    with open(os.fsencode(music / "bad") + b"/latin1 caf\xe9.mp3", "wb") as fh:
        fh.write(good.read_bytes())  # a name that is not UTF-8; the file itself is fine
    return {
        "zero.mp3": "empty file (0 bytes)",
        "text.mp3": "not readable as audio",
        "truncated.flac": "not readable as audio",
        "broken.mp3": "broken symbolic link",
        "loop.mp3": "symbolic link loop",
        "does-not-exist": "folder does not exist",
    }


@pytest.mark.slow
def test_cli_bad_inputs_are_named_and_the_scan_goes_on(library, tmp_path):
    music, manifest = library
    expect = make_bad_inputs(music, music / manifest[0]["path"])
    db = tmp_path / "lib.db"
    done = run_enrich("scan", "--db", str(db), "--json", str(music), str(tmp_path / "does-not-exist"))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)  # stdout holds the JSON document and nothing else
    failed = {Path(f["item"]).name: f["error"] for f in report["failed"]}
    assert set(failed) == set(expect)
    for name, words in expect.items():
        assert words in failed[name], (name, failed[name])
    assert report["read"] == len(manifest) + 1 and report["unreadable"] == 3
    stored = rows(db)
    odd_name = [r for p, r in stored.items() if "caf" in p]
    assert len(odd_name) == 1 and odd_name[0]["path"].endswith("/latin1 caf\\xe9.mp3")
    assert os.path.exists(odd_name[0]["path_bytes"]) and odd_name[0]["title"]
    assert "Traceback" not in done.stderr

    again = run_enrich("scan", "--db", str(db), "--json", str(music))
    report = json.loads(again.stdout)
    assert (report["read"], report["unreadable"], report["new"]) == (0, 3, 0)
    assert {Path(f["item"]).name for f in report["failed"]} == {"broken.mp3", "loop.mp3"}  # still broken
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.slow
def test_cli_text_summary_and_plain_progress(library, tmp_path):
    music, manifest = library
    done = run_enrich("scan", "--db", str(tmp_path / "lib.db"), str(music))
    assert done.returncode == 0, done.stderr
    assert f"{len(manifest)} new, 0 changed" in done.stdout and "scanned" in done.stdout
    # Not a terminal: plain lines, the last one complete.
    assert f"reading: {len(manifest)}/{len(manifest)} (100%)" in done.stderr and "\r" not in done.stderr
    dry = run_enrich("scan", "--db", str(tmp_path / "lib.db"), "--dry-run", str(music))
    assert dry.returncode == 0 and f"0 new, 0 changed, {len(manifest)} unchanged" in dry.stdout


@pytest.mark.slow
def test_cli_database_that_is_not_sqlite(library, tmp_path):
    music, _ = library
    db = tmp_path / "lib.db"
    db.write_text("this is not a database " * 100)
    done = run_enrich("scan", "--db", str(db), str(music))
    assert done.returncode == 2
    assert "not an SQLite database" in done.stderr and str(db) in done.stderr and "Traceback" not in done.stderr
    assert db.read_text().startswith("this is not a database")


@pytest.mark.slow
def test_cli_no_paths_and_no_library_setting_is_a_usage_error(tmp_path):
    done = run_enrich("scan", "--db", str(tmp_path / "lib.db"))
    assert done.returncode == 2 and "no folder to scan" in done.stderr


def unprivileged(*args: str) -> subprocess.CompletedProcess:
    """`enrich ARGS` without the power to ignore file permissions (tests often run as root)."""
    prefix = unprivileged_prefix()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([*prefix, sys.executable, "-m", "enrich", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.slow
def test_cli_unreadable_file_and_folder(library, tmp_path):
    music, manifest = library
    locked_file = music / manifest[0]["path"]
    locked_dir = music / "Nirvana"
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        db = tmp_path / "lib.db"
        done = unprivileged("scan", "--db", str(db), "--json", str(music))
        report = json.loads(done.stdout)
        failed = {Path(f["item"]).name: f["error"] for f in report["failed"]}
        assert done.returncode == 1
        assert failed == {locked_file.name: "cannot open: permission denied",
                          "Nirvana": "cannot list folder: Permission denied"}
        assert report["read"] == len(manifest) - 3  # the locked file, the locked folder's two
    finally:
        locked_dir.chmod(0o755)
        locked_file.chmod(0o644)


@pytest.mark.slow
@pytest.mark.parametrize("what", ["folder", "file"])
def test_cli_read_only_database_location(library, tmp_path, what):
    music, _ = library
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "lib.db"
    if what == "file":
        assert run_enrich("scan", "--db", str(db), str(music)).returncode == 0
        db.chmod(0o444)
    before = db.read_bytes() if db.exists() else None
    folder.chmod(0o555)
    try:
        done = unprivileged("scan", "--db", str(db), str(music))
        assert done.returncode == 2, done.stderr
        [line] = [text for text in done.stderr.splitlines() if text.startswith("error:")]
        assert str(folder) in line and ("read-only" in line or "Permission denied" in line)
        assert "Traceback" not in done.stderr
        assert (db.read_bytes() if db.exists() else None) == before
    finally:
        folder.chmod(0o755)


@pytest.mark.slow
def test_cli_links_out_of_the_roots_only_with_leave_roots(library, tmp_path):
    music, manifest = library
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copyfile(music / manifest[0]["path"], outside / "far.mp3")
    (music / "far").symlink_to(outside)
    db = tmp_path / "lib.db"
    stay = json.loads(run_enrich("scan", "--db", str(db), "--json", str(music)).stdout)
    assert stay["new"] == len(manifest) and "outside" in stay["skipped"][0]["reason"]
    leave = json.loads(run_enrich("scan", "--db", str(db), "--json", "--leave-roots", str(music)).stdout)
    assert (leave["new"], leave["read"]) == (1, 1) and str(music.resolve() / "far/far.mp3") in rows(db)
