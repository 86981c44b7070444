"""A folder that is not there (an unmounted disk, a typo) is one line and exit 2, for every command over folders.

Nightly from cron, `enrich genres /mnt/music` used to say "0 tracks" and exit 0:
an unmounted disk went unnoticed forever. (`genres --no-scan` works on the
tracks already stored and needs no folder.)
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO, run_enrich

LIBRARY = REPO / "fixtures" / "library"


@pytest.mark.parametrize("args", [
    ("genres",), ("genres", "--offline"), ("genres", "--dry-run"),
    ("scan",), ("scan", "--dry-run"), ("analyze",), ("analyze", "--dry-run"), ("analyze", "--no-scan"),
], ids=" ".join)
def test_a_folder_that_does_not_exist_is_one_line_and_exit_2(tmp_path, args):
    gone = tmp_path / "not-mounted" / "Music"
    db = tmp_path / "lib.db"
    done = run_enrich(*args, "--db", str(db), str(gone), timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [f"error: {gone}: folder does not exist (not mounted?); nothing was done"]
    assert not db.exists()  # nothing was started


def test_the_configured_library_missing_is_the_same_error(tmp_path):
    gone = tmp_path / "usb" / "Music"
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nlibrary = ["{gone}"]\n')
    done = run_enrich("genres", "--offline", "--config", str(config), "--db", str(tmp_path / "lib.db"), timeout=60)
    assert done.returncode == 2 and str(gone) in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_one_folder_gone_among_others_fails_the_genres_run_and_is_named(tmp_path):
    gone = tmp_path / "not-mounted"
    done = run_enrich("genres", "--offline", "-q", "--cache-dir", str(REPO / "fixtures" / "replay-cache"),
                      "--db", str(tmp_path / "lib.db"), str(LIBRARY), str(gone), timeout=120)
    assert done.returncode == 1, done.stderr
    assert f"{gone}: folder does not exist" in done.stdout
    assert "genres: 12 tracks" in done.stdout  # the folder that is there was done
