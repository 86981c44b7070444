"""The genres already in the files: a weighted source, kept when writing, found by playlists."""

from __future__ import annotations

import json
import shutil
import sqlite3

import mutagen
import pytest
from mutagen.id3 import TCON

from enrich.genres.file_tags import file_votes, genres_to_write, stored_list
from enrich.genres.votes import Vote
from tests.conftest import REPO, run_enrich

LIBRARY = REPO / "fixtures" / "library"
REPLAY = REPO / "fixtures" / "replay-cache"
FOG = ("Static Harbor", "Low Tide Signals", "01 Fog Horn Theory.wav")
COME = ("Nirvana", "Nevermind", "02 Come as You Are.mp3")


@pytest.mark.parametrize("current, found, keep, expected", [
    (["Grunge"], ["grunge", "alternative rock"], True, ["Grunge", "alternative rock"]),
    (["Grunge", "My Mix"], ["grunge", "alternative rock"], True, ["Grunge", "My Mix", "alternative rock"]),
    ([], ["house"], True, ["house"]),
    (["Hip-Hop"], ["hip hop", "trap"], True, ["Hip-Hop", "trap"]),
    (["Grunge", "My Mix"], ["grunge", "alternative rock"], False, ["grunge", "alternative rock"]),
    (["Jazz"], [], True, ["Jazz"]),
])
def test_genres_to_write(current, found, keep, expected):
    assert genres_to_write(current, found, keep) == expected


@pytest.mark.parametrize("stored, expected", [
    ('["House", "French House"]', ["House", "French House"]),
    ("[]", []),
    (None, []),
    ("not json", []),
    ('{"a": 1}', []),
    ('["", " ", "Jazz"]', ["Jazz"]),
])
def test_stored_list(stored, expected):
    assert stored_list(stored) == expected


def test_file_votes_are_full_weight_at_the_level_asked():
    assert file_votes('["Thrash Metal"]', "artist") == [Vote("file", "artist", "Thrash Metal", 100.0)]


@pytest.fixture
def tagged(tmp_path):
    """The fixture library with 'Thrash Metal' in one file that the web sources know nothing about,
    and a hand-made 'My Mix' beside 'Grunge' in another; Claude off (its replies are for the plain library)."""
    library, cache = tmp_path / "library", tmp_path / "cache"
    shutil.copytree(LIBRARY, library)
    shutil.copytree(REPLAY, cache)
    fog = mutagen.File(library.joinpath(*FOG))
    fog.tags.add(TCON(encoding=3, text=["Thrash Metal"]))
    fog.save()
    come = mutagen.File(library.joinpath(*COME))
    come.tags.add(TCON(encoding=3, text=["Grunge", "My Mix"]))
    come.save()
    config = tmp_path / "config.toml"
    config.write_text('[genres.classifier]\nmode = "never"\n')
    return library, cache, config, tmp_path / "lib.db"


def genres_run(library, cache, config, db, *args):
    return run_enrich("genres", "--offline", "--cache-dir", str(cache), "--config", str(config), "--db", str(db),
                      str(library), *args)


@pytest.mark.slow
def test_the_files_genre_is_a_source_shown_in_explain_and_found_by_playlists(tagged):
    library, cache, config, db = tagged
    done = genres_run(library, cache, config, db)
    assert done.returncode == 0, done.stderr
    assert "Static Harbor - Fog Horn Theory: (none) -> thrash metal, metal" in done.stdout
    explained = run_enrich("genres", "--db", str(db), "--explain", "Fog Horn")
    assert 'file: "Thrash Metal" (100)' in explained.stdout
    playlist = run_enrich("playlists", "--db", str(db), "--genre", "Thrash Metal", "--length", "3", "--dry-run")
    assert playlist.returncode == 0, playlist.stderr
    assert "Static Harbor - Fog Horn Theory  [seed]" in playlist.stdout
    listed = run_enrich("ls", "--db", str(db), "source:file", "genre:metal", "--format", "{title}")
    assert listed.stdout.splitlines() == ["Fog Horn Theory"]


@pytest.mark.slow
def test_a_zero_weight_turns_the_source_off(tagged):
    library, cache, config, db = tagged
    config.write_text('[genres.classifier]\nmode = "never"\n[genres.weights]\nfile = 0.0\n')
    done = genres_run(library, cache, config, db)
    assert done.returncode == 0, done.stderr
    assert "Static Harbor - Fog Horn Theory: (none) -> (none)" in done.stdout or "thrash" not in done.stdout


def file_genres(path) -> list[str]:
    """The genre values in an MP3 or WAV file's ID3 tag (TCON)."""
    return [str(g) for frame in mutagen.File(path).tags.getall("TCON") for g in frame.text]


@pytest.mark.slow
def test_write_tags_keeps_what_the_user_set_and_force_replaces_it(tagged):
    library, cache, config, db = tagged
    done = genres_run(library, cache, config, db, "--write-tags")
    assert done.returncode == 0, done.stderr
    assert file_genres(library.joinpath(*COME)) == ["Grunge", "My Mix", "alternative rock"]
    assert file_genres(library.joinpath(*FOG)) == ["Thrash Metal", "metal"]
    # Nothing new to add: the next run leaves the files alone.
    again = genres_run(library, cache, config, db, "--write-tags", "--json")
    assert json.loads(again.stdout)["tags_written"] == 0
    forced = genres_run(library, cache, config, db, "--write-tags", "--force")
    assert forced.returncode == 0, forced.stderr
    assert file_genres(library.joinpath(*COME)) == ["grunge", "alternative rock"]
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT tag_genres FROM tracks WHERE path = ?",
                              (str(library.joinpath(*COME)),)).fetchone()[0]
    assert json.loads(stored) == ["grunge", "alternative rock"]


@pytest.mark.slow
def test_retry_failed_asks_again_about_tracks_left_without_genres(tagged):
    library, cache, config, db = tagged
    config.write_text('[genres.classifier]\nmode = "never"\n[genres.weights]\nfile = 0.0\n')
    first = genres_run(library, cache, config, db, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["empty"] >= 1  # Fog Horn Theory: no web source knows it, its tag is not weighed
    fresh = json.loads(genres_run(library, cache, config, db, "--json").stdout)
    assert fresh["to_enrich"] == 0
    retried = json.loads(genres_run(library, cache, config, db, "--retry-failed", "--json").stdout)
    assert retried["to_enrich"] == json.loads(first.stdout)["empty"]
