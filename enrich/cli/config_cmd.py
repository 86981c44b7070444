"""`enrich config`: the settings in force, where each came from, and the paths enrich uses."""

from __future__ import annotations

from typing import Any

import click

from enrich.api import Library
from enrich.cli.options import App, common_options


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
    app.emit(Library(config=app.config).settings().as_dict(), render)
