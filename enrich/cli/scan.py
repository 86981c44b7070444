"""`enrich scan PATH...`: read tags and audio properties into the database."""

from __future__ import annotations

from typing import Any

import click

from enrich.api import Library
from enrich.cli.listing import item_lines
from enrich.cli.options import App, common_options, exit_for, long_options


def render(data: dict[str, Any]) -> str:
    counts = (f"{data['new']} new, {data['changed']} changed, {data['unchanged']} unchanged, "
              f"{data['reappeared']} reappeared, {data['missing']} missing, {data['unreadable']} unreadable")
    if data["dry_run"]:
        lines = [f"dry run over {', '.join(data['roots'])}: nothing was written",
                 f"  {counts}",
                 f"  a scan would read {data['new'] + data['changed']} files"]
    else:
        run = f"run {data['run_id']}" + (", resumed" if data["resumed"] else "")
        lines = [f"scanned {', '.join(data['roots'])} ({run})",
                 f"  {counts}",
                 f"  read {data['read']} files in {data['elapsed']:.1f}s ({data['files_per_second']:.1f} files/s)"]
    lines += item_lines("skipped", data["skipped"], reason="reason", shown=20)
    more = f"`enrich runs show {data['run_id']}` lists all" if data["run_id"] else "--json lists all"
    lines += item_lines("failed", data["failed"], more=more)
    return "\n".join(lines)


@click.command("scan", short_help="Read tags and audio properties into the database.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--leave-roots/--stay-in-roots", default=None,
              help="Follow symbolic links that lead outside the PATHs [default: scan.leave_roots, off].")
@common_options
@long_options
def command(app: App, paths: tuple[str, ...], leave_roots: bool | None, dry_run: bool, resume: bool,
            workers: int | None) -> None:
    """Read tags and audio properties of the audio files under PATHs (default:
    paths.library from the config) into the database. Only new and changed files
    are read; files gone from disk are marked missing, never deleted.

    \b
    Examples:
      enrich scan ~/Music
      enrich scan --db ~/music.db ~/Music /mnt/nas/music --workers 4
    """
    report = Library(config=app.config).scan(paths, dry_run=dry_run, resume=resume, workers=workers,
                                             leave_roots=leave_roots, progress=app.progress)
    app.emit(report.to_dict(), render)
    exit_for(len(report.failed))
