"""Secrets never reach disk: not a key a server echoes in its reply, not the
credentials or key in a base_url. A real `enrich genres` process runs against
fakes that echo what they were sent; then every file it wrote is searched."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from tests.conftest import run_enrich
from tests.fakes import Faults, ThreadedFakes, Track, World
from tests.test_genres_cli import make_library_db

MB_USER, MB_PASSWORD = "enrich-mirror", "mirror-pass-7Qx9Lw2Z"
PROXY_TOKEN = "proxy-token-Hk38dPq0Zr"


def every_form(secret: str) -> list[bytes]:
    """The secret as is, URL-quoted and form-quoted, lower-cased (files are searched lower-cased too)."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return sorted(f.lower().encode() for f in forms)


@pytest.mark.slow
def test_no_secret_reaches_any_file_the_run_writes(tmp_path):
    world = World.sample()
    world.tracks += [Track("Nobody Tags Me", "Quiet One"), Track("Nobody At All", "Unknown Song")]
    world.index()
    out = tmp_path / "out"
    out.mkdir()
    db = out / "lib.db"
    make_library_db(db, world)
    faults = {name: {"echo": 1.0} for name in ("lastfm", "musicbrainz", "claude")}
    with ThreadedFakes(world, faults={n: Faults(rates=r) for n, r in faults.items()}) as fakes:
        mb = urllib.parse.urlsplit(fakes.urls["musicbrainz"])
        cfg = fakes.write_config(
            tmp_path / "c.toml",
            musicbrainz={"base_url": f"http://{MB_USER}:{MB_PASSWORD}@{mb.netloc}"},
            lastfm={"base_url": f"{fakes.urls['lastfm']}/?proxy_auth={PROXY_TOKEN}"},
            extra='[genres.classifier]\nmode = "always"\n')
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(out / "cache")}
        args = ["genres", "--no-scan", "-v", "--config", str(cfg), "--db", str(db), "/music"]
        runs = [run_enrich(*args, "--json", env=env), run_enrich(*args, env=env)]  # the second from the cache
        echoed = [path for path in fakes.service("lastfm").counters.paths if path.startswith("/2.0/?")]
        sent = fakes.service("musicbrainz").counters
    for done in runs:
        assert done.returncode in (0, 1), done.stderr
    report = json.loads(runs[0].stdout)
    # Every source answered (the echoes were really there to leak) ...
    assert all(report["sources"][n]["requests"] > 0 for n in ("lastfm", "musicbrainz", "claude")), report
    assert echoed and sent.served > 0  # Last.fm was asked through the base_url with its query, MusicBrainz answered
    secrets = [fakes.keys["lastfm"], fakes.keys["claude"], MB_PASSWORD, PROXY_TOKEN,
               base64.b64encode(f"{MB_USER}:{MB_PASSWORD}".encode()).decode()]
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in written)  # the cache was written
    for secret in secrets:
        for form in every_form(secret):
            assert not [p for p in written if form in p.read_bytes().lower()], secret
            assert not [d for d in runs if form.decode() in (d.stdout + d.stderr).lower()], secret


@pytest.mark.parametrize("as_json", [False, True])
def test_enrich_config_shows_no_secret_of_a_url(tmp_path, as_json):
    """People paste `enrich config` into bug reports: a password or token in a base_url stays out."""
    user = tmp_path / "config.toml"
    user.write_text('[sources.lastfm]\nbase_url = "https://bob:hunter2x@ws.example.org/2.0/?token=tok3n"\n'
                    'api_key = "sekrit123"\n', encoding="utf-8")
    done = run_enrich("config", "--config", str(user), *(["--json"] if as_json else []))
    assert done.returncode == 0, done.stderr
    assert "ws.example.org" in done.stdout and "bob" in done.stdout  # the URL is still shown
    for secret in ("hunter2x", "tok3n", "sekrit123"):
        assert secret not in done.stdout + done.stderr
