"""Tag reading: every container of the generated library, the pure normalising parts, bad files."""

from __future__ import annotations

import json
import shutil

import pytest

from enrich.errors import FileError
from enrich.library import tags
from fixtures.generate import FORMATS, QUICKSTART, generate_library


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    dest = tmp_path_factory.mktemp("library")
    return dest, generate_library(dest, odd=True, seconds=1.0)


def test_library_covers_every_format_and_odd_case(library):
    _, manifest = library
    assert {e["format"] for e in manifest} == set(FORMATS)
    assert {e["style"] for e in manifest} >= {"id3v23", "id3v1", "latin1-utf8", None}


def test_every_generated_file_reads_back_as_written(library):
    dest, manifest = library
    wrong = {}
    for entry in manifest:
        got = tags.read_file(str(dest / entry["path"]))
        expected = {**entry["expected"], "tag_genres": json.dumps(entry["expected"]["tag_genres"], ensure_ascii=False),
                    "format": entry["container"], "codec": entry["codec"]}
        diff = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
        if diff:
            wrong[entry["path"]] = diff
        if entry["audio"]:
            assert got["duration"] == pytest.approx(entry["seconds"], abs=0.1), entry["path"]
            assert got["channels"] == 1 and got["sample_rate"] in (22050, 48000), entry["path"]
    assert not wrong


@pytest.mark.parametrize("name, artist, title", [
    ("odd/latin1 frames holding utf8.mp3", "Björk Müller", "Él Niño"),
    ("multi/vorbis two artists.ogg", "Ann Example; Bo Sample", "Duet"),
    ("multi/id3v24 two artists.mp3", "Cy Person; Di Someone", "Split Vocals"),
    ("日本のバンド/夜の街/01 東京.mp3", "日本のバンド", "東京"),
    ("odd/id3v1 only.mp3", "Old Tagger", "Version One"),
])
def test_odd_cases(library, name, artist, title):
    dest, _ = library
    got = tags.read_file(str(dest / name))
    assert (got["artist"], got["title"]) == (artist, title)


def test_untagged_file_has_properties_but_no_tags(library):
    dest, _ = library
    got = tags.read_file(str(dest / "untagged/no tags at all.mp3"))
    assert got["format"] == "MP3" and got["duration"] > 0.5
    assert got["artist"] is None and got["title"] is None and got["tag_genres"] == "[]"


@pytest.mark.parametrize("text, expected", [
    ("3/12", (3, 12)), ("03", (3, None)), ("7/", (7, None)), ("", (None, None)), (None, (None, None)),
    ("x/y", (None, None)), (" 4 / 9", (4, 9)),
])
def test_number_pair(text, expected):
    assert tags.number_pair(text) == expected


@pytest.mark.parametrize("text, year", [
    ("1997", 1997), ("1997-05-20", 1997), ("2001-01-01T10:00:00", 2001), ("97", None), ("", None),
    ("12345", None), ("0000", None), ("c. 1959", 1959),
])
def test_year(text, year):
    assert tags.to_year(text) == year


@pytest.mark.parametrize("text, bpm", [("121", 121.0), ("120,5", 120.5), ("0", None), ("fast", None), ("nan", None),
                                       ("-4", None), (None, None)])
def test_bpm(text, bpm):
    assert tags.to_bpm(text) == bpm


@pytest.mark.parametrize("values, genres", [
    (["Rock", "Pop"], ["Rock", "Pop"]),
    (["Rock; Pop", "Rock"], ["Rock", "Pop"]),
    (["Rock\x00Jazz"], ["Rock", "Jazz"]),
    (["  ", ""], []),
    (["Drum & Bass"], ["Drum & Bass"]),
])
def test_split_genres(values, genres):
    assert tags.split_genres(values) == genres


@pytest.mark.parametrize("text, repaired", [
    ("BjÃ¶rk", "Björk"),  # UTF-8 bytes shown as latin-1: repaired
    ("Björk", "Björk"),  # real latin-1: the re-decode fails, kept
    ("plain", "plain"),
    ("日本", "日本"),  # not latin-1 at all: kept
])
def test_repair_latin1(text, repaired):
    assert tags.repair_latin1(text) == repaired


def test_normalise_prefers_explicit_totals_and_joins_artists():
    row = tags.normalise({"artist": ["A", "B", "A"], "track": ["2/10"], "track_total": ["12"], "disc": ["1"],
                          "genre": ["Rock;Pop"], "date": ["1999-01-01"], "bpm": ["128"], "mb_track": ["x", "y"]})
    assert row["artist"] == "A; B"
    assert (row["track_number"], row["track_total"], row["disc_number"], row["disc_total"]) == (2, 12, 1, None)
    assert json.loads(row["tag_genres"]) == ["Rock", "Pop"]
    assert (row["year"], row["tag_bpm"], row["mb_track_id"]) == (1999, 128.0, "x")


@pytest.mark.parametrize("content, reason", [
    (b"this is a text file, not audio\n" * 10, "not readable as audio"),
    (b"\x00" * 4096, ""),  # zeros: mutagen either refuses or finds no format
])
def test_not_audio_is_a_file_error(tmp_path, content, reason):
    path = tmp_path / "fake.mp3"
    path.write_bytes(content)
    with pytest.raises(FileError) as err:
        tags.read_file(str(path))
    assert reason in err.value.reason and str(path) in str(err.value)


def test_truncated_flac_is_a_file_error(library, tmp_path):
    dest, _ = library
    source = dest / f"{QUICKSTART[2].path}.flac"
    cut = tmp_path / "cut.flac"
    cut.write_bytes(source.read_bytes()[:60])
    with pytest.raises(FileError):
        tags.read_file(str(cut))


def test_unknown_extension_content_is_not_recognised(tmp_path):
    path = tmp_path / "notes.xyz"
    path.write_text("hello")
    with pytest.raises(FileError, match="not a recognised audio format"):
        tags.read_file(str(path))


def test_copy_of_file_reads_the_same(library, tmp_path):
    dest, manifest = library
    source = dest / manifest[0]["path"]
    shutil.copyfile(source, tmp_path / "copy.mp3")
    assert tags.read_file(str(tmp_path / "copy.mp3")) == tags.read_file(str(source))
