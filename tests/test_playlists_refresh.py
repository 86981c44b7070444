"""`genres` and `analyze` rebuild the playlists' snapshot at their end when they changed the library
and the user has one, so the first playlist after a nightly run maps a current file.

Real databases, the real writer and pipeline against the fake services (`analyze` is covered
end to end in test_analyze_command).
"""

from __future__ import annotations

import logging

import pytest

from enrich.cli.genres import render
from enrich.config import load as load_config
from enrich.pipeline.genres import genres
from enrich.playlists import snapshot
from enrich.playlists.refresh import refresh_snapshot, snapshot_path
from enrich.playlists.settings import PlaylistsConfig
from enrich.progress import NoProgress
from enrich.store.library_view import library_generation
from tests.fakes import FakeServices, World
from tests.test_genres_pipeline import add_tracks, load, world_rows

pytestmark = pytest.mark.anyio


def tempo_weight(config) -> float:
    return config.section("playlists", PlaylistsConfig).tempo_weight


async def test_a_genres_run_that_changed_the_library_rebuilds_the_snapshot_and_one_that_did_not_leaves_it(tmp_path):
    world = World.sample()
    async with FakeServices(world) as fakes:
        config = load(fakes, tmp_path)
        db = config.paths.db
        await add_tracks(config, world_rows(world))
        assert snapshot.load(db, tempo_weight(config)).source == "rebuilt"  # a playlist was made: no genres yet
        file = snapshot_path(db)

        report = await genres(config, ["/music"], scan_first=False)
        assert report.enriched == len(world.tracks)
        assert report.snapshot is not None and report.snapshot["tracks"] == len(world.tracks)
        assert f"playlists snapshot rebuilt for the next playlist: {len(world.tracks)} tracks in " in render(report.to_dict())
        current = snapshot.read(file, library_generation(db), tempo_weight(config))
        assert current is not None and "trip hop" in current[0].genre_names  # what the run stored is in it
        before = file.stat().st_mtime_ns

        again = await genres(config, ["/music"], scan_first=False)
        assert again.to_enrich == 0 and again.snapshot is None and file.stat().st_mtime_ns == before
        assert "playlists snapshot" not in render(again.to_dict())


async def test_without_a_snapshot_a_genres_run_makes_none(tmp_path):
    world = World.sample()
    async with FakeServices(world) as fakes:
        config = load(fakes, tmp_path)
        await add_tracks(config, world_rows(world))
        report = await genres(config, ["/music"], scan_first=False)
        assert report.enriched == len(world.tracks) and report.snapshot is None
        assert not snapshot_path(config.paths.db).exists()


async def test_a_refresh_that_fails_is_one_warning_naming_the_file_and_never_the_runs_failure(tmp_path, caplog):
    db = tmp_path / "lib.db"
    db.write_bytes(b"this is not a database, whatever its name says" * 100)
    snapshot_path(db).write_bytes(b"an old snapshot")
    config = load_config(env={}, overrides={"paths.db": str(db)})
    with caplog.at_level(logging.WARNING):
        assert await refresh_snapshot(config, NoProgress()) is None
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(snapshot_path(db)) in warning and "not refreshed" in warning and "\n" not in warning
