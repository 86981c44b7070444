"""`enrich genres`: the nightly job; also --explain TRACK."""

from __future__ import annotations

from typing import Any

import click

from enrich.api import Library
from enrich.cli.listing import item_lines, snapshot_line
from enrich.cli.options import App, common_options, exit_for, long_options
from enrich.genres.explain import explain_lines

SHOWN = 20  # changes listed after a real run (a dry run lists them all)


def render(report: dict[str, Any]) -> str:
    lines = []
    if report["dry_run"]:
        lines.append("dry run: nothing was written")
        for change in report["changes"]:
            old = ", ".join(change["old"]) or "(none)"
            new = ", ".join(change["new"]) or "(none)"
            mark = "  " if change["old"] == change["new"] else "* "
            lines.append(f"{mark}{change['track']}: {old} -> {new}")
    else:
        shown = [c for c in report["changes"] if c["old"] != c["new"]]
        for change in shown[:SHOWN]:
            old, new = ", ".join(change["old"]) or "(none)", ", ".join(change["new"]) or "(none)"
            lines.append(f"  {change['track']}: {old} -> {new}")
        if report["changed"] > SHOWN:
            lines.append(f"  ... and {report['changed'] - SHOWN} more changes")
    scan = report.get("scan")
    if scan:
        lines.append(f"scan: {scan['new']} new, {scan['changed']} changed, {scan['unchanged']} unchanged, "
                     f"{scan['missing']} missing, {scan['unreadable']} unreadable")
    verb = "would get genres" if report["dry_run"] else "enriched"
    lines.append(f"genres: {report['tracks']} tracks; {report['enriched']} {verb}, {report['empty']} without a genre, "
                 f"{report['changed']} changed, {report['unchanged']} unchanged (fresh), "
                 f"{report['failed_count']} failed"
                 + (f"; {report['tags_written']} files tagged" if report["tags_written"] else ""))
    for name, s in sorted(report["sources"].items()):
        if s["requests"] or s["cache_hits"] or s.get("breaker"):
            line = (f"  {name:<12} {s['requests']} requests, {s['cache_hits']} cache hits, "
                    f"{s['waited_s']:.1f}s waiting on rate limits")
            if s.get("retries"):
                line += f", {s['retries']} retries"
            if s.get("breaker"):
                line += f"; OFF: {s['breaker']}"
            lines.append(line)
    if report["snapshot"]:
        lines.append(snapshot_line(report["snapshot"]))
    claude = report["claude"]
    if claude.get("tracks"):
        cached = " (answers from the cache cost nothing)" if claude.get("cached") else ""
        batch = f" (batch {claude['batch_id']})" if claude.get("batch_id") else ""
        lines.append(f"  claude       {claude['tracks']} tracks in {claude['requests']} requests; "
                     f"{claude['input_tokens']} input + {claude['output_tokens']} output tokens; "
                     f"about ${claude['cost_usd']:.4f}{cached}{batch}")
    if report["claude_not_asked"]:
        lines.append(f"note: dry run: {report['claude_not_asked']} tracks would be sent to Claude; not asked "
                     "(a dry run spends nothing), so their genres above come from the other sources")
    # A source switched off is already on its row above, with the reason: say it once.
    off_rows = {f"{name}: off {when}: {s['breaker']}" for name, s in report["sources"].items() if s.get("breaker")
                for when in ("for this run", "for the rest of this run")}
    for notice in report["notices"]:
        if notice not in off_rows:
            lines.append(f"note: {notice}")
    if report["offline"]:
        lines.append("note: offline: answers came only from the HTTP cache")
    more = f"`enrich runs show {report['run_id']}` lists all" if report["run_id"] else "--json lists the first 1000"
    lines += item_lines("failed", report["failed"], total=report["failed_count"], more=more)
    return "\n".join(lines)


def render_explain(explanations: list[dict[str, Any]]) -> str:
    return "\n\n".join("\n".join(explain_lines(e)) for e in explanations)


@click.command("genres", short_help="Nightly: genres from Last.fm, MusicBrainz and Claude.")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--offline", is_flag=True, help="Answer only from the HTTP cache; nothing goes over the network.")
@click.option("--write-tags", is_flag=True, help="Also write the genres into the files (multi-valued, safely).")
@click.option("--force", is_flag=True,
              help="With --write-tags: replace the genres in the files instead of keeping them and adding.")
@click.option("--retry-failed", is_flag=True,
              help="Ask again now about tracks for which nothing was found (else after [genres] empty_ttl_days).")
@click.option("--no-scan", is_flag=True, help="Do not scan the folders first; use the tracks already stored.")
@click.option("--explain", "explain_ref", metavar="TRACK",
              help="Show why a track has its genres (TRACK: id, path or 'Artist - Title'); changes nothing.")
@long_options
@common_options
def command(app: App, paths: tuple[str, ...], offline: bool, write_tags: bool, force: bool, retry_failed: bool,
            no_scan: bool, explain_ref: str | None, dry_run: bool, resume: bool, workers: int | None) -> None:
    """Find genres for new, changed and stale tracks under PATHS (default: paths.library)
    from Last.fm, MusicBrainz and (for what they leave open) Claude, and store them.

    \b
    Meant for cron: it scans incrementally, asks only about what changed or
    expired, resumes where a killed run stopped, and exits 1 when some tracks
    failed (they are listed). Keys: $LASTFM_API_KEY, $ANTHROPIC_API_KEY (either
    missing: that source is skipped with a notice; MusicBrainz needs none).

    \b
    Examples:
      enrich genres ~/Music
      enrich genres --dry-run ~/Music/Jazz        # old -> new, nothing written
      enrich genres --explain "Miles Davis - So What"
    """
    lib = Library(config=app.config)
    if explain_ref:
        app.emit([e.as_dict() for e in lib.explain(explain_ref)], render_explain)
        return
    report = lib.genres(paths, dry_run=dry_run, resume=resume, offline=offline, write_tags=write_tags,
                        scan_first=not no_scan, workers=workers, force=force, retry_failed=retry_failed,
                        progress=app.progress)
    app.emit(report.to_dict(), render)
    exit_for(report.failed_count)
