"""`enrich duplicates` end to end: real audio files, encoded several ways, scanned and analysed into a real database."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import lfilter

from enrich import Library
from enrich.errors import PlaylistError
from fixtures.generate import FORMATS, WRITERS, mb_ids
from fixtures.synth import render
from tests.conftest import run_enrich

SR = 44100
SECONDS = 20.0
SO_WHAT = mb_ids(2)["mb_track"]
AROUND = mb_ids(1)["mb_track"]


def put(root: Path, rel: str, fmt: str, samples: np.ndarray, tags: dict) -> Path:
    """``samples`` encoded as ``fmt`` at ``root/rel`` (extension added), with ``tags`` written the format's way."""
    spec = FORMATS[fmt]
    path = root / f"{rel}.{spec.ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    spec.encode(samples, SR, path)
    if tags:
        WRITERS[spec.family](path, tags, "")
    return path


def remastered(samples: np.ndarray) -> np.ndarray:
    """Quieter and a little brighter: what a light remaster does to a song's sound."""
    return np.asarray(lfilter([1.0, 0.15], [1.0], 0.75 * samples), dtype=np.float32)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Two songs with copies of every kind, a live take and an unrelated song, all the same length."""
    root = tmp_path_factory.mktemp("dups")
    music, db = root / "music", root / "lib.db"
    so_what = render(tempo=136, key="D", mode="minor", seconds=SECONDS, sr=SR, seed=1)
    around = render(tempo=121, key="A", mode="minor", seconds=SECONDS, sr=SR, seed=2)
    live = render(tempo=126, key="A", mode="minor", seconds=SECONDS, sr=SR, seed=3)
    live_too = render(tempo=127, key="A", mode="minor", seconds=SECONDS + 6, sr=SR, seed=5)
    other = render(tempo=100, key="E", mode="minor", seconds=SECONDS, sr=SR, seed=4)
    # Another master of So What, longer, on a compilation tagged by its track number: only the id ties it.
    so_what_elsewhere = render(tempo=136, key="D", mode="minor", seconds=SECONDS + 9, sr=SR, seed=6)
    md = {"artist": "Miles Davis", "album": "Kind of Blue", "title": "So What", "year": 1959, "track": 1}
    dp = {"artist": "Daft Punk", "album": "Homework", "title": "Around the World", "year": 1997, "track": 1}
    files = {
        "so_what": put(music, "Miles Davis/Kind of Blue/01 So What", "flac", so_what, md | {"mb_track": SO_WHAT}),
        "so_what_mp3": put(music, "Copies/So What", "mp3", so_what, {"artist": "Miles Davis", "title": "So What"}),
        "so_what_compilation": put(music, "Compilations/Jazz Gold/03 Track 03", "mp3", so_what_elsewhere,
                                   {"artist": "Various Artists", "title": "Track 03", "mb_track": SO_WHAT.upper()}),
        # No tags at all: artist and title come from the file name.
        "so_what_untagged": put(music, "Downloads/Miles Davis - So What", "ogg", so_what, {}),
        "around": put(music, "Daft Punk/Homework/01 Around the World", "flac", around, dp | {"mb_track": AROUND}),
        "around_remaster": put(music, "Daft Punk/Homework (Remastered)/01 Around the World", "m4a",
                               remastered(around), dp | {"title": "Around the World (2011 Remaster)"}),
        # Another title and less than half the length: only the recording id says it is the same.
        "around_edit": put(music, "Singles/Around the World (Edit)", "mp3", around[: int(8 * SR)],
                           {"artist": "Daft Punk", "title": "Around the World (Short Edit)", "mb_track": AROUND}),
        "around_live": put(music, "Daft Punk/Alive/01 Around the World (Live)", "flac", live,
                           dp | {"album": "Alive 1997", "title": "Around the World (Live)"}),
        "around_live_album": put(music, "Daft Punk/Live at Wembley/01 Around the World", "flac", live_too,
                                 dp | {"album": "Live at Wembley"}),
        "other": put(music, "Nirvana/Nevermind/02 Come as You Are", "flac", other,
                     {"artist": "Nirvana", "title": "Come as You Are"}),
        # A copy whose name says nothing: only its audio ties it to the song.
        "other_copy": put(music, "Misc/track07", "mp3", other, {}),
    }
    lib = Library(db=db)
    lib.scan([music])
    report = lib.analyze([music], workers=1)
    assert report is not None
    return lib, db, {k: str(v) for k, v in files.items()}


def by_keeper(report) -> dict[str, dict]:
    return {g["keep"]["path"]: g for g in report.groups}


def test_copies_are_grouped_and_the_lossless_copy_is_kept(library):
    lib, _, f = library
    report = lib.duplicates()
    groups = by_keeper(report)
    assert set(groups) == {f["so_what"], f["around"], f["other"]}
    assert [o["path"] for o in groups[f["other"]]["others"]] == [f["other_copy"]]
    so_what = groups[f["so_what"]]
    assert {o["path"] for o in so_what["others"]} == {f["so_what_mp3"], f["so_what_untagged"], f["so_what_compilation"]}
    assert so_what["why"].startswith("lossless over lossy: flac (lossless")
    around = groups[f["around"]]
    assert {o["path"] for o in around["others"]} == {f["around_remaster"], f["around_edit"]}
    # Live takes are other recordings, whether the title or the album says so; the unrelated song is alone.
    grouped = {c["path"] for g in report.groups for c in [g["keep"], *g["others"]]}
    assert not grouped & {f["around_live"], f["around_live_album"]}
    assert sorted(report.others) == sorted([f["so_what_mp3"], f["so_what_untagged"], f["so_what_compilation"],
                                            f["around_remaster"], f["around_edit"], f["other_copy"]])


def test_each_copy_says_what_tied_it(library):
    lib, _, f = library
    copies = {c["path"]: c for g in lib.duplicates().groups for c in [g["keep"], *g["others"]]}
    assert "audio" in copies[f["so_what_mp3"]]["matched_by"] and "name" in copies[f["so_what_mp3"]]["matched_by"]
    # The untagged file matched by the name in its file name, and by its audio.
    untagged = copies[f["so_what_untagged"]]
    assert untagged["artist"] == "Miles Davis" and untagged["title"] == "So What"
    assert {"audio", "name"} <= set(untagged["matched_by"])
    assert copies[f["around_edit"]]["matched_by"] == ["recording"]
    assert copies[f["so_what_compilation"]]["matched_by"] == ["recording"]
    assert "name" in copies[f["around_remaster"]]["matched_by"]
    assert copies[f["other_copy"]]["matched_by"] == ["audio"] and copies[f["other_copy"]]["artist"] is None


@pytest.mark.parametrize("by, expected", [
    (["recording"], {("around", "around_edit"), ("so_what", "so_what_compilation")}),
    (["name"], {("so_what", "so_what_mp3", "so_what_untagged"), ("around", "around_remaster")}),
    # A light remaster keeps the sound within the tolerance; the short edit is another length.
    (["audio"], {("so_what", "so_what_mp3", "so_what_untagged"), ("around", "around_remaster"),
                  ("other", "other_copy")}),
])
def test_one_kind_of_evidence_at_a_time(library, by, expected):
    lib, _, f = library
    name_of = {v: k for k, v in f.items()}
    found = {tuple(sorted(name_of[c["path"]] for c in [g["keep"], *g["others"]])) for g in lib.duplicates(by).groups}
    assert found == expected


def test_a_playlist_never_holds_two_copies_of_one_song(library):
    """Every track may join (the library is smaller than the playlist), yet one copy of each song does."""
    lib, _, f = library
    made = lib.playlists(seeds=[f["so_what"]], length=20, dry_run=True)
    paths = [t.path for t in made.playlists[0].tracks]
    # Playlists count every version of a song as that song (a live take too): one of each.
    around = ("around", "around_remaster", "around_edit", "around_live", "around_live_album")
    so_what = ("so_what", "so_what_mp3", "so_what_untagged", "so_what_compilation")
    for song in (so_what, around, ("other", "other_copy")):
        assert len({f[k] for k in song} & set(paths)) == 1, (song, paths)
    # The copy that only its audio gives away, and the one only its MusicBrainz id does, were turned down as such.
    excluded = made.playlists[0].excluded
    assert excluded.get("a copy of a chosen track (same audio)") == 1, excluded
    assert excluded.get("another copy of a chosen recording (same MusicBrainz id)") == 1, excluded


@pytest.mark.parametrize("copy, evidence", [("other_copy", "audio"), ("so_what_compilation", "MusicBrainz id"),
                                            ("so_what_mp3", "name")])
def test_two_seeds_that_are_copies_of_one_song_are_refused(library, copy, evidence):
    lib, _, f = library
    first = "other" if copy == "other_copy" else "so_what"
    with pytest.raises(PlaylistError, match=f"are the same song \\(by {evidence}\\)"):
        lib.playlists(seeds=[f[first], f[copy]], length=5, dry_run=True)


def test_nothing_is_deleted_or_written(library):
    lib, db, f = library
    before = {p: Path(p).stat().st_mtime_ns for p in f.values()}
    db_before = Path(db).read_bytes()
    lib.duplicates()
    assert {p: Path(p).stat().st_mtime_ns for p in f.values()} == before
    assert Path(db).read_bytes() == db_before


@pytest.mark.slow
def test_cli_text_json_and_paths(library):
    _, db, f = library
    text = run_enrich("duplicates", "--db", str(db))
    assert text.returncode == 0, text.stderr
    assert "3 groups, 6 copies not kept, among 11 tracks" in text.stdout
    assert "keep    0:20  flac" in text.stdout and "why: lossless over lossy" in text.stdout
    as_json = run_enrich("duplicates", "--db", str(db), "--json")
    data = json.loads(as_json.stdout)
    assert data["copies_not_kept"] == 6 and len(data["groups"]) == 3
    paths = run_enrich("duplicates", "--db", str(db), "--paths")
    assert sorted(paths.stdout.splitlines()) == sorted(
        [f["so_what_mp3"], f["so_what_untagged"], f["so_what_compilation"], f["around_remaster"], f["around_edit"],
         f["other_copy"]])
    assert paths.stderr == ""


@pytest.mark.slow
def test_cli_bad_input_is_one_line_and_exit_2(library, tmp_path):
    _, db, _ = library
    nowhere = run_enrich("duplicates", "--db", str(tmp_path / "none.db"))
    assert nowhere.returncode == 2 and nowhere.stderr.count("\n") == 1 and "none.db" in nowhere.stderr
    bad_by = run_enrich("duplicates", "--db", str(db), "--by", "colour")
    assert bad_by.returncode == 2 and "colour" in bad_by.stderr
    settings = tmp_path / "config.toml"
    settings.write_text("[duplicates]\naudio_tolerance = -1.0\n")
    bad_setting = run_enrich("duplicates", "--db", str(db), "--config", str(settings))
    assert bad_setting.returncode == 2 and "audio_tolerance" in bad_setting.stderr
    assert "Traceback" not in nowhere.stderr + bad_by.stderr + bad_setting.stderr


def test_a_library_never_analysed_matches_by_names(tmp_path):
    music = tmp_path / "music"
    lib = Library(db=tmp_path / "lib.db")
    song = render(tempo=100, key="C", mode="major", seconds=2.0, sr=SR)
    put(music, "A/Band - Song", "flac", song, {})
    put(music, "B/Band - Song", "mp3", song, {})
    lib.scan([music])
    report = lib.duplicates()
    assert report.with_features == 0
    # Without features only the names (from the file names here) can tell: they do.
    assert len(report.groups) == 1 and report.groups[0]["keep"]["codec"] == "flac"
    assert report.groups[0]["others"][0]["matched_by"] == ["name"]
    # A copy whose file is gone (the scan marked it missing) is nobody's duplicate.
    (music / "B" / "Band - Song.mp3").unlink()
    lib.scan([music])
    assert lib.duplicates().groups == []
