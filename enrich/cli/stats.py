"""`enrich stats`: what the database knows, in numbers."""

from __future__ import annotations

import time
from typing import Any

import click

from enrich.api import Library
from enrich.cli.options import App, common_options


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def render(data: dict[str, Any]) -> str:
    t, g, f = data["tracks"], data["genres"], data["features"]
    present = t["present"]
    lines = [
        f"database   {data['db']}",
        f"tracks     {t['tracks']} ({t['missing_files']} files missing, {t['unreadable_files']} unreadable files)",
        (f"genres     {g['tracks_with_genres']} tracks ({percent(g['tracks_with_genres'], present)});"
        f" looked up {g['looked_up']}: {g['found']} found, {g['empty']} empty"),
    ]
    if g["tracks_by_source"]:
        lines.append("  by source   " + ", ".join(f"{s} {n}" for s, n in g["tracks_by_source"].items()))
    if g["claude_asked_because"]:
        lines.append("  claude asked " + ", ".join(f"{why} {n}" for why, n in g["claude_asked_because"].items()))
    versions = ", ".join(f"v{v} {n}" for v, n in f["by_version"].items())
    lines.append(f"features   {f['tracks_with_features']} tracks ({percent(f['tracks_with_features'], present)})"
                 + (f"; by version {versions}" if versions else ""))
    failures = data["failures"]
    if any(failures.values()):
        lines.append("failures")
        for command, rows in failures.items():
            for row in rows:
                lines.append(f"  {command:<8} {row['count']:>6}  {row['reason']}")
    if data["top_genres"]:
        lines.append("top genres (tracks; first genre of)")
        lines += [f"  {row['tracks']:>6} {row['first']:>6}  {row['genre']}" for row in data["top_genres"]]
    tags = data["tags"]
    if tags["unmapped"]:
        lines.append("tags not in the vocabulary (times seen; tracks) - add them to aliases.toml")
        lines += [f"  {row['count']:>6} {row['tracks']:>6}  {row['tag']}" for row in tags["unmapped"]]
    if tags["dropped"]:
        lines.append("tags dropped (times seen; tracks)")
        lines += [f"  {row['count']:>6} {row['tracks']:>6}  {row['tag']}: {row['reason']}" for row in tags["dropped"]]
    if data["last_runs"]:
        lines.append("last runs")
        for run in data["last_runs"]:
            counts = ", ".join(f"{k} {v}" for k, v in run["counts"].items() if isinstance(v, (int, float)) and v)
            lines.append(f"  {run['command']:<10} run {run['run']:<5} {run['status']:<11}"
                         f" started {when(run['started_at'])}, ended {when(run['finished_at'])}"
                         + (f"  ({counts})" if counts else ""))
    return "\n".join(lines)


@click.command("stats", short_help="Counts: tracks, genres, features, failures, dropped tags, runs.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many genres and tags to list.")
@common_options
def command(app: App, top: int) -> None:
    """Show what the database knows: tracks and missing files, tracks with
    genres (by source), features (by feature version), failures by reason,
    the most common genres, the raw tags most often dropped or not in the
    vocabulary (with counts, to grow aliases.toml), and how each command
    last ended.

    \b
    Examples:
      enrich stats
      enrich stats --top 50 --json | jq '.tags.unmapped'
    """
    app.emit(Library(config=app.config).stats(top).as_dict(), render)
