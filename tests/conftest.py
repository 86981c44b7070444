"""Shared test set-up: every test runs with its own HOME, XDG folders and no keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
# The real services' recorded replies live beside the repository on our machines
# and in CI, never inside it (their licences are not ours): checks against them
# skip in a clone that has nothing beside it.
RECORDED = SHARED / "recorded-api"
needs_recordings = pytest.mark.skipif(not RECORDED.is_dir(), reason="needs ../shared/recorded-api")


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """No test reads the user's config, cache, database or API keys."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for kind in ("DATA", "CACHE", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(home / kind.lower()))
    for var in ("ENRICH_DB", "ENRICH_CONFIG", "ENRICH_CACHE_DIR", "LASTFM_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return home


def run_enrich(*args: str, env: dict | None = None, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run `python -m enrich ARGS` as a real process, the way a user or cron does."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "enrich", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, **kwargs,
    )


def unprivileged_prefix() -> list[str]:
    """A command prefix that drops root's power to ignore file permissions.

    Tests often run as root, for whom chmod 0 means nothing; setpriv (util-linux)
    removes the capabilities so permission errors are real.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.fail("running as root without setpriv: cannot test file permissions")
    caps = "-dac_override,-dac_read_search,-fowner"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]
