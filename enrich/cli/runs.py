"""`enrich runs`: the history of long commands, and one run's failures."""

from __future__ import annotations

import time
from typing import Any

import click

from enrich.api import Library
from enrich.cli.options import App, common_options


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def render_list(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs yet"
    lines = [f"{'ID':>5}  {'COMMAND':<10} {'STATUS':<11} {'STARTED':<19}  {'DONE':>7} {'FAILED':>7}"]
    for r in runs:
        items = r["items"]
        lines.append(
            f"{r['id']:>5}  {r['command']:<10} {r['status']:<11} {when(r['started_at']):<19}  "
            f"{items.get('done', 0):>7} {items.get('failed', 0):>7}"
        )
    return "\n".join(lines)


def render_run(run: dict[str, Any]) -> str:
    lines = [
        f"run {run['id']}: enrich {run['command']} ({run['status']})",
        f"  started   {when(run['started_at'])}",
        f"  finished  {when(run['finished_at'])}",
        f"  work      {run['work_key']}",
    ]
    for key, value in sorted(run["counts"].items()):
        lines.append(f"  {key:<9} {value}")
    items = run["items"]
    counted = ", ".join(f"{v} {k}" for k, v in sorted(items.items()))
    lines.append("  items     " + counted if items else "  items     none")
    if run["failed"]:
        lines.append(f"failed items ({len(run['failed'])}):")
        lines += [f"  {f['item']}: {f['error']}" for f in run["failed"]]
    return "\n".join(lines)


@click.command("runs", short_help="History of long runs; `runs show ID` for one.")
@click.argument("words", nargs=-1, metavar="[show ID]")
@click.option("--limit", default=20, show_default=True, help="How many runs to list, newest first.")
@click.option("--command", "command_name", help="Only runs of this command (scan, genres, ...).")
@common_options
def command(app: App, words: tuple[str, ...], limit: int, command_name: str | None) -> None:
    """List the runs of long commands, newest first; `enrich runs show ID`
    shows one run with its counts and every failed item.

    \b
    Examples:
      enrich runs --command genres --limit 5
      enrich runs show 12
    """
    if not words:
        app.emit([r.as_dict() for r in Library(config=app.config).runs(limit, command_name)], render_list)
    elif len(words) == 2 and words[0] == "show" and words[1].isdigit():
        app.emit(Library(config=app.config).run(int(words[1])).as_dict(), render_run)
    else:
        raise click.UsageError("expected nothing, or 'show ID' (a run number from `enrich runs`)")
