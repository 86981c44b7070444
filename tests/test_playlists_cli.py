"""`enrich playlists` as a user runs it: a real process over a real database and real files."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_enrich
from tests.synthetic_library import build_library


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    db = root / "library.db"
    info = build_library(db, 1500, clusters=5, seed=3, files_dir=root / "Music", no_features=0.05,
                         no_genres=0.05, neither=0.02, missing=0.01)
    # Two rows that are the same "artist - title" (e.g. the album and a compilation).
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO tracks (path, size, mtime_ns, duration, artist, title, scanned_at)"
                 " SELECT path || '.copy.flac', size, mtime_ns, duration, artist, title, 0 FROM tracks WHERE id = 1")
    conn.commit()
    conn.close()
    return root, db, info


def seed_of(info, cluster: int) -> str:
    i = next(i for i in range(len(info.cluster)) if info.cluster[i] == cluster and info.has_features[i]
             and info.has_genres[i] and "(" not in info.titles[i] and i > 0)
    return f"{info.artists[i]} - {info.titles[i]}"


@pytest.mark.slow
def test_dry_run_prints_the_playlist_and_writes_nothing(library, tmp_path):
    _root, db, info = library
    out = tmp_path / "lists"
    result = run_enrich("playlists", "--db", str(db), "--seed", seed_of(info, 0), "--length", "12",
                        "--out", str(out), "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Like ") and "(12 tracks" in lines[0]
    assert "SCORE" in lines[1] and "BPM" in lines[1] and "KEY" in lines[1]
    assert "[seed]" in lines[2]
    assert sum("sound " in line for line in lines) >= 10
    assert "dry run: nothing written" in result.stdout
    assert not out.exists()


@pytest.mark.slow
def test_json_gives_the_same_as_data(library):
    _root, db, info = library
    result = run_enrich("playlists", "--db", str(db), "--seed", seed_of(info, 1), "--length", "10",
                        "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [playlist] = data["playlists"]
    assert playlist["count"] == 10 and playlist["file"] is None
    first, second = playlist["tracks"][:2]
    assert first["why"] == "seed"
    assert {"score", "tempo", "key", "energy", "why", "path", "duration"} <= set(second)
    assert second["key"][-1] in "AB" and second["tempo"] > 0
    assert data["library"]["skipped_no_features_no_genres"] > 0
    assert data["timings_ms"]["score_ms"] < 1000


@pytest.mark.slow
def test_writes_m3u8_with_relative_paths(library, tmp_path):
    _root, db, info = library
    out = tmp_path / "lists"
    result = run_enrich("playlists", "--db", str(db), "--seed", seed_of(info, 2), "--minutes", "30",
                        "--out", str(out), "--name", "Night/Drive: mix?")
    assert result.returncode == 0, result.stderr
    [file] = list(out.iterdir())
    assert file.name == "Night Drive mix.m3u8"
    lines = file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    extinf = [line for line in lines if line.startswith("#EXTINF:")]
    paths = [line for line in lines if not line.startswith("#")]
    assert len(extinf) == len(paths) >= 5
    total = 0
    for info_line, rel in zip(extinf, paths, strict=False):
        seconds, label = info_line[len("#EXTINF:"):].split(",", 1)
        total += int(seconds)
        assert " - " in label
        assert not os.path.isabs(rel)
        assert (out / rel).resolve().is_file()
    assert 30 * 60 <= total <= 30 * 60 + 1500


@pytest.mark.slow
def test_auto_writes_distinct_named_playlists(library, tmp_path):
    _root, db, _info = library
    result = run_enrich("playlists", "--db", str(db), "--auto", "4", "--length", "8", "--out", str(tmp_path),
                        "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    names = [p["name"] for p in data["playlists"]]
    assert len(names) == 4 and len(set(names)) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p["file"]).name for p in data["playlists"])
    paths = [t["path"] for p in data["playlists"] for t in p["tracks"]]
    assert len(paths) == len(set(paths))


@pytest.mark.slow
def test_genre_and_direction(library):
    _root, db, _info = library
    result = run_enrich("playlists", "--db", str(db), "--genre", "Electronic", "--direction", "energy-up",
                        "--length", "15", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    [playlist] = json.loads(result.stdout)["playlists"]
    assert playlist["kind"] == "genre" and playlist["count"] == 15
    energies = [t["energy"] for t in playlist["tracks"] if t["energy"] is not None]
    rising = sum(b >= a for a, b in itertools.pairwise(energies))
    assert rising >= 0.7 * (len(energies) - 1)


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["--seed", "Nobody Known - Nothing"], "matches no track"),
    (["--seed", "Deep House Artist 1 - Song 99999"], "close matches: Deep House Artist 1 - "),
    (["--seed", "/no/such/file.flac"], "neither a file nor a track"),
    (["--genre", "technoo"], "close: techno"),
    (["--genre", "not a genre at all"], "neither in the genre tree nor in the library"),
    (["--length", "5", "--minutes", "5", "--seed", "x"], "not both"),
    (["--length", "5"], "give one of --seed"),
    (["--seed", "a", "--genre", "rock"], "give one of --seed"),
    (["--auto", "0"], "Invalid value"),
    (["--auto", "3", "--name", "Mine"], "--name names one playlist"),
    (["--seed", "a", "--to", "b", "--seed", "c"], "exactly one --seed"),
])
def test_bad_input_is_one_clear_line_and_exit_2(library, args, message):
    _root, db, _info = library
    result = run_enrich("playlists", "--db", str(db), "--dry-run", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_ambiguous_seed_lists_the_candidates(library):
    _root, db, info = library
    name = f"{info.artists[0]} - {info.titles[0]}"
    result = run_enrich("playlists", "--db", str(db), "--seed", name, "--dry-run")
    assert result.returncode == 2
    assert "ambiguous: 2 tracks" in result.stderr and ".copy.flac" in result.stderr and "give the path" in result.stderr


@pytest.mark.slow
def test_no_database_and_not_a_database(tmp_path):
    result = run_enrich("playlists", "--db", str(tmp_path / "none.db"), "--auto", "2", "--dry-run")
    assert result.returncode == 2 and "run `enrich scan` first" in result.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = run_enrich("playlists", "--db", str(junk), "--auto", "2", "--dry-run")
    assert result.returncode == 2 and "not an SQLite database" in result.stderr


@pytest.mark.slow
def test_out_is_a_file(library, tmp_path):
    _root, db, info = library
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_enrich("playlists", "--db", str(db), "--seed", seed_of(info, 0), "--out", str(blocker / "sub"))
    assert result.returncode == 2 and "cannot write the playlist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_database_without_features_or_genres(tmp_path):
    db = tmp_path / "bare.db"
    build_library(db, 50, seed=1, neither=1.0)
    result = run_enrich("playlists", "--db", str(db), "--auto", "2", "--dry-run")
    assert result.returncode == 2 and "run `enrich analyze` or `enrich genres`" in result.stderr


@pytest.mark.slow
def test_the_command_does_not_import_the_heavy_stack(library):
    _root, db, info = library
    probe = (
        "import sys\n"
        "from enrich.cli import main\n"
        f"sys.argv = ['enrich', 'playlists', '--db', {str(db)!r}, '--seed', {seed_of(info, 0)!r}, '--dry-run']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'librosa', 'numba', 'scipy', 'aiohttp',"
        " 'soundfile', 'av', 'mutagen', 'sklearn'})\n"
        "print('HEAVY', code, heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "HEAVY 0 []" in result.stderr, result.stderr


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_reaches_the_playlist_as_its_bytes(tmp_path):
    db = tmp_path / "lib.db"
    info = build_library(db, 200, clusters=2, seed=5, files_dir=tmp_path / "Music")
    raw = os.fsencode(str(tmp_path / "Music")) + b"/caf\xe9 latin-1.flac"
    Path(os.fsdecode(raw)).touch()
    conn = sqlite3.connect(db)
    # A twin of track 1 (same sound and genres) under the Latin-1 name, as the scan stores it; 10 s
    # longer, so it is another song that sounds alike, not a copy of the seed (which may not join).
    conn.execute("INSERT INTO tracks (id, path, path_bytes, size, mtime_ns, duration, artist, title, scanned_at)"
                 " SELECT 1000, ?, ?, size, mtime_ns, duration + 10, 'Twin Artist', 'Twin', 0 FROM tracks WHERE id = 1",
                 (raw.decode("utf-8", "backslashreplace"), raw))
    columns = "version, analyzed_at, file_size, file_mtime_ns, tempo, key_pc, mode, camelot, loudness, energy, vector"
    conn.execute(f"INSERT INTO features (track_id, {columns}) SELECT 1000, {columns} FROM features WHERE track_id = 1")
    conn.execute("INSERT INTO track_genres (track_id, rank, genre, score, level)"
                 " SELECT 1000, rank, genre, score, level FROM track_genres WHERE track_id = 1")
    conn.commit()
    conn.close()
    out = tmp_path / "lists"
    result = run_enrich("playlists", "--db", str(db), "--seed", info.paths[0], "--length", "5", "--out", str(out),
                        "--json")
    assert result.returncode == 0, result.stderr
    [playlist] = json.loads(result.stdout)["playlists"]
    assert "Twin Artist" in [t["artist"] for t in playlist["tracks"]]
    assert any(t["path"].endswith("caf\\xe9 latin-1.flac") for t in playlist["tracks"])  # readable in JSON
    data = Path(playlist["file"]).read_bytes()
    assert b"Music/caf\xe9 latin-1.flac" in data  # the real name in the playlist


@pytest.mark.slow
@pytest.mark.parametrize("setting, message", [
    ("weight_sound = -1.0", "[playlists] weight_sound = -1.0 is not allowed"),
    ("genre_threshold = 2.0", "[playlists] genre_threshold = 2.0 is not allowed"),
    ("length = 0", "[playlists] length = 0 is not allowed"),
    ("max_per_artist = \"three\"", "'playlists.max_per_artist'"),
])
def test_bad_settings_name_the_key(library, tmp_path, setting, message):
    _root, db, _info = library
    config = tmp_path / "config.toml"
    config.write_text(f"[playlists]\n{setting}\n")
    result = run_enrich("playlists", "--db", str(db), "--config", str(config), "--auto", "2", "--dry-run")
    assert result.returncode == 2 and message in result.stderr, result.stderr


@pytest.mark.slow
def test_a_missing_seed_file_is_refused(library):
    _root, db, info = library
    gone = next(i for i, p in enumerate(info.paths) if not Path(p).exists() and info.has_features[i])
    result = run_enrich("playlists", "--db", str(db), "--seed", info.paths[gone], "--dry-run")
    assert result.returncode == 2 and "the file is missing" in result.stderr
