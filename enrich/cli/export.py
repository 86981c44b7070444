"""`enrich export`: every track (or those matching a query) as CSV, JSON lines or tag fields, streamed."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

from enrich.api import Library
from enrich.browse.records import EXPORT_COLUMNS
from enrich.browse.tagfields import TAG_COLUMNS
from enrich.cli import stream
from enrich.cli.options import App, common_options
from enrich.errors import UsageError


@contextmanager
def destination(out: str | None) -> Iterator[IO[str]]:
    """stdout, or a file that appears whole (written beside it, then renamed)."""
    if out is None or out == "-":
        with stream.quiet_broken_pipe():
            yield sys.stdout
        return
    target = Path(out)
    if target.is_dir():
        raise UsageError(f"{target}: is a folder; give --out a file name")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(partial, target)
    except OSError as exc:
        raise UsageError(f"{target}: cannot write the export: {exc.strerror}") from exc
    finally:
        partial.unlink(missing_ok=True)


@click.command("export", short_help="All tracks as CSV, JSON lines or tag fields.")
@click.argument("terms", nargs=-1, metavar="[QUERY]...")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "tags"]), default="jsonl", show_default=True,
              help="csv: every column; jsonl: one JSON object a line; tags: CSV of tag names (ARTIST, GENRE, BPM, "
                   "INITIALKEY...) for taggers.")
@click.option("--out", metavar="FILE", help="Write to FILE (it appears when complete) instead of stdout.")
@click.option("--sort", "sort", multiple=True, metavar="FIELD", help="Order by FIELD, as in `enrich ls`.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many tracks.")
@common_options
def command(app: App, terms: Sequence[str], fmt: str, out: str | None, sort: Sequence[str],
            limit: int | None) -> None:
    """Export the tracks matching QUERY (every track without one; the query
    language of `enrich ls`) with their genres, scores, features and file
    details, streamed row by row. The columns and units are described in the
    README, under "The database".

    \b
    Examples:
      enrich export --format csv --out library.csv
      enrich export genre:jazz > jazz.jsonl
      enrich export --format tags missing:file --out tags.csv
    """
    if app.json:
        raise UsageError("export writes its own format; use --format jsonl instead of --json")
    sort_fields = [f.strip() for s in sort for f in s.split(",") if f.strip()]
    lib = Library(config=app.config)
    with destination(out) as handle:
        if fmt == "tags":
            count = stream.csv_rows(handle, lib.export_tags(terms, sort=sort_fields, limit=limit), TAG_COLUMNS)
        else:
            rows = lib.export_rows(terms, sort=sort_fields, limit=limit)
            count = stream.json_lines(handle, rows) if fmt == "jsonl" else stream.csv_rows(handle, rows, EXPORT_COLUMNS)
    if out and out != "-" and app.verbosity >= 0:
        click.echo(f"exported {count} tracks to {out}", err=True)
