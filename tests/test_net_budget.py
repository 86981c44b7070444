"""The rate budget holds when the network misbehaves: every attempt on the wire,
the HTTP library's own resends included, takes a token and is counted."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from enrich.errors import SourceError
from enrich.net import open_client
from enrich.net.budget import Budget, budget_file
from enrich.sources import lastfm, musicbrainz
from tests.conftest import REPO
from tests.fakes import FAST_HTTP, FakeServices, Faults, ThreadedFakes, World
from tests.test_genres_cli import make_library_db


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_two_budgets_on_one_file_share_its_tokens(tmp_path):
    clock = Clock()
    path = budget_file(tmp_path, "lastfm", "http://u:pw@Host.example:80/?k=v")
    assert "pw" not in str(path) and path == budget_file(tmp_path, "lastfm", "http://host.example:80")
    a, b = Budget(10.0, 2, clock, path), Budget(10.0, 2, clock, path)
    assert [a.take(), b.take()] == [0.0, 0.0]  # the burst of 2, between them
    assert b.take() == pytest.approx(0.1) and a.take() == pytest.approx(0.1)  # neither took it
    clock.t += 0.1
    assert a.take() == 0.0 and b.take() == pytest.approx(0.1)
    b.hold(5.0)  # a pause one process was told of holds the other too
    clock.t += 4.0
    assert a.take() == pytest.approx(1.0)
    a.close(), b.close()


def test_a_stale_file_is_ignored_and_an_unusable_folder_keeps_the_budget_in_memory(tmp_path):
    clock = Clock()
    path = budget_file(tmp_path, "musicbrainz", "http://h")
    Budget(1.0, 1, Clock(1e9), path).take()  # left far ahead, as by a boot long ago
    fresh = Budget(1.0, 1, clock, path)
    assert fresh.take() == 0.0 and fresh.take() == pytest.approx(1.0)
    (tmp_path / "blocked").write_text("a file where the folder should be")
    alone = Budget(1.0, 1, clock, budget_file(tmp_path / "blocked", "musicbrainz", "http://h"))
    assert alone.take() == 0.0 and alone.take() == pytest.approx(1.0) and not alone.shared


@pytest.mark.anyio
async def test_resets_of_kept_alive_connections_take_a_token_and_are_counted(tmp_path):
    world = World.synthetic(80)
    faults = {"lastfm": Faults(rates={"keepalive_reset": 0.2}, seed=5),
              "musicbrainz": Faults(rates={"keepalive_reset": 0.2}, seed=6)}
    async with FakeServices(world, rates={"lastfm": 40.0, "musicbrainz": 40.0}, faults=faults) as fakes:
        settings = {"concurrency": 4, "max_retries": 6, "breaker_threshold": 1000}
        config = fakes.load_config(tmp_path, http=FAST_HTTP, lastfm=settings, musicbrainz=settings)
        async with open_client(config) as client:
            calls = [lastfm.artist_top_tags(client, a.name) for a in world.artists]
            calls += [musicbrainz.lookup(client, "artist", a.mbid) for a in world.artists]
            got = await asyncio.gather(*calls, return_exceptions=True)
            counted = {name: client.stats(name).requests for name in ("lastfm", "musicbrainz")}
    assert not [g for g in got if isinstance(g, BaseException) and not isinstance(g, SourceError)]
    for name in ("lastfm", "musicbrainz"):
        c = fakes.service(name).counters
        assert c.faults["keepalive_reset"] >= 5, (name, c.faults)  # the fault really happened
        assert (name, counted[name]) == (name, c.requests)
        assert (name, c.violations) == (name, 0)


# ---------------------------------------------------------------- two processes, one budget

def start_genres(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Below the fakes' priority: on a loaded machine a starved fake would count
    # requests it merely got to late as a burst over the rate.
    return subprocess.Popen(["nice", "-n", "10", sys.executable, "-m", "enrich", "genres", "--no-scan", "--json", *args],
                            env={**os.environ, "PYTHONPATH": str(REPO), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("second", ["dry run on the same database", "a run on another database"])
def test_two_processes_sharing_a_cache_dir_keep_one_rate_budget(tmp_path, second):
    world = World.synthetic(40, 1)
    db = tmp_path / "lib.db"
    make_library_db(db, world)
    other = db
    if second == "a run on another database":
        other = tmp_path / "other.db"
        make_library_db(other, world)
    # 200 ms of tolerance: two processes each on its own budget go at twice the rate and
    # are caught within a second; scheduling jitter on a loaded machine is not.
    rates = {name: (20.0, 5.0) for name in ("lastfm", "musicbrainz", "claude")}
    with ThreadedFakes(world, rates=rates) as fakes:
        cfg = fakes.write_config(tmp_path / "c.toml")
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache")}
        first = start_genres(["--config", str(cfg), "--db", str(db), "/music"], env)
        extra = ["--dry-run"] if other == db else []
        beside = start_genres(["--config", str(cfg), "--db", str(other), *extra, "/music"], env)
        outs = [p.communicate(timeout=120) for p in (first, beside)]
        for p, (_out, err) in zip((first, beside), outs, strict=True):
            assert p.returncode == 0, err
        reports = [json.loads(out) for out, _ in outs]
        # Both went online (neither found everything in the other's cache) ...
        assert all(r["sources"]["lastfm"]["requests"] > 10 for r in reports), reports
        for name in ("lastfm", "musicbrainz"):
            counted = sum(r["sources"][name]["requests"] for r in reports)
            # ... and the services saw exactly what they counted, and no one over the rate.
            assert (name, counted, fakes.violations(name)) == (name, fakes.requests(name), 0)
        assert not [r for r in reports if any(s["breaker"] for s in r["sources"].values())]
