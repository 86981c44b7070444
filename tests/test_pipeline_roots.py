"""Every command finds the tracks of a library it is given through a symbolic link."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from enrich import config as config_mod
from enrich.errors import UsageError
from enrich.pipeline.scan import library_roots
from tests.conftest import REPO, run_enrich

LIBRARY = REPO / "fixtures" / "library"


def test_roots_are_absolute_and_link_free(tmp_path):
    os.symlink(LIBRARY, tmp_path / "Music")
    cfg = config_mod.load(env={})
    assert library_roots(cfg, [tmp_path / "Music"]) == [str(LIBRARY.resolve())]
    os.chdir(tmp_path)
    assert library_roots(cfg, ["Music"]) == [str(LIBRARY.resolve())]


def test_no_path_and_no_library_setting_is_a_usage_error():
    with pytest.raises(UsageError, match=r"paths\.library"):
        library_roots(config_mod.load(env={}), [])


@pytest.mark.slow
def test_genres_through_a_linked_folder_finds_every_track(tmp_path):
    os.symlink(LIBRARY, tmp_path / "Music")
    shutil.copytree(REPO / "fixtures" / "replay-cache", tmp_path / "cache")
    done = run_enrich("genres", str(tmp_path / "Music"), "--offline", "--cache-dir", str(tmp_path / "cache"),
                      "--db", str(tmp_path / "lib.db"), "--json", "-q")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["tracks"] == 12 and report["enriched"] == 12
