"""The settings in force, where each came from, and the paths enrich uses (`enrich config`)."""

from __future__ import annotations

from typing import Any

from enrich.config import SECRET_KEYS, Config, config_dir
from enrich.net import policy
from enrich.results import Setting, Settings, SettingsPaths


def flatten(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) or (hasattr(value, "items") and not isinstance(value, (str, list, tuple))):
            found += flatten(value, dotted + ".")
        else:
            found.append((dotted, list(value) if isinstance(value, tuple) else value))
    return found


def effective(config: Config) -> Settings:
    vocabulary = config.tree.get("genres", {}).get("vocabulary") or str(config_dir() / "genres")
    defaults = str(config_dir() / "default.toml")
    settings = []
    for key, value in flatten(config.tree):
        if key in SECRET_KEYS:
            value = "(set)" if value else "(not set)"
        elif isinstance(value, str) and "://" in value:  # a password or token in a URL stays out of bug reports
            value = policy.redact(value, policy.url_secrets(value))
        origin = config.origins.get(key, defaults)
        settings.append(Setting(key, value, "default" if origin == defaults else origin))
    paths = SettingsPaths(database=str(config.paths.db), cache=str(config.paths.cache_dir), vocabulary=vocabulary,
                          defaults=defaults, config_file=str(config.user_file) if config.user_file else None)
    return Settings(paths, settings)
