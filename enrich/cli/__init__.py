"""The `enrich` command line: a skin over the library, one module per command.

Commands are imported only when used, so `enrich playlists` never pays for
librosa and `enrich --help` stays quick.
"""

from __future__ import annotations

import difflib
import importlib
import signal
import sys
import threading
from typing import Any, NoReturn

import click

from enrich import __version__
from enrich.errors import EnrichError, Interrupted
from enrich.running import INTERRUPTED


def fail(exc: EnrichError) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


# command name -> module holding a click command called `command`
COMMANDS = {
    "runs": "enrich.cli.runs",
    "cache": "enrich.cli.cache",
    "playlists": "enrich.cli.playlists",
    "scan": "enrich.cli.scan",
    "genres": "enrich.cli.genres",
    "analyze": "enrich.cli.analyze",
    "ls": "enrich.cli.ls",
    "stats": "enrich.cli.stats",
    "export": "enrich.cli.export",
    "config": "enrich.cli.config_cmd",
    "report": "enrich.cli.report",
    "duplicates": "enrich.cli.duplicates",
}

# What `enrich --help` lists for each command: its short_help, written here too so that
# listing the commands imports none of them (tests/test_startup.py keeps the two equal).
SUMMARIES = {
    "analyze": "Tempo, key, loudness and timbre of new and changed tracks.",
    "cache": "Stats, prune or clear the disk HTTP cache.",
    "config": "The settings in force and where each came from; the paths used.",
    "duplicates": "Copies of one song, and which copy to keep.",
    "export": "All tracks as CSV, JSON lines or tag fields.",
    "genres": "Nightly: genres from Last.fm, MusicBrainz and Claude.",
    "ls": "List tracks, albums or artists matching a query.",
    "playlists": "M3U8 playlists from seeds, a genre, clusters, words.",
    "report": "One self-contained HTML page of plots about the library.",
    "runs": "History of long runs; `runs show ID` for one.",
    "scan": "Read tags and audio properties into the database.",
    "stats": "Counts: tracks, genres, features, failures, dropped tags, runs.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        command: click.Command = importlib.import_module(COMMANDS[name]).command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from ``SUMMARIES``; a command without one is imported for its help."""
        rows = []
        for name in self.list_commands(ctx):
            summary = SUMMARIES.get(name)
            if summary is None:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                summary = command.get_short_help_str(formatter.width - 6 - len(name))
            rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS and not args[0].startswith("-"):
            close = difflib.get_close_matches(args[0], list(COMMANDS), n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{args[0]}'.{hint} Commands: {', '.join(sorted(COMMANDS))}.")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C while a command module was still importing
            raise Interrupted(INTERRUPTED) from None

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """click's main, but Ctrl-C at any moment is one line and exit 130 (click says
        "Aborted!" and exits 1), and an error of ours is one line with its exit code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        # Ctrl-C raises KeyboardInterrupt again (`python -m enrich` caught it while importing),
        # which asyncio turns into cancelling the command.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            fail(Interrupted(INTERRUPTED))
        except EnrichError as exc:
            fail(exc)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="enrich")
def main() -> None:
    """Enrich a music library: tags and audio properties, genres from Last.fm,
    MusicBrainz and Claude, audio analysis, and playlists; all kept in SQLite.

    \b
    Typical use:
      enrich scan ~/Music              read the files into the database
      enrich genres ~/Music            nightly: find genres for new and stale tracks
      enrich analyze ~/Music           tempo, key, loudness, timbre of each track
      enrich playlists --seed "Artist - Title" --out ~/Playlists
      enrich ls genre:jazz bpm:120..130     what the database knows, as a list
      enrich stats                     counts, top genres, dropped tags, last runs

    Every command takes --db, --config, --cache-dir, --json, -v and -q after
    its name. Settings: ~/.config/enrich/config.toml (`enrich config` shows them all).
    Exit codes: 0 done, 1 done but some items failed, 2 usage or configuration
    error, 130 interrupted (run it again to resume).
    """
