"""`enrich ls`: list tracks, albums or artists that match a query, as they are read."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from enrich.api import Library
from enrich.browse.formatting import LineFormat
from enrich.browse.records import ALBUM_FIELDS, ARTIST_FIELDS, TRACK_FIELDS
from enrich.cli import stream
from enrich.cli.options import App, common_options
from enrich.errors import UsageError

TRACK_FORMAT = "{artist} - {album} - {title}  [{bpm:.0f} BPM  {camelot}  {loudness:.1f} LUFS]  {genres}"
ALBUM_FORMAT = "{album_artist} - {album} ({year})  {tracks} tracks  {genre}"
ARTIST_FORMAT = "{artist}  {tracks} tracks, {albums} albums  {genre}"

HELP = """List the tracks whose fields match QUERY (every track without one),
one line each, starting at once; --albums or --artists list those instead.

\b
Query terms (all must match; a lone `,` between terms means OR):
  genre:jazz              the genre or any genre under it in the tree
  artist:nirvana          the whole field (no case, no accents); also
                          albumartist, album, title, path, format
  artist:~daft            a substring of the field; a bare word: of
                          artist, album or title
  bpm:120..130            ranges, ends included: year:1990..1999,
                          loudness:..-12, energy:0.7.., duration:..3:30
  key:8A  key:"A minor"   Camelot code or key name (Am, F#, Bb major);
  key:compatible:8A       the key and its neighbours on the wheel
  missing:genre           also missing:features, missing:file, missing:FIELD
  failed:analyze          also failed:genres, failed:scan
  source:claude           a genre vote from lastfm, musicbrainz, claude, file
  ^genre:rock             not;  genre:jazz,blues  either

\b
Examples:
  enrich ls genre:jazz bpm:120..130
  enrich ls artist:~daft --format '{artist} - {title} [{bpm:.0f} {camelot}]'
  enrich ls key:compatible:8A --sort -bpm --limit 20
  enrich ls missing:genre --paths | xargs -d '\\n' ls -l
  enrich ls --albums year:1990..1999 --csv > nineties.csv
"""


@click.command("ls", short_help="List tracks, albums or artists matching a query.", help=HELP)
@click.argument("terms", nargs=-1, metavar="[QUERY]...")
@click.option("--sort", "sort", multiple=True, metavar="FIELD",
              help="Order by FIELD ('-bpm' for descending; repeat or use commas). Default: album artist, album, "
                   "disc, track.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many lines.")
@click.option("--format", "line_format", metavar="TEMPLATE",
              help="Each line from a Python format string over the fields, e.g. '{artist} - {title} {bpm:.0f}'.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line.")
@click.option("--paths", is_flag=True, help="Only the file paths, one a line (for piping).")
@click.option("--albums", is_flag=True, help="One line per album (album artist, album).")
@click.option("--artists", is_flag=True, help="One line per artist.")
@common_options
def command(app: App, terms: Sequence[str], sort: Sequence[str], limit: int | None, line_format: str | None,
            as_csv: bool, paths: bool, albums: bool, artists: bool) -> None:
    outputs = [name for name, on in (("--json", app.json), ("--csv", as_csv), ("--paths", paths),
                                     ("--format", line_format is not None)) if on]
    if len(outputs) > 1:
        raise UsageError(f"choose one of {', '.join(outputs)}")
    if albums and artists:
        raise UsageError("choose one of --albums, --artists")
    if (albums or artists) and (paths or sort):
        raise UsageError(f"{'--paths' if paths else '--sort'} lists tracks; leave out --albums/--artists")
    sort_fields = [f.strip() for s in sort for f in s.split(",") if f.strip()]
    lib = Library(config=app.config)
    rows: Iterable[Any]
    if albums:
        rows, fields, default = lib.albums(terms, limit=limit), ALBUM_FIELDS, ALBUM_FORMAT
    elif artists:
        rows, fields, default = lib.artists(terms, limit=limit), ARTIST_FIELDS, ARTIST_FORMAT
    else:
        rows, fields, default = lib.query(terms, sort=sort_fields, limit=limit), TRACK_FIELDS, TRACK_FORMAT
    template = LineFormat(line_format or default, fields)
    out = sys.stdout
    with stream.quiet_broken_pipe():
        if app.json:
            count = stream.json_array(out, (r.as_dict() for r in rows))
        elif as_csv:
            count = stream.csv_rows(out, (r.as_dict() for r in rows), fields)
        elif paths:
            count = stream.lines(out, rows, path_of)
        else:
            count = stream.lines(out, rows, as_line(template))
    if count == 0 and not app.json and not as_csv and app.verbosity >= 0:
        what = "albums" if albums else "artists" if artists else "tracks"
        click.echo(f"no {what} match" if terms else f"no {what} in {lib.db} yet", err=True)


def path_of(record: Any) -> str:
    return str(record.path)


def as_line(template: LineFormat) -> Callable[[Any], str]:
    return lambda record: template.line(record.as_dict())
