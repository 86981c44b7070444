"""`enrich playlists --prompt` as a user runs it: a real process, a real database, the fake Anthropic service."""

from __future__ import annotations

import json

import pytest

from enrich import Library
from tests.conftest import run_enrich
from tests.fakes import FAST_HTTP, ThreadedFakes, World
from tests.fakes.server import toml_value
from tests.synthetic_library import build_library

RAINY = "rainy sunday jazz, nothing faster than 100 bpm, about an hour"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompt-cli")
    return build_library(root / "library.db", 1200, clusters=9, seed=5, files_dir=root / "Music")


@pytest.fixture
def fakes(tmp_path):
    world = World.sample()
    world.wishes["jazz, not too loud"] = {"genres": ["jazz", "lounge music"], "loudness": {"max": "quiet"},
                                          "tracks": 6}
    with ThreadedFakes(world) as running:
        extra = "[http]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in FAST_HTTP.items())
        (tmp_path / "enrich.toml").write_text(running.config_toml(extra=extra))
        yield running


def enrich(fakes, tmp_path, library, *args, key=True):
    env = {"ENRICH_CACHE_DIR": str(tmp_path / "cache"), **(fakes.env() if key else {})}
    return run_enrich("playlists", "--db", str(library.db), "--config", str(tmp_path / "enrich.toml"), *args, env=env)


@pytest.mark.slow
def test_explain_prints_the_reading_before_the_tracks_and_the_cost_after(fakes, tmp_path, library):
    out = tmp_path / "lists"
    result = enrich(fakes, tmp_path, library, "--prompt", RAINY, "--explain", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Claude read: {RAINY!r}"
    fields = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:12]}
    assert fields["genres"] == "jazz" and fields["tempo"] == "up to 100 BPM" and fields["length"] == "60 minutes"
    assert fields["title"] == "Rainy Sunday Jazz"
    assert any(line.startswith("Rainy Sunday Jazz  (") and "-> " in line for line in lines)
    assert lines[-1].startswith("claude: 1 request, ") and "output tokens, $0.00" in lines[-1]
    [file] = out.iterdir()
    assert file.name == "Rainy Sunday Jazz.m3u8"
    # Asked again (cached): no request, and without --explain no reading either.
    again = enrich(fakes, tmp_path, library, "--prompt", RAINY, "--dry-run", "--offline")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith("claude: answer from the cache (0 requests")
    assert fakes.requests("claude") == 1


@pytest.mark.slow
def test_dropped_fields_are_one_line_each_on_stderr(fakes, tmp_path, library):
    result = enrich(fakes, tmp_path, library, "--prompt", "jazz, not too loud", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["wish"]["genres"] == ["jazz"] and data["wish"]["loudness"] is None
    dropped = [line for line in result.stderr.splitlines() if line.startswith("claude's answer: dropped ")]
    assert len(dropped) == 2
    assert any("'lounge music'" in line and "vocabulary" in line for line in dropped)
    assert any("loudness max" in line for line in dropped)
    assert data["playlists"][0]["count"] == 6 and data["claude"]["requests"] == 1


@pytest.mark.slow
def test_no_api_key_is_one_line_and_exit_2(fakes, tmp_path, library):
    result = enrich(fakes, tmp_path, library, "--prompt", RAINY, "--dry-run", key=False)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "ANTHROPIC_API_KEY" in line
    assert fakes.requests("claude") == 0


@pytest.mark.slow
def test_offline_without_a_cached_answer_is_one_line(fakes, tmp_path, library):
    result = enrich(fakes, tmp_path, library, "--prompt", "brand new sentence", "--offline", key=False)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "--offline" in line and "not been asked before" in line


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ("--prompt", "jazz", "--seed", "x"),
    ("--prompt", "jazz", "--direction", "energy-up"),
    ("--prompt", "jazz", "--length", "5", "--minutes", "10"),
    ("--prompt", "   "),
    ("--genre", "jazz", "--explain"),
])
def test_bad_combinations_are_usage_errors(fakes, tmp_path, library, args):
    result = enrich(fakes, tmp_path, library, *args, "--dry-run")
    assert result.returncode == 2, result.stdout
    assert fakes.requests("claude") == 0


def test_the_library_class_is_the_front_door(fakes, tmp_path, library):
    from enrich.config import load

    config = load(tmp_path / "enrich.toml", env={**fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache")},
                  overrides={"paths.db": str(library.db)})
    made = Library(config=config).prompt_playlist(RAINY, dry_run=True, length=5)
    assert made.playlists[0].count == 5 == len(made.playlists[0].tracks) and made.claude.requests == 1
    assert made.wish.genres == ["jazz"] and made.wish.tempo is not None and made.wish.tempo.max == 100
    assert made.reading.allowed > 0 and made.claude.cost_usd > 0
    again = Library(config=config).prompt_playlist(RAINY, dry_run=True, offline=True)
    assert again.claude.from_cache and again.claude.requests == 0
    assert again.as_dict()["wish"] == made.as_dict()["wish"]


@pytest.mark.slow
def test_ctrl_c_while_claude_is_thinking_is_one_line_and_exit_130(fakes, tmp_path, library):
    import time

    from tests.test_interrupts import assert_stopped_cleanly, ctrl_c, start

    fakes.service("claude").faults.push("timeout")  # the answer would take 30 s
    proc = start("playlists", "--db", str(library.db), "--config", str(tmp_path / "enrich.toml"), "--prompt", RAINY,
                 "--dry-run", env={"ENRICH_CACHE_DIR": str(tmp_path / "cache"), **fakes.env()})
    deadline = time.monotonic() + 60
    while fakes.requests("claude") < 1 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    took, err = ctrl_c(proc)
    assert_stopped_cleanly(proc, took, err)
    assert not list((tmp_path / "cache").glob("http/claude/*/*.json"))  # nothing half-answered was kept


@pytest.mark.slow
def test_untagged_files_are_matched_by_the_artist_in_their_names(tmp_path):
    """Item 4 of the issue: files without tags get artist and title from their names at scan time,
    and an artist the sentence names finds them."""
    from tests.fakes import Artist
    from tests.test_analysis_audio import music, write_audio

    music_dir = tmp_path / "Music"
    music_dir.mkdir()
    for n, (name, tempo) in enumerate([("Chet Baker - Alone Together", 84.0), ("Chet Baker - My Funny Valentine", 72.0),
                                       ("Noise Unit - Grinder", 170.0), ("Noise Unit - Saw", 165.0)]):
        write_audio(music_dir / f"{name}.wav", music(seconds=6.0, tempo=tempo, seed=n), 22050)
    db = tmp_path / "library.db"
    for command in ("scan", "analyze"):
        done = run_enrich(command, "--db", str(db), "-q", str(music_dir))
        assert done.returncode == 0, done.stderr
    world = World.sample()
    world.artists.append(Artist("Chet Baker"))
    world.index()
    with ThreadedFakes(world) as fakes:
        (tmp_path / "enrich.toml").write_text(fakes.config_toml())
        result = run_enrich("playlists", "--db", str(db), "--config", str(tmp_path / "enrich.toml"), "--json",
                            "--dry-run", "--prompt", "something like Chet Baker, 3 tracks",
                            env={"ENRICH_CACHE_DIR": str(tmp_path / "cache"), **fakes.env()})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["reading"]["artists"] == {"Chet Baker": 2}
    tracks = data["playlists"][0]["tracks"]
    assert len(tracks) == 3 and tracks[0]["artist"] == "Chet Baker"  # the best-scoring track starts
    chet = {t["title"] for t in tracks if t["artist"] == "Chet Baker"}
    assert chet == {"Alone Together", "My Funny Valentine"}  # the bonus takes both in
