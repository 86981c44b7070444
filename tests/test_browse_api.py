"""`enrich.Library`: the long commands and the listings from Python, on the fixture library."""

from __future__ import annotations

import shutil

from enrich import Library
from tests.conftest import REPO


def test_scan_genres_analyze_then_query_from_python(tmp_path):
    library, cache = tmp_path / "library", tmp_path / "cache"
    shutil.copytree(REPO / "fixtures" / "library", library)
    shutil.copytree(REPO / "fixtures" / "replay-cache", cache)
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\ndb = "{tmp_path / "lib.db"}"\ncache_dir = "{cache}"\n')
    lib = Library(config=config)
    assert lib.scan([library]).summary()["new"] == 12
    found = lib.genres([library], offline=True, scan_first=False)
    assert found.enriched == 12 and found.failed_count == 0
    analysed = lib.analyze([library], scan_first=False, workers=1)
    assert analysed.analysed == 12
    jazz = list(lib.query("genre:jazz", sort=["title"]))
    assert [t.title for t in jazz] == ["Blue in Green", "So What"]
    assert all(t.bpm and t.camelot for t in jazz)
    [why] = lib.explain("Miles Davis - So What")
    assert why["genres"][0]["genre"] == "modal jazz"
    made = lib.playlists(seeds=["Daft Punk - Around the World"], length=4, dry_run=True)
    assert made["playlists"][0]["count"] == 4
    assert [r["command"] for r in lib.runs()] == ["analyze", "genres", "scan"]
