"""What -v and -vv add on stderr (retries and pauses; every request, rate waits and
cache hits), and that a source switched off is reported once, not three times."""

from __future__ import annotations

import pytest

from tests.conftest import run_enrich
from tests.fakes import Faults, ThreadedFakes, World
from tests.test_genres_cli import make_library_db


@pytest.mark.slow
def test_verbosity_levels_and_an_off_source_said_once(tmp_path):
    world = World.sample()
    db = tmp_path / "lib.db"
    make_library_db(db, world)
    with ThreadedFakes(world, faults={"lastfm": Faults(rates={"500": 0.3})}) as fakes:
        # MusicBrainz is unreachable (nothing listens on the discard port): it is switched off mid-run.
        cfg = fakes.write_config(tmp_path / "c.toml", musicbrainz={"base_url": "http://127.0.0.1:9"},
                                 claude={"enabled": False})
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache")}
        args = ["genres", "--no-scan", "--config", str(cfg), "--db", str(db), "/music"]
        loud = run_enrich(*args, "-vv", env=env)
        quiet = run_enrich(*args, "--no-resume", env={**env, "ENRICH_CACHE_DIR": str(tmp_path / "cache2")})
        cached = run_enrich(*args, "-vv", "--no-resume", env=env)
    for done in (loud, quiet, cached):
        assert done.returncode in (0, 1), done.stderr
    # -vv: each request with its status and time, the retries of the injected 500s, rate waits
    assert "DEBUG: lastfm: GET http://127.0.0.1:" in loud.stderr and "-> HTTP 200 in" in loud.stderr
    retried = [line for line in loud.stderr.splitlines() if line.startswith("INFO: lastfm: ") and "; retry 1 of 5" in line]
    assert retried, loud.stderr
    assert "DEBUG: lastfm: cache hit" in cached.stderr
    assert fakes.keys["lastfm"] not in loud.stderr + cached.stderr
    # without -v none of that detail
    assert "DEBUG:" not in quiet.stderr and "INFO:" not in quiet.stderr and "retry 1 of" not in quiet.stderr
    for done in (loud, quiet):
        # said live on stderr once, and in the report on its source's row, not again as a note
        assert done.stderr.count("musicbrainz: off for the rest of this run") == 1, done.stderr
        assert "OFF: unreachable" in done.stdout and "note: musicbrainz: off" not in done.stdout, done.stdout
