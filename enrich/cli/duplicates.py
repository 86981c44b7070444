"""`enrich duplicates`: copies of one song, and which copy to keep."""

from __future__ import annotations

import os

# One BLAS thread (set before numpy loads): the audio comparison is many small matrix
# products, for which OpenBLAS's threads mostly spin, 5x the CPU on a busy machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from typing import Any  # noqa: E402

import click  # noqa: E402

from enrich.api import Library  # noqa: E402
from enrich.cli.options import App, common_options  # noqa: E402

HELP = """Find copies of the same song: the same MusicBrainz recording id, the
same audio (stored feature vectors within the noise an encoder adds; needs
`enrich analyze`), or the same artist and title with durations within a few
seconds (remaster, edit and feat. notes ignored, but a live, acoustic or demo
take is another recording). Tracks without tags match by their file name.

Each group names the copy to keep (lossless over lossy, then the higher
bitrate, then the more complete tags) and why. Files the last scan found gone
are left out. Nothing is deleted or changed: --paths prints the other copies,
one a line, for you to move or delete after a look.

\b
Examples:
  enrich duplicates
  enrich duplicates --by recording --by audio
  enrich duplicates --paths | xargs -d '\\n' mv -t ~/dupes/
  enrich duplicates --json | jq '.groups[].keep.path'
"""


def minutes(seconds: float | None) -> str:
    return "-:--" if seconds is None else f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def line(copy: dict[str, Any]) -> str:
    sound = copy["codec"] or copy["format"] or "?"
    if copy["bitrate"]:
        sound += f" {copy['bitrate'] // 1000}k"
    name = " - ".join(p for p in (copy["artist"], copy["title"]) if p) or "(no name)"
    return f"{minutes(copy['duration']):>6}  {sound:<14} {name}  {copy['path']}"


def render(data: dict[str, Any]) -> str:
    lines = []
    for n, group in enumerate(data["groups"], 1):
        keep = group["keep"]
        lines.append(f"group {n}: {len(group['others']) + 1} copies, by {', '.join(group['matched_by'])}")
        lines.append(f"  keep  {line(keep)}")
        lines.append(f"        why: {group['why']}")
        for other in group["others"]:
            lines.append(f"  also  {line(other)}  ({', '.join(other['matched_by'])})")
    features = "" if data["with_features"] else "; no track has features yet, so none was compared by audio " \
                                                 "(run `enrich analyze`)"
    lines.append(f"{len(data['groups'])} groups, {data['copies_not_kept']} copies not kept, "
                 f"among {data['tracks']} tracks (by {', '.join(data['by'])}){features}; nothing was changed")
    return "\n".join(lines)


@click.command("duplicates", short_help="Copies of one song, and which copy to keep.", help=HELP)
@click.option("--by", "by", multiple=True, type=click.Choice(["recording", "audio", "name"]),
              help="Only this evidence (repeat for more). Default: all three.")
@click.option("--seconds", type=click.FloatRange(min=0), default=None,
              help="Same artist and title: durations at most this far apart [default: from config, 3].")
@click.option("--paths", is_flag=True, help="Only the paths of the copies not kept, one a line (for scripts).")
@common_options
def command(app: App, by: tuple[str, ...], seconds: float | None, paths: bool) -> None:
    report = Library(config=app.config).duplicates(by, seconds=seconds)
    if paths and not app.json:
        for path in report.others:
            click.echo(path)
        return
    app.emit(report.as_dict(), render)
