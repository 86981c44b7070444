"""`enrich genres` as a real process: quickstart offline, no network, dry run,
tag write-back across formats, and SIGKILL followed by a resume that counts requests."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mutagen
import pytest

from enrich.library.tagwrite import read_back
from enrich.store import tracks
from enrich.store.db import open_db
from enrich.store.writer import Writer
from tests.conftest import REPO, run_enrich
from tests.fakes import ThreadedFakes, World
from tests.test_genres_pipeline import genres_by

LIBRARY = REPO / "fixtures" / "library"
REPLAY = REPO / "fixtures" / "replay-cache"


@pytest.fixture
def demo(tmp_path):
    """A copy of the fixture library and of the replay cache (runs write into both)."""
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    cache = tmp_path / "cache"
    shutil.copytree(REPLAY, cache)
    return library, cache, tmp_path / "demo.db"


def genres_in_db(db: Path) -> dict[str, list[str]]:
    return genres_by(db, "path")


@pytest.mark.slow
def test_quickstart_offline_without_keys(demo):
    library, cache, db = demo
    done = run_enrich("genres", "--offline", "--cache-dir", str(cache), "--db", str(db), str(library))
    assert done.returncode == 0, done.stderr
    assert "Daft Punk - Around the World: (none) -> french house, house, electronic" in done.stdout
    assert "12 enriched" in done.stdout and "0 requests" in done.stdout
    got = genres_in_db(db)
    assert len(got) == 12 and all(got.values())
    explained = run_enrich("genres", "--db", str(db), "--explain", "Nirvana - Smells")
    assert explained.returncode == 0
    assert '"seen live" (lastfm, track): not a genre (habit)' in explained.stdout
    assert "1. grunge" in explained.stdout


@pytest.mark.slow
def test_dry_run_writes_nothing_and_json_is_the_same_data(demo):
    library, cache, db = demo
    run_enrich("genres", "--offline", "--cache-dir", str(cache), "--db", str(db), str(library))
    (cfg := db.parent / "stale.toml").write_text("[genres]\ntop_n = 1\n")   # a settings change: every track is due
    before_db = db.read_bytes()
    before_files = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in library.rglob("*") if p.is_file()}
    text = run_enrich("genres", "--dry-run", "--offline", "--config", str(cfg), "--cache-dir", str(cache),
                      "--db", str(db), str(library))
    assert text.returncode == 0, text.stderr
    assert "dry run: nothing was written" in text.stdout
    assert "* Daft Punk - Around the World: french house, house, electronic -> house" in text.stdout
    as_json = run_enrich("genres", "--dry-run", "--offline", "--json", "--config", str(cfg), "--cache-dir",
                         str(cache), "--db", str(db), str(library))
    data = json.loads(as_json.stdout)
    change = next(c for c in data["changes"] if c["track"] == "Daft Punk - Around the World")
    assert change["old"] == ["french house", "house", "electronic"] and change["new"] == ["house"]
    assert db.read_bytes() == before_db
    assert not Path(str(db) + "-wal").exists() or Path(str(db) + "-wal").stat().st_size == 0
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in library.rglob("*") if p.is_file()} == before_files


@pytest.mark.slow
def test_write_tags_across_formats_and_a_file_that_cannot_be_written(demo):
    library, cache, db = demo
    first = run_enrich("genres", "--offline", "--cache-dir", str(cache), "--db", str(db), str(library))
    assert first.returncode == 0
    broken = library / "Kraftwerk" / "Die Mensch-Maschine" / "02 Die Roboter.wma"
    stat = broken.stat()
    garbage = b"\x00not audio any more" * (stat.st_size // 19) + b"\x00" * (stat.st_size % 19)
    broken.write_bytes(garbage)
    os.utime(broken, ns=(stat.st_atime_ns, stat.st_mtime_ns))      # the scan sees it unchanged
    # --force: the files get exactly the stored genres (by default they keep their own; test_file_genres)
    done = run_enrich("genres", "--offline", "--write-tags", "--force", "--cache-dir", str(cache), "--db", str(db),
                      str(library))
    assert done.returncode == 1
    assert "02 Die Roboter.wma: cannot write tags" in done.stdout
    assert broken.read_bytes() == garbage
    stored = genres_in_db(db)
    for suffix in (".mp3", ".flac", ".ogg", ".m4a", ".opus", ".aiff", ".wv", ".wav"):
        path = next(p for p in library.rglob(f"*{suffix}"))
        assert read_back(str(path))["genres"] == stored[str(path)], path
        assert mutagen.File(path) is not None
    mp3 = mutagen.File(next(library.rglob("*.mp3")))
    assert mp3.tags.version[:2] == (2, 4) and len(mp3.tags["TCON"].text) >= 2
    # the next run finds nothing to write and no file changed under the scan
    again = run_enrich("genres", "--offline", "--write-tags", "--force", "--json", "--cache-dir", str(cache),
                       "--db", str(db), str(library))
    data = json.loads(again.stdout)
    assert data["tags_written"] == 0 and data["scan"]["changed"] == 0


@pytest.mark.slow
def test_no_network_fails_fast_and_keeps_what_is_stored(demo):
    library, cache, db = demo
    run_enrich("genres", "--offline", "--cache-dir", str(cache), "--db", str(db), str(library))
    before = genres_in_db(db)
    cfg = db.parent / "nonet.toml"
    # rate raised only to keep the test short; the breaker is what makes it fail fast
    cfg.write_text("".join(f'[sources.{s}]\nbase_url = "http://127.0.0.1:9"\nmax_retries = 1\nrate = 20.0\n'
                           for s in ("lastfm", "musicbrainz", "claude")) + "[genres]\nttl_days = 0.0\n")
    env = {"LASTFM_API_KEY": "0123456789abcdef0123456789abcdef", "ANTHROPIC_API_KEY": "sk-ant-api03-secret"}
    started = time.monotonic()
    done = run_enrich("genres", "--config", str(cfg), "--cache-dir", str(db.parent / "empty"), "--db", str(db),
                      str(library), env=env)
    assert done.returncode == 1
    assert time.monotonic() - started < 60
    assert "12 failed" in done.stdout and "cannot connect" in done.stdout
    assert "sk-ant-api03-secret" not in done.stdout + done.stderr
    assert genres_in_db(db) == before


@pytest.mark.slow
def test_missing_keys_are_one_notice_each(demo, tmp_path):
    library, _cache, db = demo
    world = World.sample()
    with ThreadedFakes(world) as fakes:
        cfg = fakes.write_config(tmp_path / "c.toml")
        done = run_enrich("genres", "--config", str(cfg), "--cache-dir", str(tmp_path / "c"), "--db", str(db),
                          str(library))
        assert fakes.requests("lastfm") == 0 and fakes.requests("claude") == 0
    # said once: on the source's row of the report (not again as a note)
    assert done.stdout.count("OFF: no API key; set $LASTFM_API_KEY") == 1 and "note: lastfm" not in done.stdout
    assert done.stdout.count("OFF: no API key") == 2 and "note: claude" not in done.stdout


# ---------------------------------------------------------------- SIGKILL and resume

def make_library_db(db: Path, world: World) -> None:
    async def fill():
        conn = await open_db(db)
        async with Writer(conn) as writer:
            for n, t in enumerate(world.tracks):
                await writer.put_group([tracks.upsert_op(dict(path=f"/music/{n:04d}.flac", size=1, mtime_ns=1,
                                                              scanned_at=0, tag_genres="[]", artist=t.artist,
                                                              title=t.title, album=t.album))])
        await conn.close()

    asyncio.run(fill())


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.mark.slow
def test_sigkill_then_resume_fetches_no_finished_track_again(tmp_path):
    world = World.synthetic(150, 1)
    db = tmp_path / "lib.db"
    make_library_db(db, world)
    with ThreadedFakes(world, rates={"lastfm": 60.0, "musicbrainz": 60.0}) as fakes:
        cfg = fakes.write_config(tmp_path / "c.toml")
        args = ["genres", "--no-scan", "--config", str(cfg), "--db", str(db), "/music"]
        env = {**os.environ, "PYTHONPATH": str(REPO), **fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache1")}
        proc = subprocess.Popen([sys.executable, "-m", "enrich", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if count(db, "SELECT COUNT(*) FROM genre_state") >= 30:
                    break
            except sqlite3.OperationalError:
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        finished = {row for row in sqlite3.connect(db).execute(
            "SELECT t.title, t.artist FROM genre_state s JOIN tracks t ON t.id = s.track_id")}
        assert 30 <= len(finished) < len(world.tracks)

        fakes.reset_counters()
        # A fresh, empty HTTP cache: a finished track asked again would show up at the fake.
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache2")}
        done = run_enrich(*args, "--json", env=env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["resumed"] and report["to_enrich"] == len(world.tracks) - len(finished)
        asked = [p for p in fakes.service("lastfm").counters.paths if "track.getTopTags" in p]
        for title, artist in finished:
            assert not any(f"artist={artist}" in p and f"track={title}" in p for p in asked)
        assert len(asked) == len(world.tracks) - len(finished)
        assert fakes.violations() == 0
    assert count(db, "SELECT COUNT(*) FROM genre_state") == len(world.tracks)
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = sqlite3.connect(db).execute("SELECT id, status FROM runs WHERE command = 'genres'").fetchall()
    assert len(runs) == 1 and runs[0][1] == "done"      # the same run, resumed and finished


@pytest.mark.slow
@pytest.mark.parametrize("args, config, message", [
    ([], "", "no folder given"),
    (["--explain", "anything"], "", "nothing stored in"),
    (["/nowhere"], '[genres]\norder = "random"\n', "'genres.order' = 'random' is not allowed; expected 'specific' or 'score'"),
    (["/nowhere"], '[genres.classifier]\nmode = "sometimes"\n', "'genres.classifier.mode'"),
    (["/nowhere"], '[genres]\nvocabulary = "/no/such/folder"\n', "cannot read the genre tree"),
])
def test_usage_and_setting_errors_exit_2_with_one_line(tmp_path, args, config, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(config)
    done = run_enrich("genres", "--config", str(cfg), "--db", str(tmp_path / "x.db"), *args)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1
