"""`enrich analyze [PATH...]`: tempo, key, loudness and timbre of each track."""

from __future__ import annotations

from typing import Any

import click

from enrich.api import Library
from enrich.cli.listing import item_lines, snapshot_line
from enrich.cli.options import App, common_options, exit_for, long_options
from enrich.cli.progress import clock_text

SHOWN = 20


def reasons(counts: dict[str, Any]) -> str:
    return ", ".join(f"{n} {why}" for why, n in sorted(counts.items())) or "none"


def render(data: dict[str, Any]) -> str:
    roots = ", ".join(data["roots"])
    todo = sum(data["to_analyse"].values())
    lines = []
    if data["scan"]:
        s = data["scan"]
        lines.append(f"scan: {s['new']} new, {s['changed']} changed, {s['unchanged']} unchanged, "
                     f"{s['missing']} missing, {s['failed']} failed")
    if data["dry_run"]:
        lines += [f"dry run over {roots}: nothing was written",
                  f"  {data['tracks']} tracks; {todo} to analyse ({reasons(data['to_analyse'])})"]
        if data["remembered_failures"]:
            lines.append(f"  {data['remembered_failures']} failed before and are unchanged"
                         " (--retry-failed retries them)")
        if todo:
            lines.append(f"  estimated time: about {clock_text(data['estimate_seconds'] or 0)} "
                         f"with {data['workers']} worker(s)")
        lines += [f"  {w['item']} ({w['why']})" for w in data["would_analyse"][:SHOWN]]
        if todo > SHOWN:
            lines.append(f"  ... and {todo - SHOWN} more (--json lists up to {len(data['would_analyse'])})")
        return "\n".join(lines)
    run = f"run {data['run_id']}" + (", resumed" if data["resumed"] else "")
    lines += [f"analysed {roots} ({run}, feature set v{data['feature_version']})",
              f"  {data['tracks']} tracks; {todo} needed analysis ({reasons(data['to_analyse'])})",
              f"  {data['analysed']} analysed, {len(data['failed'])} failed in {data['elapsed']:.1f}s "
              f"({data['tracks_per_second']:.2f} tracks/s, {data['workers']} worker(s))"]
    if data["reanalysed"]:
        older = ", ".join(str(v) for v in data["older_versions"]) or "older"
        lines.append(f"  {data['reanalysed']:,} tracks re-analysed: feature set {older} -> {data['feature_version']}")
    pool = data["pool"]
    if pool.get("crashed") or pool.get("timed_out"):
        lines.append(f"  {pool['crashed']} worker crash(es), {pool['timed_out']} timeout(s); each cost only its file")
    if data["remembered_failures"]:
        lines.append(f"  {data['remembered_failures']} skipped: failed before and unchanged"
                     " (--retry-failed retries them)")
    if data["tags_written"]:
        lines.append(f"  BPM and key written into {data['tags_written']} files")
    if data["snapshot"]:
        lines.append(snapshot_line(data["snapshot"]))
    more = f"`enrich runs show {data['run_id']}` lists all" if data["run_id"] else "--json lists all"
    lines += item_lines("failed", data["failed"], more=more)
    lines += item_lines("scan failed on", data["scan_failed"])
    return "\n".join(lines)


@click.command("analyze", short_help="Tempo, key, loudness and timbre of new and changed tracks.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--retry-failed", is_flag=True, help="Also retry files that failed before and have not changed.")
@click.option("--write-tags", is_flag=True, help="Write BPM and initial key into the files (safe write, read back).")
@click.option("--scan/--no-scan", "scan_first", default=True, show_default=True,
              help="Scan the PATHs for new and changed files first.")
@common_options
@long_options
def command(app: App, paths: tuple[str, ...], retry_failed: bool, write_tags: bool, scan_first: bool, dry_run: bool,
            resume: bool, workers: int | None) -> None:
    """Analyse the audio of the tracks under PATHs (default: paths.library from
    the config): tempo, key (also in Camelot notation), loudness (LUFS), energy,
    spectral shape and timbre. Only new and changed tracks, and those analysed
    with an older feature set, are analysed; settings are in [analysis].

    \b
    Examples:
      enrich analyze ~/Music --workers 2
      enrich analyze --retry-failed --write-tags ~/Music
    """
    report = Library(config=app.config).analyze(
        paths, dry_run=dry_run, resume=resume, workers=workers, retry_failed=retry_failed,
        write_tags=write_tags, scan_first=scan_first, progress=app.progress,
    )
    app.emit(report.to_dict(), render)
    exit_for(len(report.failed) + len(report.scan_failed))
