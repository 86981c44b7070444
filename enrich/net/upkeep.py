"""Looking after the disk HTTP cache: `enrich cache stats | prune | clear`."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from enrich.config import Config
from enrich.errors import UsageError
from enrich.net.cache import LAST_RUN, decode, http_dir
from enrich.net.policy import is_fresh

STALE_TEMP_S = 3600.0  # a temp file this old was left by a crashed run


def entry_files(root: Path, source: str | None = None) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(source, path, stat) of every entry file, temp files included."""
    if not root.is_dir():
        return
    for src_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if source and src_dir.name != source:
            continue
        for path in src_dir.rglob("*"):
            if path.is_file():
                try:
                    yield src_dir.name, path, path.stat()
                except OSError:
                    continue


def check_source(config: Config, source: str | None) -> None:
    if source and source not in config.sources:
        raise UsageError(f"unknown source '{source}'; sources: {', '.join(config.sources)}")


def stats(config: Config) -> dict[str, Any]:
    """Entries and bytes per source, and the hit rate of the last run."""
    root = http_dir(config.paths.cache_dir)
    per: dict[str, dict[str, Any]] = {name: {"entries": 0, "bytes": 0} for name in config.sources}
    for source, path, st in entry_files(root):
        if path.suffix == ".json" and not path.name.startswith("."):
            row = per.setdefault(source, {"entries": 0, "bytes": 0})
            row["entries"] += 1
            row["bytes"] += st.st_size
    last = {}
    with contextlib.suppress(OSError, ValueError):
        last = json.loads((root / LAST_RUN).read_text())
    for source, counts in (last.get("sources") or {}).items():
        if source in per and isinstance(counts, dict):
            looked = counts.get("hits", 0) + counts.get("misses", 0)
            hit_rate = round(counts.get("hits", 0) / looked, 3) if looked else None
            per[source]["last_run"] = {**counts, "hit_rate": hit_rate}
    return {"cache_dir": str(root), "sources": per, "last_run_at": last.get("finished_at"),
            "entries": sum(r["entries"] for r in per.values()), "bytes": sum(r["bytes"] for r in per.values())}


def prune(config: Config, max_mb: float | None = None, now: float | None = None,
          dry_run: bool = False) -> dict[str, Any]:
    """Remove expired and unreadable entries, then the oldest until the cache
    fits its size budget ([http] cache_max_mb, or ``max_mb``). A dry run only counts."""
    now = time.time() if now is None else now
    unlink = would_unlink if dry_run else really_unlink
    budget = (config.http.cache_max_mb if max_mb is None else max_mb) * 1024 * 1024
    removed = {"expired": 0, "unreadable": 0, "over_budget": 0, "temp": 0}
    kept = []
    for source, path, st in list(entry_files(http_dir(config.paths.cache_dir))):
        if path.name.startswith("."):
            if now - st.st_mtime > STALE_TEMP_S:
                removed["temp"] += unlink(path)
            continue
        try:
            entry = decode(path.read_bytes())
        except OSError:
            entry = None
        cfg = config.sources.get(source)
        if entry is None:
            removed["unreadable"] += unlink(path)
        elif cfg is not None and not is_fresh(entry.fetched_at, entry.negative, now, cfg.ttl_days,
                                              cfg.negative_ttl_days):
            removed["expired"] += unlink(path)
        else:
            kept.append((entry.fetched_at, st.st_size, path))
    total = sum(size for _, size, _ in kept)
    for _, size, path in sorted(kept):  # oldest first
        if total <= budget:
            break
        removed["over_budget"] += unlink(path)
        total -= size
    return {"removed": removed, "kept_entries": len(kept) - removed["over_budget"], "kept_bytes": total,
            "dry_run": dry_run}


def clear(config: Config, source: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    check_source(config, source)
    unlink = would_unlink if dry_run else really_unlink
    removed = 0
    for _, path, _ in list(entry_files(http_dir(config.paths.cache_dir), source)):
        removed += unlink(path)
    return {"removed": removed, "source": source or "all", "dry_run": dry_run}


def really_unlink(path: Path) -> int:
    try:
        os.unlink(path)
        return 1
    except OSError:
        return 0


def would_unlink(path: Path) -> int:
    return 1 if os.path.lexists(path) else 0
