"""`enrich playlists`: playlists from seed tracks, a genre, or clusters of the whole library."""

from __future__ import annotations

from typing import Any

import click

from enrich.cli.options import App, common_options
from enrich.playlists.settings import DIRECTIONS


def clock(minutes_or_seconds: float | None) -> str:
    if minutes_or_seconds is None:
        return "  ?  "
    s = round(minutes_or_seconds)
    return f"{s // 60}:{s % 60:02d}"


def render(result: dict[str, Any]) -> str:
    lines = []
    lib = result["library"]
    for p in result["playlists"]:
        head = f"{p['name']}  ({p['count']} tracks, {p['minutes']:g} min)"
        lines.append(head + (f" -> {p['file']}" if p["file"] else ""))
        if result["dry_run"]:
            lines.append(f"  {'#':>3}  {'SCORE':>5}  {'BPM':>5}  {'KEY':>3}  {'TIME':>5}  TRACK  [WHY]")
            for t in p["tracks"]:
                score = f"{t['score']:.2f}" if t["score"] is not None else "  -  "
                tempo = f"{t['tempo']:.0f}" if t["tempo"] is not None else "-"
                lines.append(f"  {t['position']:>3}  {score:>5}  {tempo:>5}  {t['key'] or '-':>3}  "
                             f"{clock(t['duration']):>5}  {t['artist']} - {t['title']}  [{t['why']}]")
        for note in p["notes"]:
            lines.append(f"  note: {note}")
    if lib["skipped_no_features_no_genres"]:
        lines.append(f"{lib['skipped_no_features_no_genres']} of {lib['tracks']} tracks skipped: "
                     "no features and no genres (run `enrich analyze` / `enrich genres`)")
    if result["dry_run"]:
        lines.append("dry run: nothing written")
    return "\n".join(lines)


@click.command("playlists", short_help="M3U8 playlists from seeds, a genre, or --auto clusters.")
@click.option("--seed", "seeds", multiple=True, metavar="TRACK",
              help='A seed track: a path or "Artist - Title". Repeat it for a playlist between several seeds.')
@click.option("--to", "to", metavar="TRACK", help="With one --seed: a path from the seed to this track.")
@click.option("--genre", metavar="NAME", help="A playlist of a genre of the canonical tree.")
@click.option("--auto", type=click.IntRange(min=1), default=None, metavar="N",
              help="N distinct playlists covering the library, each named after its sound and genre.")
@click.option("--length", type=click.IntRange(min=1), default=None,
              help="Tracks per playlist [default: playlists.length in the config, 50].")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Length as a duration instead of a track count.")
@click.option("--direction", type=click.Choice(DIRECTIONS), default=None,
              help="Let energy or tempo rise or fall along the playlist.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for the M3U8 files [default: playlists.out_dir, else the current folder].")
@click.option("--name", help="Name of the playlist (and its file) instead of the generated one (not with --auto).")
@click.option("--dry-run", is_flag=True, help="Print the playlists with per-track score and reasons; write nothing.")
@common_options
def command(app: App, seeds: tuple[str, ...], to: str | None, genre: str | None, auto: int | None, length: int | None,
            minutes: float | None, direction: str | None, out_dir: str | None, name: str | None, dry_run: bool) -> None:
    """Build M3U8 playlists from the analysed and tagged library.

    \b
    Examples:
    enrich playlists --seed "Artist - Title" --length 40 --out ~/Playlists
    enrich playlists --seed a.flac --seed b.flac --minutes 90   # between two seeds
    enrich playlists --seed a.flac --to b.flac                  # a path from a to b
    enrich playlists --genre "deep house" --direction energy-up
    enrich playlists --auto 10 --out ~/Playlists
    """
    # Imported here, not at the top, so `enrich --help` and `enrich COMMAND --help` stay quick.
    from enrich.playlists.build import Request, make_playlists

    request = Request(seeds=tuple(seeds), to=to, genre=genre, auto=auto or 0, length=length, minutes=minutes,
                      direction=direction, out_dir=out_dir, name=name, dry_run=dry_run)
    result = app.run(make_playlists(app.config, request))
    app.emit(result, render)
