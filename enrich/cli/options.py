"""Options every command shares, and running a command's coroutine.

``@common_options`` adds --db, --config, --cache-dir, --json, -v/-q and hands
the command an :class:`App` (the loaded config and the output mode) instead.
``@long_options`` adds --dry-run, --resume/--no-resume and --workers.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from enrich import config as config_mod
from enrich import running
from enrich.cli import fail
from enrich.cli.progress import PlainProgress, TerminalProgress
from enrich.errors import EnrichError, Interrupted
from enrich.progress import NoProgress, Progress
from enrich.running import INTERRUPTED

T = TypeVar("T")


@dataclass
class App:
    config: config_mod.Config
    json: bool
    verbosity: int  # -1 quiet, 0 normal, 1+ verbose
    progress: Progress

    def emit(self, data: Any, text: Callable[[Any], str]) -> None:
        """The command's result: JSON on stdout with --json, else readable text."""
        if self.json:
            click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        else:
            rendered = text(data)
            if rendered:
                click.echo(rendered)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run the command's coroutine; Ctrl-C and SIGTERM stop it cleanly."""
        return running.run(coro)


class ProgressLogHandler(logging.StreamHandler[Any]):
    """Log lines on stderr that do not tear the progress bar."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(sys.stderr)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        clear = getattr(self.progress, "clear", None)
        if clear:
            clear()
        super().emit(record)


def make_progress(verbosity: int) -> Progress:
    if verbosity < 0:
        return NoProgress()
    return TerminalProgress(sys.stderr) if sys.stderr.isatty() else PlainProgress(sys.stderr)


def setup_logging(verbosity: int, progress: Progress) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = ProgressLogHandler(progress)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s" if verbosity > 0 else "%(message)s"))
    root = logging.getLogger("enrich")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared options; the command receives ``app`` instead of them."""

    @click.option("--db", "db", type=click.Path(dir_okay=False),
                  help="SQLite database file [env: ENRICH_DB; default: ~/.local/share/enrich/library.db].")
    @click.option("--config", "config_file", type=click.Path(dir_okay=False),
                  help="Settings file [env: ENRICH_CONFIG; default: ~/.config/enrich/config.toml].")
    @click.option("--cache-dir", "cache_dir", type=click.Path(file_okay=False),
                  help="HTTP cache folder [env: ENRICH_CACHE_DIR; default: ~/.cache/enrich].")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout; logs go to stderr.")
    @click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
    @click.option("-q", "--quiet", count=True, help="Only errors on stderr; no progress.")
    @functools.wraps(fn)
    def wrapper(*args: Any, db: str | None, config_file: str | None, cache_dir: str | None, as_json: bool,
                verbose: int, quiet: int, **kwargs: Any) -> Any:
        verbosity = -1 if quiet else verbose
        progress = make_progress(verbosity)
        setup_logging(verbosity, progress)
        try:
            cfg = config_mod.load(config_file, overrides={"paths.db": db, "paths.cache_dir": cache_dir})
        except EnrichError as exc:
            fail(exc)
        app = App(config=cfg, json=as_json, verbosity=verbosity, progress=progress)
        try:
            return fn(app, *args, **kwargs)
        except EnrichError as exc:
            fail(exc)
        except KeyboardInterrupt:
            fail(Interrupted(INTERRUPTED))

    return wrapper


def long_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options of commands that run for long and change things."""
    fn = click.option("--workers", type=click.IntRange(min=0), default=None,
                      help="Worker processes [default: from config; 0 = one per core].")(fn)
    fn = click.option("--resume/--no-resume", default=True, show_default=True,
                      help="Continue the unfinished run of this command, or start afresh.")(fn)
    fn = click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")(fn)
    return fn


def exit_for(failed: int) -> None:
    """Exit 1 when some items failed (they were listed), else return normally."""
    if failed:
        sys.exit(1)
