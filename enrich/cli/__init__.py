"""The `enrich` command line: a skin over the library, one module per command.

Commands are imported only when used, so `enrich playlists` never pays for
librosa and `enrich --help` stays quick.
"""

from __future__ import annotations

import importlib

import click

from enrich import __version__

# command name -> module holding a click command called `command`
COMMANDS = {
    "runs": "enrich.cli.runs",
    "cache": "enrich.cli.cache",
    "playlists": "enrich.cli.playlists",
    "scan": "enrich.cli.scan",
    "genres": "enrich.cli.genres",
    "analyze": "enrich.cli.analyze",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        command: click.Command = importlib.import_module(COMMANDS[name]).command
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="enrich")
def main() -> None:
    """Enrich a music library: tags and audio properties, genres from Last.fm,
    MusicBrainz and Claude, audio analysis, and playlists; all kept in SQLite.

    \b
    Typical use:
      enrich scan ~/Music              read the files into the database
      enrich genres ~/Music            nightly: find genres for new and stale tracks
      enrich analyze ~/Music           tempo, key, loudness, timbre of each track
      enrich playlists --seed "Artist - Title" --out ~/Playlists

    Every command takes --db, --config, --cache-dir, --json, -v and -q after
    its name. Settings: ~/.config/enrich/config.toml (see config/default.toml).
    Exit codes: 0 done, 1 done but some items failed, 2 usage or configuration
    error, 130 interrupted (run it again to resume).
    """
