"""`enrich export`: every track (or those matching a query) as CSV, JSON lines or tag fields, streamed."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from enrich.api import Library
from enrich.browse.records import TRACK_FIELDS
from enrich.cli import stream
from enrich.cli.options import App, common_options
from enrich.errors import UsageError
from enrich.store.browse import EXPORT_EXTRA

CSV_COLUMNS = (*(f for f in TRACK_FIELDS if f != "genre"), "genre_scores", *EXPORT_EXTRA)
# The names taggers use (Vorbis comments; Mp3tag and puddletag import these headers).
TAG_COLUMNS = ("path", "ARTIST", "ALBUMARTIST", "ALBUM", "TITLE", "DATE", "TRACKNUMBER", "DISCNUMBER", "GENRE",
               "BPM", "INITIALKEY")


def tag_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """One track as tag fields: genres joined with ';', BPM whole, key as 'Am' (as --write-tags writes)."""
    key = row["key"]
    initial = None
    if key:
        note, mode = key.split(" ")
        initial = note + ("m" if mode == "minor" else "")
    return {"path": row["path"], "ARTIST": row["artist"], "ALBUMARTIST": row["album_artist"],
            "ALBUM": row["album"], "TITLE": row["title"], "DATE": row["year"], "TRACKNUMBER": row["track"],
            "DISCNUMBER": row["disc"], "GENRE": ";".join(row["genres"]) or None,
            "BPM": None if row["bpm"] is None else round(row["bpm"]), "INITIALKEY": initial}


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
    rows = Library(config=app.config).export_rows(terms, sort=sort_fields, limit=limit)
    with destination(out) as handle:
        if fmt == "jsonl":
            count = stream.json_lines(handle, rows)
        elif fmt == "csv":
            count = stream.csv_rows(handle, rows, CSV_COLUMNS)
        else:
            count = stream.csv_rows(handle, (tag_fields(r) for r in rows), TAG_COLUMNS)
    if out and out != "-" and app.verbosity >= 0:
        click.echo(f"exported {count} tracks to {out}", err=True)
