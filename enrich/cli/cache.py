"""`enrich cache`: what the disk HTTP cache holds, and tidying it."""

from __future__ import annotations

import time
from typing import Any

import click

from enrich.api import Library
from enrich.cli.options import App, common_options


def mb(n: int) -> str:
    """A size in the unit that shows it: 276 KB, not 0.0 MB."""
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def render_stats(data: dict[str, Any]) -> str:
    lines = [f"cache {data['cache_dir']}: {data['entries']} entries, {mb(data['bytes'])}"]
    if data["last_run_at"]:
        lines.append("last run " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data["last_run_at"])))
    lines.append(f"  {'SOURCE':<12} {'ENTRIES':>8} {'SIZE':>10}  LAST RUN HIT RATE")
    for name, row in data["sources"].items():
        last = row.get("last_run")
        rate = "-" if not last or last["hit_rate"] is None else (
            f"{last['hit_rate']:.0%} ({last['hits']} hits, {last['misses']} misses)")
        lines.append(f"  {name:<12} {row['entries']:>8} {mb(row['bytes']):>10}  {rate}")
    return "\n".join(lines)


def render_prune(data: dict[str, Any]) -> str:
    r = data["removed"]
    verb = "dry run: would remove" if data["dry_run"] else "removed"
    return (f"{verb} {r['expired']} expired, {r['unreadable']} unreadable, {r['over_budget']} over the size budget, "
            f"{r['temp']} leftover temp files; kept {data['kept_entries']} entries ({mb(data['kept_bytes'])})")


def render_clear(data: dict[str, Any]) -> str:
    verb = "dry run: would remove" if data["dry_run"] else "removed"
    return f"{verb} {data['removed']} entries ({data['source']})"


@click.command("cache", short_help="Stats, prune or clear the disk HTTP cache.")
@click.argument("action", type=click.Choice(["stats", "prune", "clear"]))
@click.option("--source", type=click.Choice(["lastfm", "musicbrainz", "claude"]), help="clear: only this source.")
@click.option("--max-mb", type=click.FloatRange(min=0), help="prune: size budget [default: [http] cache_max_mb].")
@click.option("--dry-run", is_flag=True, help="prune, clear: report what would be removed; remove nothing.")
@common_options
def command(app: App, action: str, source: str | None, max_mb: float | None, dry_run: bool) -> None:
    """The disk HTTP cache of Last.fm, MusicBrainz and Claude replies.

    \b
    stats   entries and size per source, hit rate of the last run
    prune   remove expired entries, then the oldest beyond the size budget
    clear   remove every entry (or only --source NAME)

    \b
    Examples:
      enrich cache stats
      enrich cache prune --max-mb 500
    """
    lib = Library(config=app.config)
    if action == "stats":
        app.emit(lib.cache_stats().as_dict(), render_stats)
    elif action == "prune":
        app.emit(lib.cache_prune(max_mb, dry_run=dry_run).as_dict(), render_prune)
    else:
        app.emit(lib.cache_clear(source, dry_run=dry_run).as_dict(), render_clear)
