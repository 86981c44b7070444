"""`enrich report --out FILE.html`: the library as pictures, in one self-contained page."""

from __future__ import annotations

import click

from enrich.api import Library
from enrich.cli.options import App, common_options


@click.command("report", short_help="One self-contained HTML page of plots about the library.")
@click.option("--out", metavar="FILE.html", required=True, help="Where to write the page.")
@click.option("--map-points", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="At most this many tracks on the map by sound (a sample spread over the library).")
@common_options
def command(app: App, out: str, map_points: int) -> None:
    """Write one HTML file that opens in any browser without a network
    (scripts and styles inline) and shows: genres as a tree and as bars,
    the tempo histogram, keys on the Camelot wheel, the loudness
    distribution, a map of the library by sound (PCA of the stored feature
    vectors; each point a track coloured by its first genre, hover for
    artist - title), source coverage and the run history.

    \b
    Examples:
      enrich report --out library.html
      enrich report --db ~/music.db --out /tmp/r.html --map-points 20000
    """
    written = Library(config=app.config).report(out, map_points=map_points)
    app.emit(written.as_dict(), lambda r: f"wrote {r['out']} ({r['bytes'] / 1e6:.1f} MB; {r['map_points']} of "
                                          f"{r['tracks_with_features']} analysed tracks on the map)")
