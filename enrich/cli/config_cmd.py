"""`enrich config`: the settings in force, where each came from, and the paths enrich uses."""

from __future__ import annotations

import os
from typing import Any

import click

from enrich.cli.options import App, common_options
from enrich.config import SECRET_KEYS, Config, config_dir, find_user_file
from enrich.net import policy


def flatten(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) or (hasattr(value, "items") and not isinstance(value, (str, list, tuple))):
            found += flatten(value, dotted + ".")
        else:
            found.append((dotted, list(value) if isinstance(value, tuple) else value))
    return found


def effective(config: Config, config_file: str | None) -> dict[str, Any]:
    vocabulary = config.tree.get("genres", {}).get("vocabulary") or str(config_dir() / "genres")
    user = find_user_file(config_file, os.environ)
    defaults = str(config_dir() / "default.toml")
    settings = []
    for key, value in flatten(config.tree):
        if key in SECRET_KEYS:
            value = "(set)" if value else "(not set)"
        elif isinstance(value, str) and "://" in value:  # a password or token in a URL stays out of bug reports
            value = policy.redact(value, policy.url_secrets(value))
        origin = config.origins.get(key, defaults)
        settings.append({"key": key, "value": value, "from": "default" if origin == defaults else origin})
    return {
        "paths": {"database": str(config.paths.db), "cache": str(config.paths.cache_dir),
                  "vocabulary": vocabulary, "defaults": str(config_dir() / "default.toml"),
                  "config_file": str(user) if user else None},
        "settings": settings,
    }


def render(data: dict[str, Any]) -> str:
    p = data["paths"]
    lines = [
        f"database    {p['database']}",
        f"cache       {p['cache']}",
        f"vocabulary  {p['vocabulary']}",
        f"defaults    {p['defaults']}",
        f"config file {p['config_file'] or '(none: using the defaults; create ~/.config/enrich/config.toml)'}",
        "",
    ]
    width = max((len(s["key"]) for s in data["settings"]), default=0)
    for s in data["settings"]:
        lines.append(f"{s['key']:<{width}}  = {format_value(s['value'])}  [{s['from']}]")
    return "\n".join(lines)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


@click.command("config", short_help="The settings in force and where each came from; the paths used.")
@common_options
def command(app: App) -> None:
    """Show every setting with its value and where it came from (the
    defaults, your config file, an environment variable or a flag), and the
    paths of the database, the HTTP cache, the genre vocabulary and the
    config file. API keys show only whether they are set.

    Any key listed can go in ~/.config/enrich/config.toml (or the file
    given with --config / $ENRICH_CONFIG), under its table: `genres.top_n`
    is `top_n` in `[genres]`.

    \b
    Examples:
      enrich config
      enrich config --config ./test.toml --json | jq '.paths'
    """
    ctx = click.get_current_context()
    app.emit(effective(app.config, ctx.params.get("config_file")), render)
