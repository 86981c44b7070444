"""The playlists' snapshot: rebuilt when the library changes and only then, safe against a crash, and
the playlists it gives are the ones the database gives.

Real databases (the synthetic library), the real writer, real processes for the crash.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from enrich.config import load as load_config
from enrich.playlists import snapshot
from enrich.playlists.build import Request, make_playlists
from enrich.store import genres as genre_sql
from enrich.store import text_column
from enrich.store.db import open_db
from enrich.store.library_view import library_generation
from enrich.store.writer import Writer
from tests.conftest import REPO
from tests.synthetic_library import build_library


@pytest.fixture
def library(tmp_path):
    db = tmp_path / "library.db"
    info = build_library(db, 1200, clusters=5, seed=5, files_dir=tmp_path / "Music", no_features=0.05,
                         no_genres=0.05, neither=0.02, missing=0.01, tempo_alts=0.3)
    return db, info


def playlists(db: Path, request: Request) -> dict:
    config = load_config(env={}, overrides={"paths.db": str(db)})
    return asyncio.run(make_playlists(config, request))


def same_playlists(a: dict, b: dict) -> bool:
    keep = ("playlists", "library")
    return {k: a[k] for k in keep} == {k: b[k] for k in keep}


def seed_path(info, cluster: int) -> str:
    return next(p for i, p in enumerate(info.paths)
                if info.cluster[i] == cluster and info.has_features[i] and info.has_genres[i] and i > 3)


async def write(db: Path, ops) -> None:
    conn = await open_db(db)
    try:
        async with Writer(conn, flush_interval=0.01) as writer:
            await writer.put_group(ops)
    finally:
        await conn.close()


def test_the_writer_raises_the_generation_with_library_changes_only(library):
    db, _ = library
    before = library_generation(db)
    asyncio.run(write(db, [genre_sql.classification_op("some key", [("techno", 0.9)], 0.0)]))
    assert library_generation(db) == before  # a cached answer is not the library
    asyncio.run(write(db, genre_sql.result_ops(1, "fingerprint", [], [], None, 0.0)))  # track 1 loses its genres
    after = library_generation(db)
    library_id, count = before.split(".")
    assert after == f"{library_id}.{int(count) + 1}"


def test_writes_that_change_no_library_row_leave_the_generation(library):
    # A nightly analyze with nothing to do stores its feature set's row again, a rescan may mark
    # present what is present: neither changes what playlists read, so the snapshot stays current.
    from enrich.store import features, tracks

    db, info = library
    with sqlite3.connect(db) as conn:
        version, names = conn.execute("SELECT version, names FROM feature_sets ORDER BY version DESC").fetchone()
    before = library_generation(db)
    asyncio.run(write(db, [features.feature_set_op(version, json.loads(names)),
                           tracks.missing_op("/no/such/file.mp3")]))
    assert library_generation(db) == before
    asyncio.run(write(db, [tracks.missing_op(info.paths[7])]))  # a row that really changes
    assert library_generation(db).split(".")[1] == str(int(before.split(".")[1]) + 1)


def test_snapshot_is_rebuilt_after_a_change_and_not_otherwise(library):
    db, info = library
    request = Request(seeds=(seed_path(info, 0),), length=15, dry_run=True)
    first = playlists(db, request)
    assert first["library_from"] == "rebuilt"
    file = snapshot.snapshot_path(db)
    stamp = file.stat().st_mtime_ns, file.stat().st_ino
    second = playlists(db, request)
    assert second["library_from"] == "snapshot"
    assert (file.stat().st_mtime_ns, file.stat().st_ino) == stamp
    assert same_playlists(first, second)

    # A change through the writer: the next command rebuilds, and sees the change.
    row = info.paths.index(second["playlists"][0]["tracks"][1]["path"]) + 1
    asyncio.run(write(db, [("UPDATE tracks SET artist = 'Renamed Artist' WHERE id = ?", (row,))]))
    third = playlists(db, request)
    assert third["library_from"] == "rebuilt"
    assert (file.stat().st_mtime_ns, file.stat().st_ino) != stamp
    assert any(t["artist"] == "Renamed Artist" for t in third["playlists"][0]["tracks"])
    assert playlists(db, request)["library_from"] == "snapshot"


def test_a_snapshot_beside_a_replaced_database_is_not_used(library, tmp_path):
    db, info = library
    request = Request(seeds=(seed_path(info, 1),), length=10, dry_run=True)
    playlists(db, request)
    other = tmp_path / "other.db"
    build_library(other, 300, clusters=3, seed=9, files_dir=tmp_path / "Other")
    os.replace(other, db)  # same path, same generation number, another library
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    assert playlists(db, Request(genre="techno", length=5, dry_run=True))["library_from"] == "rebuilt"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_snapshot_is_ignored_and_rebuilt(library, damage):
    db, info = library
    request = Request(seeds=(seed_path(info, 2),), length=12, dry_run=True)
    good = playlists(db, request)
    file = snapshot.snapshot_path(db)
    data = file.read_bytes()
    file.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x00not a snapshot" * 100,
                      "empty": b""}[damage])
    again = playlists(db, request)
    assert again["library_from"] == "rebuilt" and same_playlists(good, again)
    assert playlists(db, request)["library_from"] == "snapshot"


CRASH = """
import asyncio, os, sys
from enrich.config import load as load_config
from enrich.playlists.build import Request, make_playlists

real_replace = os.replace
def crash(src, dst):
    if str(dst).endswith("-snapshot"):
        os._exit(9)  # dies with the new file written but not yet renamed into place
    real_replace(src, dst)
os.replace = crash
config = load_config(env={}, overrides={"paths.db": sys.argv[1]})
asyncio.run(make_playlists(config, Request(seeds=(sys.argv[2],), length=12, dry_run=True)))
"""


def test_a_crash_mid_rebuild_leaves_a_usable_state(library):
    db, info = library
    seed = seed_path(info, 3)
    request = Request(seeds=(seed,), length=12, dry_run=True)
    before = playlists(db, request)  # a current snapshot exists
    asyncio.run(write(db, [("UPDATE tracks SET title = 'Retitled' WHERE id = 7", ())]))
    proc = subprocess.run([sys.executable, "-c", CRASH, str(db), seed], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 9, proc.stderr[-2000:]
    leftovers = list(db.parent.glob(f"{db.name}-snapshot.tmp-*"))
    assert leftovers  # the crash happened mid-rebuild, with the new file written
    after = playlists(db, request)  # the old snapshot is stale: not used; the library is read and saved
    assert after["library_from"] == "rebuilt"
    assert same_playlists(after, playlists(db, request))
    assert not list(db.parent.glob(f"{db.name}-snapshot.tmp-*"))  # the dead process's file is tidied
    assert before["playlists"][0]["tracks"][0]["path"] == after["playlists"][0]["tracks"][0]["path"]


@pytest.mark.parametrize("request_", [
    Request(seeds=("SEED0",), length=20, dry_run=True),
    Request(seeds=("SEED0", "SEED1"), length=15, dry_run=True),
    Request(seeds=("SEED2",), to="SEED3", length=12, dry_run=True),
    Request(genre="techno", length=15, dry_run=True),
    Request(genre="electronic", minutes=40, direction="energy-up", dry_run=True),
    Request(auto=4, length=10, dry_run=True),
], ids=["seed", "two-seeds", "path", "genre", "parent-genre-minutes", "auto"])
def test_playlists_are_identical_with_and_without_the_snapshot(library, request_):
    db, info = library
    seeds = {f"SEED{c}": seed_path(info, c) for c in range(4)}
    request = Request(**{**request_.__dict__, "seeds": tuple(seeds[s] for s in request_.seeds),
                         "to": seeds.get(request_.to) if request_.to else None})
    from_db = playlists(db, request)
    assert from_db["library_from"] == "rebuilt"
    from_snapshot = playlists(db, request)
    assert from_snapshot["library_from"] == "snapshot"
    assert json.dumps(from_db["playlists"]) == json.dumps(from_snapshot["playlists"])
    assert from_db["library"] == from_snapshot["library"]


def test_seed_given_by_artist_and_title_resolves_from_the_snapshot(library):
    db, info = library
    i = next(i for i, p in enumerate(info.paths) if info.has_features[i] and "(" not in info.titles[i] and i > 5)
    request = Request(seeds=(f"{info.artists[i]} - {info.titles[i]}",), length=8, dry_run=True)
    a, b = playlists(db, request), playlists(db, request)
    assert (a["library_from"], b["library_from"]) == ("rebuilt", "snapshot")
    assert a["playlists"] == b["playlists"]
    assert b["playlists"][0]["tracks"][0]["path"] == info.paths[i]


def test_text_column_finds_rows_by_value_and_decodes_rows(tmp_path):
    texts = ["a", "", "ab", "bab", "b", "ä/ß", "ab"]
    view_blob, offsets = text_column.encode_texts(texts)
    file = tmp_path / "t"
    file.write_bytes(b"x" * 7 + view_blob.tobytes())
    import mmap
    with open(file, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    column = text_column.TextColumn(mm, 7, offsets)
    assert list(column) == texts and [column[i] for i in range(len(texts))] == texts and column[-1] == "ab"
    for value in texts:
        assert column.index(value) == texts.index(value)
    for absent in ("ba", "abb", "c", "x"):
        with pytest.raises(ValueError):
            column.index(absent)


def test_texts_read_whole_from_sqlite_pack_into_a_column_row_for_row():
    import sqlite3

    texts = ["Björk", "", "a\x00b", "x\x1fy", "日本語のタイトル", "comma, and 'quote'", "🎵", "a\u0301"]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
    conn.executemany("INSERT INTO t (x) VALUES (?)", [(t,) for t in texts])
    joined, lengths = conn.execute("SELECT group_concat(x, ''), group_concat(length(CAST(x AS BLOB))) FROM t").fetchone()
    column = text_column.pack_texts(joined, np.array(lengths.split(","), dtype=np.int64))
    assert column is not None and list(column) == texts and column[3] == "x\x1fy" and column.index("🎵") == 6
    assert text_column.encode_texts(column)[0].tobytes() == "".join(texts).encode()
    assert text_column.pack_texts(joined, np.array([1] * len(texts), dtype=np.int64)) is None  # do not add up
    empty = text_column.pack_texts(None, np.zeros(0, dtype=np.int64))  # no rows: group_concat gives NULL
    assert empty is not None and list(empty) == []


def test_the_mapped_space_scores_every_track_as_the_database_does(library):
    # Whole score arrays, not only the tracks a playlist keeps: the octave-aware
    # tempo (each track's runner-up tempo) must survive the file, or tracks an
    # octave apart drift in rank without a short playlist showing it.
    import numpy as np

    from enrich.playlists.settings import PlaylistsConfig
    from enrich.playlists.similarity import score_one, track_target
    db, _ = library
    rebuilt = snapshot.load(db, 0.3)
    mapped = snapshot.load(db, 0.3)
    assert (rebuilt.source, mapped.source) == ("rebuilt", "snapshot")
    assert np.isfinite(rebuilt.view.tempo_alt).any()
    np.testing.assert_array_equal(mapped.view.tempo_alt, rebuilt.view.tempo_alt)
    assert mapped.space.tempo_scale == rebuilt.space.tempo_scale > 0
    relation = np.eye(max(1, len(rebuilt.view.genre_names)), dtype=np.float32)
    for i in (4, 50, 400, 900):
        a = score_one(rebuilt.view, rebuilt.space, track_target(rebuilt.view, rebuilt.space, relation, i),
                      PlaylistsConfig())
        b = score_one(mapped.view, mapped.space, track_target(mapped.view, mapped.space, relation, i),
                      PlaylistsConfig())
        np.testing.assert_array_equal(a.total, b.total)
        np.testing.assert_array_equal(a.sound, b.sound)


def test_copies_of_one_recording_are_read_and_survive_the_snapshot(library, tmp_path):
    # Playlists refuse a second copy of a recording by its MusicBrainz id (playlists/songs.py): the
    # ties must come through the file too. Case and spaces do not matter; the nil id ties nothing.
    import sqlite3

    db, _ = library
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    same = "0a1b2c3d-1111-2222-3333-444455556666"
    nil = "00000000-0000-0000-0000-000000000000"
    with sqlite3.connect(copy) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM tracks ORDER BY id")]
        for row, mbid in ((3, same), (700, f" {same.upper()} "), (5, nil), (6, nil), (9, "not-an-id"),
                          (10, "not-an-id"), (11, "ffffffff-1111-2222-3333-444455556666")):
            conn.execute("UPDATE tracks SET mb_track_id = ? WHERE id = ?", (mbid, ids[row]))
    rebuilt = snapshot.load(copy, 0.3)
    mapped = snapshot.load(copy, 0.3)
    assert (rebuilt.source, mapped.source) == ("rebuilt", "snapshot")
    for loaded in (rebuilt, mapped):
        tied = {int(i): int(r) for i, r in enumerate(loaded.view.recording) if r >= 0}
        assert tied == {3: 3, 700: 3}


def test_a_snapshot_whose_track_classes_point_outside_is_rebuilt(library):
    # Scoring gathers by the stored class of each track without checking it: a file whose
    # classes point past the table (a flipped byte in a whole-looking file) must not be used.
    import numpy as np

    db, info = library
    request = Request(seeds=(seed_path(info, 3),), length=12, dry_run=True)
    good = playlists(db, request)
    file = snapshot.snapshot_path(db)
    with open(file, "rb") as f:
        header = snapshot.parse_header(f.read(), file.stat().st_size)
    spec = header["arrays"]["class_of_track"]
    data = bytearray(file.read_bytes())
    data[spec["offset"] + 8 * 7:spec["offset"] + 8 * 8] = np.array([10**9], dtype=spec["dtype"]).tobytes()
    file.write_bytes(bytes(data))
    again = playlists(db, request)
    assert again["library_from"] == "rebuilt" and same_playlists(good, again)
    assert playlists(db, request)["library_from"] == "snapshot"


def test_text_rows_read_from_the_file_equal_the_rows_read_through_the_mapping(tmp_path):
    import mmap

    texts = ["a", "", "ab", "bab", "b", "ä/ß", "ab", "\udcff raw byte"]
    blob, offsets = text_column.encode_texts(texts)
    file = tmp_path / "t"
    file.write_bytes(b"x" * 5 + offsets.tobytes() + blob.tobytes())
    with open(file, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        reader = text_column.FileReader(os.dup(f.fileno()))
    column = text_column.TextColumn(mm, 5 + offsets.nbytes, offsets, reader, 5)
    assert [column[i] for i in range(len(texts))] == texts == list(column) and column[-2] == "ab"
    assert column.index("bab") == 3
