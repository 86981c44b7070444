"""Settings: defaults < user file < environment < flags; every mistake is one clear error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from enrich import config
from enrich.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_follow_xdg(isolated_env):
    cfg = config.load(env={"XDG_DATA_HOME": "/data", "XDG_CACHE_HOME": "/cache"})
    assert cfg.paths.db == Path("/data/enrich/library.db")
    assert cfg.paths.cache_dir == Path("/cache/enrich")
    assert cfg.sources["musicbrainz"].rate == 1.0
    assert cfg.sources["lastfm"].rate < 5


def test_xdg_fallbacks_use_home(isolated_env):
    cfg = config.load(env={})  # no XDG_* set: ~ is the (isolated) HOME
    assert cfg.paths.db == Path(isolated_env, ".local/share/enrich/library.db")
    assert cfg.paths.cache_dir == Path(isolated_env, ".cache/enrich")


def test_order_file_then_env_then_flags(tmp_path):
    path = write(tmp_path, '[paths]\ndb = "/from/file.db"\n[sources.lastfm]\nrate = 1.5\napi_key = "filekey"\n')
    cfg = config.load(path, env={})
    assert cfg.paths.db == Path("/from/file.db")
    assert cfg.sources["lastfm"].rate == 1.5
    cfg = config.load(path, env={"ENRICH_DB": "/from/env.db", "LASTFM_API_KEY": "envkey"})
    assert cfg.paths.db == Path("/from/env.db")
    assert cfg.sources["lastfm"].api_key == "envkey"
    cfg = config.load(path, env={"ENRICH_DB": "/from/env.db"}, overrides={"paths.db": "/from/flag.db"})
    assert cfg.paths.db == Path("/from/flag.db")
    assert cfg.origins["paths.db"] == "command line"


def test_enrich_config_env_and_xdg_user_file(tmp_path):
    path = write(tmp_path, "[scan]\nworkers = 3\n")
    assert config.load(env={"ENRICH_CONFIG": str(path)}).scan.workers == 3
    xdg = tmp_path / "xdg"
    (xdg / "enrich").mkdir(parents=True)
    (xdg / "enrich" / "config.toml").write_text("[scan]\nworkers = 5\n")
    assert config.load(env={"XDG_CONFIG_HOME": str(xdg)}).scan.workers == 5


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[sources.lastfm]\nratez = 1\n", ["config.toml", "sources.lastfm.ratez", "allowed:", "rate"]),
        ("[nonsense]\nx = 1\n", ["unknown key 'nonsense'", "allowed:"]),
        ("[sources.lastfm]\nrate = -1\n", ["sources.lastfm.rate", "above 0"]),
        ("[sources.musicbrainz]\nrate = \"fast\"\n", ["sources.musicbrainz.rate", "expected a number"]),
        ("[scan]\nworkers = 1.5\n", ["scan.workers", "whole number"]),
        ("[scan]\nfollow_symlinks = 1\n", ["scan.follow_symlinks", "true or false"]),
        ("[scan]\nextensions = [1, 2]\n", ["scan.extensions", "string"]),
        ("[paths]\nlibrary = \"/music\"\n", ["paths.library", "list"]),
        ("[sources]\nlastfm = 3\n", ["sources.lastfm", "table"]),
        ("this is = not toml [", ["not valid TOML"]),
    ],
)
def test_bad_settings_name_file_key_and_allowed(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, text), env={})
    message = str(err.value)
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml", env={})


def test_secret_never_echoed_in_errors(tmp_path):
    path = write(tmp_path, "[sources.claude]\napi_key = 12345\n")
    with pytest.raises(ConfigError) as err:
        config.load(path, env={})
    assert "12345" not in str(err.value)


def test_secret_not_in_repr():
    cfg = config.load(env={"ANTHROPIC_API_KEY": "sk-ant-secret-value"})
    assert cfg.sources["claude"].api_key == "sk-ant-secret-value"
    assert "sk-ant-secret-value" not in repr(cfg)


def test_result_is_frozen():
    cfg = config.load(env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.scan.workers = 9  # type: ignore[misc]


def test_section_builds_a_frozen_dataclass():
    @dataclasses.dataclass(frozen=True)
    class Scan:
        workers: int
        extensions: tuple[str, ...]

    scan = config.load(env={}).section("scan", Scan)
    assert scan.workers == 0 and "flac" in scan.extensions


def test_workers_zero_means_cores():
    cfg = config.load(env={})
    assert cfg.workers(None, 0) >= 1
    assert cfg.workers(3, 0) == 3
    assert cfg.workers(None, 2) == 2


def test_bundled_config_found_in_source_tree():
    assert (config.config_dir() / "default.toml").is_file()
