"""`enrich.Library`: every method called from Python on a real database built by its own scan, genres and analyze
over the fixture library; and the commands print exactly what it returns."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from enrich import Library
from enrich.cli import COMMANDS
from enrich.errors import UsageError
from enrich.results import Explanation, PlaylistsResult, RunDetail, RunRecord
from tests.conftest import REPO, run_enrich


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture library plus 30 ms of silence (too short to analyse: one failure), built through Library."""
    root = tmp_path_factory.mktemp("api")
    library, cache = root / "library", root / "cache"
    shutil.copytree(REPO / "fixtures" / "library", library)
    shutil.copytree(REPO / "fixtures" / "replay-cache", cache)
    sf.write(library / "Static Harbor" / "silence.wav", np.zeros((int(22050 * 0.03), 1), dtype=np.float32), 22050)
    config = root / "config.toml"
    config.write_text(f'[paths]\ndb = "{root / "lib.db"}"\ncache_dir = "{cache}"\n')
    lib = Library(config=config)
    reports = {"scan": lib.scan([library]),
               "genres": lib.genres([library], offline=True, scan_first=False),
               "analyze": lib.analyze([library], scan_first=False, workers=1)}
    return lib, library, config, reports


def enrich_json(config, *args):
    result = run_enrich(*args, "--config", str(config), "--json")
    return result.returncode, json.loads(result.stdout)


def test_scan_reports_what_it_read_and_a_dry_run_writes_nothing(built):
    lib, library, _, reports = built
    scanned = reports["scan"]
    assert (scanned.new, scanned.failed, scanned.dry_run) == (13, [], False) and scanned.run_id
    again = lib.scan([library], dry_run=True)
    assert (again.new, again.changed, again.unchanged, again.run_id) == (0, 0, 13, None)
    assert again.to_dict()["roots"] == [str(library)]
    with pytest.raises(UsageError, match="not exist"):
        lib.scan([library / "not-mounted"])


def test_genres_finds_every_fixture_track_and_a_dry_run_lists_old_and_new(built):
    lib, library, _, reports = built
    found = reports["genres"]
    assert (found.enriched, found.failed_count, found.offline) == (12, 0, True)
    dry = lib.genres([library], offline=True, dry_run=True, retry_failed=True, scan_first=False)
    assert dry.dry_run and dry.run_id is None
    assert all(c["old"] == c["new"] for c in dry.changes)  # nothing changed since the real run


def test_analyze_reports_the_failure_and_remembers_it(built):
    lib, library, _, reports = built
    analysed = reports["analyze"]
    assert analysed.analysed == 12 and [f["item"].rsplit("/", 1)[1] for f in analysed.failed] == ["silence.wav"]
    dry = lib.analyze([library], dry_run=True, scan_first=False)
    assert (sum(dry.to_analyse.values()), dry.remembered_failures, dry.run_id) == (0, 1, None)


def test_explain_returns_typed_records_and_the_command_prints_them(built):
    lib, _, config, _ = built
    [why] = lib.explain("Miles Davis - So What")
    assert isinstance(why, Explanation)
    assert why.track.artist == "Miles Davis" and why.track.path.endswith("01 So What.flac")
    assert why.genres[0].genre == "modal jazz" and why.genres[0].rank == 0 and why.genres[0].provenance
    assert why.state is not None and why.state.status == "found"
    assert lib.explain(why.track.id) == [why]
    code, printed = enrich_json(config, "genres", "--explain", "Miles Davis - So What")
    assert code == 0 and printed == [why.as_dict()]
    with pytest.raises(UsageError, match="no track matches"):
        lib.explain("Nobody - Nothing")


def test_runs_and_one_run_with_its_failures(built):
    lib, _, config, reports = built
    runs = lib.runs()
    assert all(isinstance(r, RunRecord) for r in runs)
    by_id = {r.id: r for r in runs}
    for command, report in reports.items():
        assert by_id[report.run_id].command == command and by_id[report.run_id].status == "done"
    assert [r.command for r in lib.runs(command="genres")] == ["genres"]
    analyze = lib.run(reports["analyze"].run_id)
    assert isinstance(analyze, RunDetail) and analyze.items == {"done": 12, "failed": 1}
    assert [f.item.rsplit("/", 1)[1] for f in analyze.failed] == ["silence.wav"] and analyze.failed[0].error
    code, printed = enrich_json(config, "runs")
    assert code == 0 and printed == [r.as_dict() for r in lib.runs()]
    code, printed = enrich_json(config, "runs", "show", str(analyze.id))
    assert code == 0 and printed == analyze.as_dict()
    with pytest.raises(UsageError, match="no run 9999"):
        lib.run(9999)


def test_playlists_from_a_seed_a_genre_and_clusters(built, tmp_path):
    lib, _, config, _ = built
    made = lib.playlists(["Daft Punk - Around the World"], length=4, dry_run=True)
    assert isinstance(made, PlaylistsResult) and made.dry_run and made.library["tracks"] == 13
    [seeded] = made.playlists
    assert seeded.count == len(seeded.tracks) == 4 and seeded.file is None
    assert seeded.tracks[0].title == "Around the World" and all(t.why for t in seeded.tracks)
    code, printed = enrich_json(config, "playlists", "--seed", "Daft Punk - Around the World", "--length", "4",
                                "--dry-run")
    same = {"timings_ms": None, "library_from": None}  # how long, and whether the snapshot was there already
    assert code == 0 and {**printed, **same} == {**made.as_dict(), **same}
    assert made.library_from in ("snapshot", "rebuilt", "database")
    written = lib.playlists(genre="jazz", length=2, out_dir=tmp_path, name="Jazz")
    assert written.out_dir == str(tmp_path) and written.playlists[0].file == str(tmp_path / "Jazz.m3u8")
    assert "So What" in (tmp_path / "Jazz.m3u8").read_text(encoding="utf-8")
    assert len(lib.playlists(auto=2, length=3, dry_run=True).playlists) == 2
    with pytest.raises(UsageError):
        lib.playlists(dry_run=True)  # neither seeds, a genre nor auto


def test_queries_tracks_and_summaries(built):
    lib, _, _, _ = built
    jazz = list(lib.query("genre:jazz", sort=["title"]))
    assert [t.title for t in jazz] == ["Blue in Green", "So What"] and all(t.bpm and t.camelot for t in jazz)
    assert lib.track("Miles Davis - So What").id == jazz[1].id
    assert [a.artist for a in lib.artists("artist:~nirv")] == ["Nirvana"]
    assert {a.album for a in lib.albums("artist:~miles")} == {"Kind of Blue"}
    assert lib.stats().tracks["tracks"] == 13
    assert next(lib.export_rows("title:~'so what'"))["title"] == "So What"
    assert lib.report_data().map_total == 12


def test_long_commands_run_from_a_thread_that_is_not_the_main_one(built):
    # The signal handlers are the main thread's; a worker thread runs the same calls without them.
    lib, library, _, _ = built
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.extend([lib.scan([library], dry_run=True), lib.runs()]))
    worker.start()
    worker.join(120)
    assert len(got) == 2 and got[0].unchanged == 13


def test_settings_say_where_each_came_from(built):
    lib, _, config, _ = built
    settings = lib.settings()
    assert settings.paths.config_file == str(config) and settings.paths.database == str(lib.db)
    origins = {s.key: s.origin for s in settings.settings}
    assert origins["paths.db"] == str(config) and origins["genres.top_n"] == "default"
    assert {s.key: s.value for s in settings.settings}["sources.lastfm.api_key"] == "(not set)"
    code, printed = enrich_json(config, "config")
    assert code == 0 and printed == settings.as_dict()


def test_the_http_cache_counted_pruned_and_cleared(built):
    lib, _, config, _ = built
    stats = lib.cache_stats()
    assert stats.entries > 0 and stats.entries == sum(s["entries"] for s in stats.sources.values())
    code, printed = enrich_json(config, "cache", "stats")
    assert code == 0 and printed == stats.as_dict()
    pruned = lib.cache_prune(max_mb=0, dry_run=True)
    assert pruned.removed["expired"] + pruned.removed["over_budget"] == stats.entries and pruned.kept_entries == 0
    assert lib.cache_clear("lastfm", dry_run=True).removed == stats.sources["lastfm"]["entries"]
    assert lib.cache_stats() == stats  # the dry runs removed nothing
    with pytest.raises(UsageError):
        lib.cache_clear("nosuchsource")


def test_the_readme_python_runs(built, capsys):
    lib, _, _, _ = built
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    code = readme.split("### From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code.replace('"demo.db"', repr(str(lib.db))), "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Miles Davis So What ") and "modal jazz" in printed[0] and len(printed) == 1


def test_export_as_tag_fields_and_the_report_page(built, tmp_path):
    lib, _, _, _ = built
    [so_what] = lib.export_tags("title:'so what'")
    assert so_what["ARTIST"] == "Miles Davis" and so_what["GENRE"].startswith("modal jazz;")
    assert isinstance(so_what["BPM"], int) and so_what["INITIALKEY"]
    written = lib.report(tmp_path / "report.html", map_points=100)
    assert written.out == str(tmp_path / "report.html") and written.map_points == written.tracks_with_features == 12
    assert written.bytes == len((tmp_path / "report.html").read_bytes()) and not list(tmp_path.glob(".*partial"))
    with pytest.raises(UsageError, match="is a folder"):
        lib.report(tmp_path)


# What a command module may import from enrich: the CLI's own parts, the front door and its records, errors,
# and pure helpers that only render (line formats, explanation lines) or name choices for click.
SKIN_IMPORTS = ("enrich.cli", "enrich.api", "enrich.errors", "enrich.results", "enrich.browse.records",
                "enrich.browse.formatting", "enrich.browse.tagfields", "enrich.genres.explain",
                "enrich.playlists.settings")


def test_every_library_method_returns_records_not_bare_dicts():
    # Plain typed records all the way down (a record may hold a dict of counts, never be one).
    import inspect

    returns = {name: str(fn.__annotations__.get("return"))  # strings: the module defers its annotations
               for name, fn in inspect.getmembers(Library, inspect.isfunction) if not name.startswith("_")}
    assert len(returns) > 20 and returns["playlists"] == "PlaylistsResult"
    # The exports are rows of named columns on purpose: what a CSV or JSON-lines line is.
    rows_by_design = {"export_rows", "export_tags"}
    bare = {name: hint for name, hint in returns.items()
            if (hint.startswith("dict") or "[dict" in hint) and name not in rows_by_design}
    assert not bare, bare


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_a_skin_over_library(name):
    spec = importlib.util.find_spec(COMMANDS[name])
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {m for m in imported if m.split(".")[0] == "enrich"}
    beyond = {m for m in ours if not any(m == p or m.startswith(p + ".") for p in SKIN_IMPORTS)}
    assert not beyond, f"`enrich {name}` reaches past Library: {sorted(beyond)}"
    assert "Library" in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}, f"`enrich {name}` never calls Library"


SCAN_FROM_PYTHON = """
import sys
from enrich import Library
from enrich.errors import Interrupted
try:
    Library(db=sys.argv[1], config=sys.argv[2]).scan([sys.argv[3]], workers=1)
except Interrupted as exc:
    print(f"caught: {exc}")
    sys.exit(3)
"""


@pytest.mark.slow
def test_sigterm_during_a_library_call_raises_interrupted_and_the_next_call_resumes(tmp_path):
    from tests.test_analysis_audio import music, write_audio
    from tests.test_interrupts import runs, wait_for

    db, many, short = tmp_path / "lib.db", tmp_path / "many", tmp_path / "short.flac"
    many.mkdir()
    write_audio(short, music(seconds=1, sr=22050, tempo=120, seed=1), 22050)
    for i in range(400):
        shutil.copyfile(short, many / f"{i:03d}.flac")
    cfg = tmp_path / "small-batches.toml"
    cfg.write_text("[scan]\nchunk_size = 4\n[store]\nbatch_size = 4\nflush_interval = 0.01\n")
    proc = subprocess.Popen([sys.executable, "-c", SCAN_FROM_PYTHON, str(db), str(cfg), str(many)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    wait_for(db, "SELECT COUNT(*) FROM tracks", 8, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and out.startswith("caught: interrupted;"), (out, err)
    assert runs(db) == [(1, "scan", "interrupted")]
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    assert 8 <= stored < 400
    again = Library(db=db, config=cfg).scan([many], workers=1)
    assert again.resumed and again.run_id == 1 and again.read == 400 - stored
    assert runs(db) == [(1, "scan", "done")]
