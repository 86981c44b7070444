"""`enrich playlists`: playlists from seed tracks, a genre, clusters of the whole library, or a sentence."""

from __future__ import annotations

from typing import Any

import click

from enrich.api import Library
from enrich.cli.options import App, common_options
from enrich.playlists.settings import DIRECTIONS, PERIODS


def clock(minutes_or_seconds: float | None) -> str:
    if minutes_or_seconds is None:
        return "  ?  "
    s = round(minutes_or_seconds)
    return f"{s // 60}:{s % 60:02d}"


SHOWN_NOT_IN_LIBRARY = 5


def render_lastfm(lf: dict[str, Any], verbosity: int) -> list[str]:
    """What --lastfm-user read, and the played tracks the library does not have (the first few; all with -v)."""
    pages = f"{lf['pages']} page{'s' if lf['pages'] != 1 else ''}"
    lines = [f"Last.fm {lf['user']} ({lf['period']}): {lf['read']} tracks read ({pages}, {lf['requests']} requests), "
             f"{lf['matched']} in the library, {lf['seeds']} seeds"]
    similar = lf["similar_artists"]
    if similar["asked"]:
        lines.append(f"  similar artists of {similar['asked']} artists: {similar['tracks_by_them']} tracks by them "
                     "or artists like them")
    missing = lf["not_in_library"]
    if missing:
        shown = missing if verbosity > 0 else missing[:SHOWN_NOT_IN_LIBRARY]
        more = "" if len(shown) == len(missing) else f" (first {len(shown)}; all with -v)"
        lines.append(f"  {len(missing)} played tracks not in the library{more}:")
        lines += [f"    {t['artist']} - {t['title']}  ({t['plays']})" for t in shown]
    lines += [f"  note: {note}" for note in lf["notes"]]
    return lines


def render(result: dict[str, Any], tables: bool = False, verbosity: int = 0) -> str:
    """The playlists; each with its tracks, scores and reasons on a dry run (or with ``tables``);
    first, with --lastfm-user, what was read from Last.fm."""
    lines = []
    lib = result["library"]
    if result.get("lastfm"):
        lines += render_lastfm(result["lastfm"], verbosity)
    for p in result["playlists"]:
        head = f"{p['name']}  ({p['count']} tracks, {p['minutes']:g} min)"
        lines.append(head + (f" -> {p['file']}" if p["file"] else ""))
        if result["dry_run"] or tables:
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


def span_text(span: dict[str, float | None] | None, unit: str) -> str:
    if span is None:
        return "any"
    low, high = span["min"], span["max"]
    unit = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{low:g}-{high:g}{unit}"
    return f"at least {low:g}{unit}" if low is not None else f"up to {high:g}{unit}"


def render_wish(result: dict[str, Any]) -> list[str]:
    """Claude's reading of the sentence, as the engine will use it."""
    wish, reading = result["wish"], result["reading"]
    length = (f"{wish['minutes']:g} minutes" if wish["minutes"] else
              f"{wish['tracks']} tracks" if wish["tracks"] else "not said (the default)")
    order = wish["ordering"] or "not said (a flowing order)"
    if wish["journey"]:
        order = f"journey from {wish['journey'][0]} to {wish['journey'][1]}"
    artists = "; ".join(f"{name} ({n} tracks)" if n else f"{name} (not in the library)"
                        for name, n in reading["artists"].items()) or "-"
    filtered = ", ".join(f"{name} {n}" for name, n in reading["filtered"].items())
    lines = [
        f"Claude read: {result['prompt']!r}",
        f"  title      {wish['title'] or '-'}",
        f"  genres     {', '.join(wish['genres']) or 'any'}",
        f"  not        {', '.join(wish['exclude_genres']) or '-'}",
        f"  tempo      {span_text(wish['tempo'], 'BPM')}",
        f"  energy     {span_text(wish['energy'], '')}",
        f"  loudness   {span_text(wish['loudness'], 'LUFS')}",
        f"  mode       {wish['mode'] or 'any'}",
        f"  artists    {artists}",
        f"  length     {length}",
        f"  order      {order}",
        f"  library    {reading['allowed']} of {result['library']['tracks']} tracks pass the filters"
        + (f" (left out: {filtered})" if filtered else ""),
    ]
    return lines


def claude_line(usage: dict[str, Any]) -> str:
    if usage["from_cache"]:
        return f"claude: answer from the cache (0 requests, 0 tokens, $0; {usage['model']})"
    return (f"claude: {usage['requests']} request, {usage['input_tokens']} input + {usage['output_tokens']} "
            f"output tokens, ${usage['cost_usd']:.4f} ({usage['model']})")


def render_prompt(result: dict[str, Any], explain: bool) -> str:
    lines = render_wish(result) if explain or result["dry_run"] else []
    lines += [f"  note: {n}" for n in (*result["reading"]["notes"], *result["claude"]["notices"])]
    body = render(result, tables=explain)
    return "\n".join([*lines, *([body] if body else []), claude_line(result["claude"])])


@click.command("playlists", short_help="M3U8 playlists from seeds, a genre, clusters, words.")
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
@click.option("--prompt", metavar="SENTENCE",
              help='A playlist from words: "rainy sunday jazz, nothing faster than 100 bpm, about an hour". '
                   "Claude reads it (only the sentence and the genre vocabulary are sent).")
@click.option("--explain", is_flag=True,
              help="With --prompt: print how the sentence was read, then the tracks with their reasons.")
@click.option("--offline", is_flag=True, help="With --prompt: answer from the cache only (sentences asked before).")
@click.option("--lastfm-user", metavar="NAME",
              help="Seeds from what this Last.fm user plays most (needs $LASTFM_API_KEY); artists like theirs "
                   "score higher ([playlists.weights] lastfm_similar).")
@click.option("--period", type=click.Choice(PERIODS), default=None,
              help="With --lastfm-user: the period of the most played tracks, or `recent` for the latest "
                   "scrobbles [default: playlists.lastfm.period, overall].")
@click.option("--dry-run", is_flag=True, help="Print the playlists with per-track score and reasons; write nothing.")
@common_options
def command(app: App, seeds: tuple[str, ...], to: str | None, genre: str | None, auto: int | None, length: int | None,
            minutes: float | None, direction: str | None, out_dir: str | None, name: str | None, prompt: str | None,
            explain: bool, offline: bool, lastfm_user: str | None, period: str | None, dry_run: bool) -> None:
    """Build M3U8 playlists from the analysed and tagged library.

    \b
    Examples:
    enrich playlists --seed "Artist - Title" --length 40 --out ~/Playlists
    enrich playlists --seed a.flac --seed b.flac --minutes 90   # between two seeds
    enrich playlists --seed a.flac --to b.flac                  # a path from a to b
    enrich playlists --genre "deep house" --direction energy-up
    enrich playlists --auto 10 --out ~/Playlists
    enrich playlists --prompt "rainy sunday jazz, nothing faster than 100 bpm, about an hour" --explain
    enrich playlists --lastfm-user NAME --period 3month        # from what NAME plays most
    """
    if prompt is not None:
        if seeds or to or genre or auto or direction or lastfm_user is not None or period:
            raise click.UsageError("--prompt builds a playlist from the sentence alone; "
                                   "leave out --seed, --to, --genre, --auto, --direction and --lastfm-user")
        result = Library(config=app.config).prompt_playlist(prompt, length=length, minutes=minutes, out_dir=out_dir,
                                                            name=name, dry_run=dry_run, offline=offline)
        for dropped in result.wish.dropped:
            click.echo(f"claude's answer: dropped {dropped}", err=True)
        app.emit(result.as_dict(), lambda r: render_prompt(r, explain))
        return
    if explain or offline:
        raise click.UsageError("--explain and --offline go with --prompt")
    made = Library(config=app.config).playlists(seeds, to=to, genre=genre, auto=auto or 0, lastfm_user=lastfm_user,
                                                period=period, length=length, minutes=minutes, direction=direction,
                                                out_dir=out_dir, name=name, dry_run=dry_run)
    app.emit(made.as_dict(), lambda data: render(data, verbosity=app.verbosity))
