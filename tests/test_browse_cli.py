"""`enrich ls`, `stats`, `export` and `config` on a real database built by scan, genres and analyze."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import mutagen
import numpy as np
import pytest
import soundfile as sf

from enrich import Library
from enrich.analysis.featureset import VERSION
from tests.conftest import REPO, run_enrich

LIBRARY = REPO / "fixtures" / "library"
REPLAY = REPO / "fixtures" / "replay-cache"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture library plus 30 ms of silence (too short to analyse: a failure) and one file that goes missing."""
    root = tmp_path_factory.mktemp("browse")
    library, cache, db = root / "library", root / "cache", root / "lib.db"
    shutil.copytree(LIBRARY, library)
    shutil.copytree(REPLAY, cache)
    genres = run_enrich("genres", "--offline", "--cache-dir", str(cache), "--db", str(db), str(library), "-q")
    assert genres.returncode == 0, genres.stderr
    # Added after `genres` (the replay cache answers for the fixture artists only): no genres for these.
    sf.write(library / "Static Harbor" / "silence.wav", np.zeros((int(22050 * 0.03), 1), dtype=np.float32), 22050)
    gone = library / "Kraftwerk" / "Die Mensch-Maschine" / "extra.flac"
    shutil.copy(library / "Miles Davis" / "Kind of Blue" / "01 So What.flac", gone)
    tags = mutagen.File(gone)
    tags.delete()
    tags["artist"], tags["title"] = ["Nobody Known"], ["Gone Track"]
    tags.save()
    analyzed = run_enrich("analyze", "--db", str(db), "--workers", "1", str(library), "-q")
    assert analyzed.returncode == 1, analyzed.stderr  # the silent file
    gone.unlink()
    assert run_enrich("scan", "--db", str(db), str(library), "-q").returncode == 0
    return library, db


def ls(db, *args):
    return run_enrich("ls", "--db", str(db), *args)


def titles(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [line.split(" - ")[2].split("  [")[0] for line in result.stdout.splitlines()]


@pytest.mark.slow
def test_every_track_one_line_in_album_order(built):
    _, db = built
    lines = ls(db).stdout.splitlines()
    assert len(lines) == 14
    assert lines[0] == "Daft Punk - Homework - Around the World  [121 BPM  8A  -20.2 LUFS]  french house, house, electronic"
    assert lines.index(next(line for line in lines if "Da Funk" in line)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("terms, expected", [
    (["genre:jazz"], {"So What", "Blue in Green"}),
    (["genre:rock"], {"Smells Like Teen Spirit", "Come as You Are", "Fog Horn Theory", "Paper Lanterns",
                      "Slow Tide", "Das Model", "Die Roboter"}),  # krautrock, shoegaze, dream pop, post-rock: under rock
    (["genre:electronic", "bpm:110..122"], {"Around the World", "Da Funk", "Die Roboter"}),
    (["artist:~DAFT"], {"Around the World", "Da Funk"}),
    (["artist:daft"], set()),
    (["artist:daft punk", "title:da funk"], {"Da Funk"}),
    (["robot"], {"Die Roboter"}),
    (["key:8A"], {"Around the World"}),
    (["key:A minor"], {"Around the World"}),
    (["key:compatible:8A"], {"Around the World", "Die Roboter", "Come as You Are", "So What", "Gone Track"}),
    (["loudness:..-21"], {"Blue in Green", "Paper Lanterns", "Slow Tide"}),
    (["year:1990..1999"], {"Around the World", "Da Funk", "Smells Like Teen Spirit", "Come as You Are"}),
    (["year:1990..1999", ",", "year:..1960"], {"Around the World", "Da Funk", "Smells Like Teen Spirit",
                                                "Come as You Are", "So What", "Blue in Green"}),
    (["genre:jazz,grunge", "^title:~so"], {"Blue in Green", "Smells Like Teen Spirit", "Come as You Are"}),
    (["missing:features"], {"silence"}),  # the silent file has no tags: its title is its file name
    (["missing:file"], {"Gone Track"}),
    (["missing:genre"], {"silence", "Gone Track"}),
    (["failed:analyze"], {"silence"}),
    (["missing:year"], {"silence", "Gone Track"}),
    (["source:claude", "genre:electronic"], {"Das Model", "Die Roboter"}),
    (["source:claude", "^genre:electronic"], {"Fog Horn Theory"}),
    (["source:file", "genre:electronic"], {"Around the World", "Da Funk", "Sodium Lights"}),
])
def test_queries(built, terms, expected):
    _, db = built
    result = ls(db, *terms, "--format", "{title}")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.splitlines()) == expected


@pytest.mark.slow
def test_missing_genre_finds_the_tracks_without(built):
    _, db = built
    with sqlite3.connect(db) as conn:
        without = {r[0] for r in conn.execute(
            "SELECT path FROM tracks WHERE id NOT IN (SELECT track_id FROM track_genres)")}
    assert without  # the silent file and the copy have no genres from the replay cache
    assert set(ls(db, "missing:genre", "--paths").stdout.splitlines()) == without


@pytest.mark.slow
def test_sort_limit_and_format(built):
    _, db = built
    result = ls(db, "genre:electronic", "--sort", "-bpm", "--limit", "3",
                "--format", "{artist} - {title} [{bpm:.0f} {camelot}]")
    assert result.stdout.splitlines() == ["Kraftwerk - Das Model [125 5A]", "Daft Punk - Around the World [121 8A]",
                                          "Kraftwerk - Die Roboter [116 8B]"]
    by_key = ls(db, "--sort", "camelot,title", "--format", "{camelot}", "missing:features", ",", "^missing:features")
    codes = [c for c in by_key.stdout.splitlines() if c != "-"]
    assert codes == sorted(codes, key=lambda c: (int(c[:-1]), c[-1]))


@pytest.mark.slow
def test_json_csv_and_paths(built):
    library, db = built
    data = json.loads(ls(db, "genre:jazz", "--json").stdout)
    assert [d["title"] for d in data] == ["So What", "Blue in Green"]
    assert data[0]["genres"][-1] == "jazz" and data[0]["camelot"] and data[0]["bpm"] > 0
    assert json.loads(ls(db, "genre:polka", "--json").stdout) == []
    rows = list(csv.DictReader(io.StringIO(ls(db, "artist:nirvana", "--csv").stdout)))
    assert [r["title"] for r in rows] == ["Smells Like Teen Spirit", "Come as You Are"]
    assert rows[0]["genres"] == "grunge; alternative rock; rock"
    paths = ls(db, "artist:nirvana", "--paths").stdout.splitlines()
    assert paths == [str(library / "Nirvana" / "Nevermind" / "01 Smells Like Teen Spirit.ogg"),
                     str(library / "Nirvana" / "Nevermind" / "02 Come as You Are.mp3")]


@pytest.mark.slow
def test_albums_and_artists(built):
    _, db = built
    albums = ls(db, "--albums", "--json")
    data = json.loads(albums.stdout)
    kind = next(a for a in data if a["album"] == "Kind of Blue")
    assert kind["tracks"] == 2 and kind["year"] == 1959 and kind["genre"] in ("modal jazz", "cool jazz")
    artists = ls(db, "--artists", "genre:electronic", "--format", "{artist}: {tracks}")
    assert artists.stdout.splitlines() == ["Daft Punk: 2", "Kraftwerk: 2", "Lumen Drift: 1"]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["bmp:120"], "error: bad query term 'bmp:120': unknown field 'bmp' (did you mean 'bpm'?)"),
    (["bpm:fast"], "error: bad query term 'bpm:fast': bpm needs a number or a range like 120..130"),
    (["genre:jaz"], "error: bad query term 'genre:jaz': not a genre of the vocabulary (did you mean 'jazz'?)"),
    (["key:Q"], "error: bad query term 'key:Q': 'Q' is not a key"),
    (["--sort", "bmp"], "error: cannot sort by 'bmp' (did you mean 'bpm'?)"),
    (["--format", "{artst}"], "error: unknown field {artst} in --format"),
    (["--json", "--csv"], "error: choose one of --json, --csv"),
    (["--albums", "--paths"], "error: --paths lists tracks"),
])
def test_bad_input_is_one_line_and_exit_2(built, args, message):
    _, db = built
    result = ls(db, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_no_database_and_not_a_database(tmp_path):
    result = ls(tmp_path / "none.db")
    assert result.returncode == 2 and "no database here yet" in result.stderr
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite at all " * 100)
    result = ls(junk)
    assert result.returncode == 2 and "junk.db" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_reader_that_stops_early_ends_quietly(built):
    _, db = built
    proc = subprocess.run(f"{sys.executable} -m enrich ls --db '{db}' | head -1", shell=True, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert proc.stdout.count("\n") == 1 and "Traceback" not in proc.stderr and "Broken" not in proc.stderr


@pytest.mark.slow
def test_stats(built):
    _, db = built
    result = run_enrich("stats", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tracks"]["tracks"] == 14 and data["tracks"]["missing_files"] == 1
    assert data["genres"]["tracks_with_genres"] == 12
    assert set(data["genres"]["tracks_by_source"]) >= {"lastfm", "claude"}
    assert data["features"] == {"tracks_with_features": 13, "by_version": {str(VERSION): 13}}  # the gone file kept its
    assert data["failures"]["analyze"] == [{"reason": "only 0.03 s of audio decoded; at least 0.1 s needed",
                                            "count": 1}]
    assert data["top_genres"][0] == {"genre": "electronic", "tracks": 5, "first": 0}
    assert {"tag": "seen live", "reason": "not a genre (habit)"}.items() <= data["tags"]["dropped"][1].items() or \
        any(d["tag"] == "seen live" for d in data["tags"]["dropped"])
    assert any(u["tag"] == "dance" and u["count"] >= 2 for u in data["tags"]["unmapped"])
    runs = {r["command"]: r for r in data["last_runs"]}
    assert set(runs) == {"scan", "genres", "analyze"}
    assert runs["analyze"]["status"] == "done" and runs["analyze"]["counts"]["failed"] == 1
    text = run_enrich("stats", "--db", str(db)).stdout
    assert "tracks     14 (1 files missing" in text
    assert "tags not in the vocabulary" in text and "  dance" in text
    assert "  analyze    run " in text


@pytest.mark.slow
def test_export_formats(built, tmp_path):
    _, db = built
    out = tmp_path / "all.csv"
    done = run_enrich("export", "--db", str(db), "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported 14 tracks" in done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 14 and {"path", "bpm", "camelot", "loudness", "genre_scores", "file_genres"} <= set(rows[0])
    lines = run_enrich("export", "--db", str(db), "genre:jazz").stdout.splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 2 and first["title"] == "So What" and first["genre_scores"]["modal jazz"] > 0
    tags = list(csv.DictReader(io.StringIO(run_enrich("export", "--db", str(db), "--format", "tags",
                                                      "artist:~daft").stdout)))
    assert tags[0]["GENRE"] == "french house;house;electronic" and tags[0]["INITIALKEY"] == "Am"
    assert tags[0]["BPM"] == "121"
    bad = run_enrich("export", "--db", str(db), "--out", str(tmp_path))
    assert bad.returncode == 2 and "is a folder" in bad.stderr
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.slow
def test_config_shows_origins_and_paths(built, tmp_path):
    _, db = built
    user = tmp_path / "c.toml"
    user.write_text("[genres]\ntop_n = 4\n[sources.lastfm]\napi_key = 'secret-value'\n")
    result = run_enrich("config", "--db", str(db), "--config", str(user), "--json",
                        env={"ENRICH_CACHE_DIR": str(tmp_path / "c")})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    settings = {s["key"]: s for s in data["settings"]}
    assert settings["genres.top_n"] == {"key": "genres.top_n", "value": 4, "from": str(user)}
    assert settings["paths.db"]["from"] == "command line"
    assert settings["paths.cache_dir"]["from"] == "$ENRICH_CACHE_DIR"
    assert settings["genres.threshold"]["from"] == "default"
    assert settings["sources.lastfm.api_key"]["value"] == "(set)"
    assert "secret-value" not in result.stdout
    assert data["paths"]["database"] == str(db) and data["paths"]["config_file"] == str(user)
    assert data["paths"]["vocabulary"].endswith("genres")


@pytest.mark.slow
def test_version_did_you_mean_and_examples_in_every_help():
    assert run_enrich("-V").stdout.strip() == "enrich, version 0.1.0"
    typo = run_enrich("stast")
    assert typo.returncode == 2 and "Did you mean 'stats'?" in typo.stderr
    from enrich.cli import COMMANDS
    for name in COMMANDS:
        text = run_enrich(name, "--help").stdout
        assert "Example" in text, f"`enrich {name} --help` shows no example"


def test_python_api(built):
    _, db = built
    lib = Library(db=db)
    jazz = list(lib.query("genre:jazz bpm:50..200", sort=["-bpm"]))
    assert [t.title for t in jazz] == ["So What", "Blue in Green"]
    assert jazz[0].genre == "modal jazz" and jazz[0].key and jazz[0].loudness < 0
    assert lib.track("Miles Davis - So What").id == jazz[0].id
    assert lib.stats().tracks["tracks"] == 14
    assert [a.artist for a in lib.artists("artist:~nirv")] == ["Nirvana"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("the report test needs Debian's chromium (`apt-get install chromium`; .ci/run installs it)")
    return found


@pytest.mark.slow
def test_report_renders_in_a_real_browser(built, tmp_path):
    _, db = built
    out = tmp_path / "report.html"
    made = run_enrich("report", "--db", str(db), "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "12 of 13 analysed tracks on the map" in made.stdout or "13 of 13" in made.stdout
    from plotly.offline import get_plotlyjs

    page = out.read_text(encoding="utf-8")
    inlined = get_plotlyjs().replace("</script", "<\\/script")
    assert inlined in page
    ours = page.replace(inlined, "")  # self-contained: nothing outside the inlined plotly.js loads anything
    assert "<script src" not in ours and "<link" not in ours and "http" not in ours
    dom = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=240, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-drawn="8/8"' in html, html[-3000:]
    assert '<div id="errors"></div>' in html
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    for name in ("genres", "top-genres", "bpm", "keys", "loudness", "map", "coverage", "runs"):
        section = html.split(f'<section class="plot" id="{name}"', 1)[1][:200]
        points = int(section.split('data-points="', 1)[1].split('"', 1)[0])
        assert points > 0, f"the {name} plot has no data"
    assert "Every one of the 13 tracks with features is shown." in html or "of the 13 tracks" in html
