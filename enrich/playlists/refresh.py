"""After a run that changed the library, bring the playlists' snapshot up to date, if there is one.

Left alone, the snapshot (snapshot.py) is rebuilt by the first playlist command after a change:
at a million tracks that is about 15 s and 800 MB, on the command a user waits for, the morning
after every nightly `enrich genres`. So `genres` and `analyze` rebuild it at their end instead,
when they changed the library. A library with no snapshot yet (no playlist was ever made from
this database) is left alone, and the run imports no numpy for it. `scan` does not refresh it:
it keeps to its own flat memory.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from enrich.config import Config
from enrich.errors import EnrichError, Interrupted
from enrich.progress import Progress

log = logging.getLogger(__name__)


def snapshot_path(db: Path) -> Path:
    """Where the snapshot of database ``db`` lives: beside it."""
    db = Path(db)
    return db.with_name(db.name + "-snapshot")


@dataclass
class Refreshed:
    tracks: int
    seconds: float


async def refresh_snapshot(config: Config, progress: Progress) -> Refreshed | None:
    """Rebuild the snapshot if one exists and the library changed since; None when nothing was rebuilt.

    A failure is a warning, never the run's failure: the next playlist command rebuilds it.
    """
    db = Path(config.paths.db)
    if not snapshot_path(db).exists():
        return None
    from enrich.playlists import snapshot  # numpy: only when there is a snapshot to keep
    from enrich.playlists.settings import PlaylistsConfig
    from enrich.playlists.settings import check as check_settings

    started = time.monotonic()
    progress.start("playlists snapshot", None)
    try:
        cfg = check_settings(config.section("playlists", PlaylistsConfig))
        loaded = await asyncio.to_thread(snapshot.load, db, cfg.tempo_weight, config.store.busy_timeout_ms)
    except Interrupted:
        raise
    except (EnrichError, OSError, sqlite3.Error, ValueError) as exc:
        log.warning("%s: the playlists snapshot was not refreshed (%s); the next playlist command rebuilds it",
                    snapshot_path(db), exc)
        return None
    finally:
        progress.finish()
    if loaded.source != "rebuilt":
        return None
    return Refreshed(len(loaded.view), round(time.monotonic() - started, 2))
