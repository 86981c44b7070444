"""Odd file names and hostile tags, as real files: a name that is not UTF-8, a newline in a
name, a megabyte title, untagged files named "Artist - Title", an APE header claiming a year."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import urllib.parse
from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, TIT2, TPE1

from enrich import config as config_mod
from enrich.library import names
from enrich.library.tags import read_file
from enrich.pipeline.genres import genres
from enrich.pipeline.scan import scan
from enrich.playlists import m3u8
from fixtures.generate import FORMATS, SR, build_ape, render, write_ape
from tests.conftest import run_enrich
from tests.fakes import Artist, FakeServices, World
from tests.synthetic_library import build_library

HUGE_TITLE = "Endless " + "la " * ((1 << 20) // 3)  # a megabyte of title
LATIN1_NAME = b"caf\xe9 \xe0 la cr\xe8me.mp3"  # written by an old Windows tagger: not UTF-8
NEWLINE_NAME = "02 - Roads\nlive.mp3"


# ---------------------------------------------------------------- names (pure)


@pytest.mark.parametrize("path, root, expected", [
    ("/m/Daft Punk/Homework/01. Da Funk.mp3", "/m", ("Daft Punk", "Da Funk", "Homework", 1)),
    ("/m/Daft Punk/Homework/01 Da Funk.mp3", "/m", ("Daft Punk", "Da Funk", "Homework", 1)),
    ("/m/Daft Punk/Homework/1) Da Funk.mp3", "/m", ("Daft Punk", "Da Funk", "Homework", 1)),
    ("/m/Various/Mix/07 - Kraftwerk - Die Roboter.flac", "/m", ("Kraftwerk", "Die Roboter", "Mix", 7)),
    ("/m/Loose/Nirvana - Come as You Are.mp3", "/m", ("Nirvana", "Come as You Are", None, None)),
    ("/m/Loose/Nirvana - 03 - Come as You Are.mp3", "/m", ("Nirvana", "Come as You Are", None, 3)),
    ("/m/Loose/Miles_Davis_-_So_What.mp3", "/m", ("Miles Davis", "So What", None, None)),
    ("/m/16 Horsepower - Haw.mp3", "/m", ("16 Horsepower", "Haw", None, None)),    # not track 16
    ("/m/99 Luftballons.mp3", "/m", (None, "99 Luftballons", None, None)),
    ("/m/2-4-6-8 Motorway.mp3", "/m", (None, "2-4-6-8 Motorway", None, None)),
    ("/m/Downloads/Some Song.mp3", "/m", (None, "Some Song", None, None)),         # one folder: no guess
    ("/m/Björk - Post/04 Hyperballad.ogg", "/m", ("Björk", "Hyperballad", "Post", 4)),
    ("/m/Portishead/1994 - Dummy/02 Sour Times.mp3", "/m", ("Portishead", "Sour Times", "Dummy", 2)),
    ("/m/Portishead/Dummy/02 Sour Times.mp3", "/m/Portishead/Dummy", (None, "Sour Times", None, 2)),
    ("/m/A/B/01.mp3", "/m", ("A", "01", "B", None)),
])
def test_names_from_the_file_name_and_folders(path, root, expected):
    got = names.from_path(path, root)
    assert (got.artist, got.title, got.album, got.track_number) == expected


def test_names_fill_only_what_the_tags_lack():
    path, root = "/m/Daft Punk/Homework/01. Da Funk.mp3", "/m"
    tagged = {"artist": "Daft Punk", "title": "Da Funk (Remix)", "album": None}
    assert names.fill_from_name(dict(tagged), path, root) == []          # tags complete: nothing taken
    title_only = {"artist": None, "title": "Da Funk (Remix)", "album": None, "track_number": 5}
    assert names.fill_from_name(title_only, path, root) == ["artist", "album"]
    assert title_only == {"artist": "Daft Punk", "title": "Da Funk (Remix)", "album": "Homework", "track_number": 5}
    artist_in_album_artist = {"album_artist": "DP", "title": None}
    assert names.fill_from_name(artist_in_album_artist, path, root) == ["title", "album", "track_number"]
    assert "artist" not in artist_in_album_artist


def test_a_latin1_file_name_reads_as_latin1():
    raw = os.fsdecode(b"/m/Bj\xf6rk/Post/04 Hyperballad \xe9t\xe9.mp3")
    got = names.from_path(raw, "/m")
    assert (got.artist, got.title, got.album) == ("Björk", "Hyperballad été", "Post")


# ---------------------------------------------------------------- real files


def mp3(path: Path, **frames: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FORMATS["mp3"].encode(render(tempo=100, key="C", mode="major", seconds=0.5, sr=SR), SR, path)
    tags = ID3()
    if "artist" in frames:
        tags.add(TPE1(encoding=3, text=frames["artist"]))
    if "title" in frames:
        tags.add(TIT2(encoding=3, text=frames["title"]))
    if frames:
        tags.save(path)
    return path


def bogus_ape(path: Path) -> Path:
    """A Monkey's Audio header (old version 3.97) whose frame count claims 472 days of audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    build_ape(render(tempo=100, key="C", mode="major", seconds=0.5, sr=SR), 44100, path)
    header = bytearray(path.read_bytes())
    struct.pack_into("<H", header, 4, 3970)
    struct.pack_into("<HI", header, 10, 2, 44100)                 # channels, sample rate
    struct.pack_into("<II", header, 24, 6_096_000, 0)            # total frames, final frame blocks
    path.write_bytes(bytes(header))
    write_ape(path, {"artist": "Portishead", "title": "Bogus Header"}, "")
    return path


@pytest.fixture
def odd_library(tmp_path):
    music = tmp_path / "music"
    made = {
        "untagged": mp3(music / "Portishead" / "Dummy" / "01. Glory Box.mp3"),
        "loose": mp3(music / "Loose" / "Björk - Hyperballad.mp3"),
        "nothing": mp3(music / "Loose" / "Untitled Thing.mp3"),
        "newline": mp3(music / "Portishead" / "Dummy" / NEWLINE_NAME, artist="Portishead", title="Roads"),
        "huge": mp3(music / "Odd" / "huge.mp3", artist="Mystery Act", title=HUGE_TITLE),
        "ape": bogus_ape(music / "Portishead" / "Dummy" / "04 Bogus.ape"),
    }
    latin1 = Path(os.fsdecode(os.fsencode(str(music / "Odd")) + b"/" + LATIN1_NAME))
    made["latin1"] = mp3(latin1, artist="The Knife", title="Heartbeats")
    return music, made


def world() -> World:
    w = World.sample()
    w.artists.append(Artist("Mystery Act", tags=[], genres=[], genre="polka"))
    w.index()
    return w


def rows_by_path(db: Path) -> dict[str, dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {r["path"]: dict(r) for r in conn.execute("SELECT * FROM tracks")}


def stored(rows: dict[str, dict], path: Path) -> dict:
    return rows[os.fsencode(str(path)).decode("utf-8", "backslashreplace")]


def test_a_header_claiming_a_year_of_audio_is_stored_as_unknown_with_a_note(tmp_path):
    path = bogus_ape(tmp_path / "oldape.ape")
    assert mutagen.File(path).info.length > 40_000_000                # what the header claims
    got = read_file(str(path))
    assert got["duration"] is None and got["channels"] == 2 and got["sample_rate"] == 44100
    assert any(n.startswith("duration 4.") and "stored as unknown" in n for n in got["notes"]), got["notes"]
    assert (got["artist"], got["title"]) == ("Portishead", "Bogus Header")


@pytest.mark.anyio
async def test_scan_stores_names_from_file_names_and_notes_what_it_refused(odd_library, tmp_path):
    music, made = odd_library
    db = tmp_path / "lib.db"
    report = await scan(config_mod.load(overrides={"paths.db": str(db)}), [music])
    assert report.read == len(made) and not report.failed and report.noted == 1
    rows = rows_by_path(db)
    untagged = stored(rows, made["untagged"])
    assert (untagged["artist"], untagged["album"], untagged["title"], untagged["track_number"]) == \
           ("Portishead", "Dummy", "Glory Box", 1)
    assert json.loads(untagged["from_filename"]) == ["artist", "title", "album", "track_number"]
    loose = stored(rows, made["loose"])
    assert (loose["artist"], loose["title"], json.loads(loose["from_filename"])) == \
           ("Björk", "Hyperballad", ["artist", "title"])
    nothing = stored(rows, made["nothing"])
    assert (nothing["artist"], nothing["title"]) == (None, "Untitled Thing")
    tagged = stored(rows, made["latin1"])
    assert tagged["from_filename"] is None and tagged["path_bytes"] == os.fsencode(str(made["latin1"]))
    ape = stored(rows, made["ape"])
    assert ape["duration"] is None and "duration" in json.loads(ape["read_notes"])[0]
    assert stored(rows, made["huge"])["read_notes"] is None


@pytest.mark.anyio
async def test_genres_over_odd_names_and_a_megabyte_title(odd_library, tmp_path):
    """Tags are written through the raw name; the huge title costs a normal request;
    an untagged file is asked about by the names in its file name; one with no artist is not sent to Claude."""
    music, made = odd_library
    async with FakeServices(world()) as fakes:
        (tmp_path / "enrich.toml").write_text(fakes.config_toml())
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache"), "ENRICH_DB": str(tmp_path / "lib.db"),
               "HOME": str(tmp_path)}
        config = config_mod.load(tmp_path / "enrich.toml", env=env)
        report = await genres(config, [music], tags=True)
        assert report.failed == [] and report.failed_count == 0, report.failed
        # Last.fm was asked about the huge title, cut to a size it accepts (a megabyte URL is a 400)
        lastfm_paths = fakes.service("lastfm").counters.paths
        assert any("Endless" in urllib.parse.unquote(p) for p in lastfm_paths)
        assert max(len(p) for p in lastfm_paths) < 4000
        # Claude: one request (Mystery Act); the untitled file without an artist is not paid for
        assert fakes.requests("claude") == 1
        assert report.claude["input_tokens"] < 20_000, report.claude
        rows = rows_by_path(config.paths.db)
        with sqlite3.connect(config.paths.db) as db:
            classified = {t for (t,) in db.execute(
                "SELECT t.path FROM genre_state s JOIN tracks t ON t.id = s.track_id WHERE s.classifier IS NOT NULL")}
            found = {p: g for p, g in db.execute(
                "SELECT t.path, group_concat(g.genre) FROM track_genres g JOIN tracks t ON t.id = g.track_id"
                " GROUP BY t.path")}
        assert classified == {str(made["huge"])}
        assert "trip hop" in found[str(made["untagged"])]           # asked as Portishead - Glory Box
        # --write-tags reached the file with the Latin-1 name, and the one with a newline
        latin1_key = stored(rows, made["latin1"])["path"]
        assert latin1_key in found
        written = mutagen.File(made["latin1"])
        assert set(found[latin1_key].split(",")) == set(written["TCON"].genres)
        assert list(mutagen.File(made["newline"])["TCON"].genres)
        assert report.tags_written >= 4


# ---------------------------------------------------------------- playlists


def player_locations(playlist: Path) -> list[Path]:
    """The files a player opens from an M3U8: each line that is not a comment, relative to the
    playlist, or a file:// URI decoded to the name's bytes (as VLC and mpv do)."""
    out = []
    for line in playlist.read_bytes().split(b"\n"):
        if not line or line.startswith(b"#"):
            continue
        text = line.decode("utf-8", "surrogateescape")
        if text.startswith("file://"):
            out.append(Path(os.fsdecode(urllib.parse.unquote_to_bytes(urllib.parse.urlsplit(text).path))))
        else:
            out.append(playlist.parent / text)
    return out


def test_a_newline_in_a_name_does_not_split_its_entry(tmp_path):
    music = tmp_path / "Music"
    files = [mp3(music / "a.mp3"), mp3(music / NEWLINE_NAME), mp3(music / "b\r.mp3"), mp3(music / "c d.mp3")]
    entries = [m3u8.Entry(str(f), 1.0, "", "") for f in files]
    out = m3u8.write(entries, tmp_path / "lists", "Mix")
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "#EXTM3U" and lines[-1] == ""
    assert len(lines) == 2 + 2 * len(files) + 1                    # header, name, 2 per entry, final newline
    assert all(line.startswith("#EXTINF:") for line in lines[2:-1:2])
    relative = [out.parent / os.path.relpath(f, out.parent) for f in files]
    assert player_locations(out) == [relative[0], files[1], files[2], relative[3]]
    assert all(p.exists() for p in player_locations(out))
    assert "../Music/a.mp3" in lines                                 # ordinary names stay relative


@pytest.mark.slow
def test_untagged_tracks_are_different_songs_in_a_playlist(tmp_path):
    """Tracks with no artist and no title (a database scanned before names came from file
    names) are each their own song: all of them may join, not just the first. (They sound
    like the seed but are 10, 20 and 30 s longer: not copies of its audio, which may not join.)"""
    db = tmp_path / "lib.db"
    info = build_library(db, 200, clusters=2, seed=5, files_dir=tmp_path / "Music")
    conn = sqlite3.connect(db)
    columns = "version, analyzed_at, file_size, file_mtime_ns, tempo, key_pc, mode, camelot, loudness, energy, vector"
    twins = []
    for n, name in enumerate(["one.flac", "two.flac", "line\nbreak.flac"]):
        path = tmp_path / "Music" / name
        path.touch()
        twins.append(path)
        conn.execute("INSERT INTO tracks (id, path, size, mtime_ns, duration, artist, title, scanned_at)"
                     " SELECT ?, ?, size, mtime_ns, duration + ?, NULL, NULL, 0 FROM tracks WHERE id = 1",
                     (1000 + n, str(path), 10.0 * (n + 1)))
        conn.execute(f"INSERT INTO features (track_id, {columns}) SELECT ?, {columns} FROM features WHERE track_id = 1",
                     (1000 + n,))
        conn.execute("INSERT INTO track_genres (track_id, rank, genre, score, level)"
                     " SELECT ?, rank, genre, score, level FROM track_genres WHERE track_id = 1", (1000 + n,))
    conn.commit()
    conn.close()
    result = run_enrich("playlists", "--db", str(db), "--seed", info.paths[0], "--length", "6",
                        "--out", str(tmp_path / "lists"), "--json")
    assert result.returncode == 0, result.stderr
    [playlist] = json.loads(result.stdout)["playlists"]
    paths = {t["path"] for t in playlist["tracks"]}
    assert {str(p) for p in twins} <= paths
    opened = player_locations(Path(playlist["file"]))
    assert len(opened) == 6 and all(p.exists() for p in opened)


@pytest.mark.anyio
async def test_a_database_scanned_before_reads_its_untagged_files_again(odd_library, tmp_path):
    music, made = odd_library
    db = tmp_path / "lib.db"
    config = config_mod.load(overrides={"paths.db": str(db)})
    await scan(config, [music])
    with sqlite3.connect(db) as conn:  # as the scan before migration 0005 left it
        conn.execute("UPDATE tracks SET artist = NULL, album = NULL, title = NULL, track_number = NULL"
                     " WHERE from_filename IS NOT NULL")
        conn.execute("UPDATE tracks SET duration = 40780800 WHERE read_notes IS NOT NULL")
        conn.execute("ALTER TABLE tracks DROP COLUMN from_filename")
        conn.execute("ALTER TABLE tracks DROP COLUMN read_notes")
        conn.execute("DELETE FROM schema_migrations WHERE version = 5")
    report = await scan(config, [music])
    assert report.changed == 4 and report.unchanged == len(made) - 4
    rows = rows_by_path(db)
    assert stored(rows, made["untagged"])["title"] == "Glory Box"
    assert stored(rows, made["ape"])["duration"] is None
