"""`enrich scan`: walk the folders, read what is new or changed, store it.

Stages, in order:

    walk in path order and merge with the stored rows, a page at a time (a thread)
        -> flag missing / reappeared tracks as they are found
        -> read new and changed files in reader processes (chunks, in order)
        -> one writer group per file: the row (or the error) plus its checkpoint

Each stage hands the next bounded batches, so memory does not grow with the
library. A dry run only walks and compares, on the database opened read-only.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from enrich.config import Config
from enrich.errors import UsageError
from enrich.library.names import fill_from_name
from enrich.library.reader import DEFAULT_READ, ReaderPool, ReadResult
from enrich.library.walk import display, is_under, raw_name, resolve_roots
from enrich.pipeline.scan_plan import Planner
from enrich.progress import NoProgress, Progress
from enrich.runs.run import Run, running
from enrich.store import runs as run_sql
from enrich.store import tracks
from enrich.store.session import reading, writing
from enrich.store.writer import Writer

log = logging.getLogger(__name__)


@dataclass
class ScanReport:
    roots: list[str]
    dry_run: bool = False
    run_id: int | None = None
    resumed: bool = False
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    reappeared: int = 0
    missing: int = 0
    unreadable: int = 0
    read: int = 0  # files read successfully by this run
    noted: int = 0  # files read with values that cannot be true (stored as unknown, logged)
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"item", "error"}: this run's failures
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"item", "reason"}: deliberate skips
    elapsed: float = 0.0

    @property
    def files_per_second(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "files_per_second": round(self.files_per_second, 1)}

    def summary(self) -> dict[str, Any]:
        """The counts a command that scans first (genres, analyze) reports."""
        names = ("new", "changed", "unchanged", "missing", "unreadable", "read", "run_id")
        counts = {k: getattr(self, k) for k in names}
        return {**counts, "failed": len(self.failed)}


def library_roots(config: Config, paths: Sequence[str | Path]) -> list[str]:
    """The folders a command works on: the PATHs given, else paths.library.

    Absolute and free of links, exactly as the scan stores the tracks under
    them, so a library reached through a link finds its tracks.
    """
    chosen = list(paths) or [str(p) for p in config.paths.library]
    if not chosen:
        raise UsageError("no folder given: pass PATHs, or set paths.library in the config file")
    return [display(r) for r in resolve_roots(chosen)]


def require_a_root(roots: Sequence[str]) -> None:
    """None of the folders exists (an unmounted disk, a typo): a usage error, not an empty library.

    Nightly from cron, "0 tracks" would hide an unmounted disk forever. When
    only some are missing, the scan names each as a failed item and goes on.
    (`genres --no-scan` works on the stored tracks and needs no folder.)
    """
    if roots and not any(os.path.exists(r) for r in roots):
        names = ", ".join(display(r) for r in roots)
        raise UsageError(f"{names}: {'folder does' if len(roots) == 1 else 'folders do'} not exist"
                         " (not mounted?); nothing was done")


async def scan(
    config: Config,
    paths: Sequence[str | Path],
    *,
    dry_run: bool = False,
    resume: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
    read: str = DEFAULT_READ,
    clock: Callable[[], float] = time.time,
    leave_roots: bool | None = None,
) -> ScanReport:
    """Scan ``paths`` into the database of ``config``; see the module docstring.

    ``leave_roots`` overrides scan.leave_roots (follow links out of the roots);
    ``read`` names the function the reader processes call for each file.
    """
    if not paths:
        raise UsageError("no folder to scan: give one or more PATHs, or set paths.library in the config")
    progress = progress or NoProgress()
    started = time.monotonic()
    roots = resolve_roots(paths)
    require_a_root(roots)
    leave = config.scan.leave_roots if leave_roots is None else leave_roots

    def planner(conn: aiosqlite.Connection | None) -> Planner:
        return Planner(conn, roots, extensions=tuple(config.scan.extensions),
                       follow_symlinks=config.scan.follow_symlinks, leave_roots=leave,
                       chunk_size=config.scan.chunk_size, on_files=progress.advance)

    report = ScanReport(roots=[display(r) for r in roots], dry_run=dry_run)
    if dry_run:
        async with reading(config) as conn:
            plan = planner(conn)
            progress.start("listing", None)
            async for _ in plan.batches():
                pass
            progress.finish()
        fill_counts(report, plan)
        report.elapsed = time.monotonic() - started
        return report

    async with writing(config, "scan") as (conn, writer):
        work_key = json.dumps(sorted(report.roots), ensure_ascii=False)
        args = {"paths": [str(p) for p in paths], "workers": workers}
        async with running(writer, "scan", work_key, args, resume=resume) as run:
            report.run_id, report.resumed = run.id, run.resumed
            plan = planner(conn)
            pool = ReaderPool(
                config.workers(workers, config.scan.workers),
                timeout=config.scan.read_timeout,
                memory_mb=config.scan.read_memory_mb,
                chunk_size=config.scan.chunk_size,
                read=read,
            )
            store = Storer(writer, run, report, progress, clock, roots)

            async def to_read() -> AsyncIterator[list[str]]:
                """The files to read as the comparison finds them; its writes go straight to the writer."""
                progress.start("listing", None)
                async for batch in plan.batches():
                    if batch.ops:
                        await writer.put_group(batch.ops)
                    store.known_bad.update(batch.failed_before)
                    if batch.to_read:
                        yield batch.to_read
                # The walk is over: now the number of files to read is known.
                progress.finish()
                store.reading(plan.counts.new + plan.counts.changed)
                await writer.put_group([run.failed(display(p.path), p.reason) for p in plan.walked.problems])

            await pool.read_stream(to_read(), store.handle)
            progress.finish()
            fill_counts(report, plan)
            report.unreadable += store.unreadable
            run.counts.update({k: getattr(report, k) for k in
                               ("new", "changed", "unchanged", "reappeared", "missing", "unreadable", "read")})
            await writer.flush()
            # Failures of the whole run, including those before a resume.
            report.failed = [{"item": f["item"], "error": f["error"]} for f in await run_sql.failed_items(conn, run.id)]
            run.counts["failed"] = len(report.failed)
    report.elapsed = time.monotonic() - started
    return report


def fill_counts(report: ScanReport, plan: Planner) -> None:
    counts = plan.counts
    report.new, report.changed, report.unchanged = counts.new, counts.changed, counts.unchanged
    report.reappeared, report.missing = counts.reappeared, counts.missing
    report.unreadable = counts.still_unreadable
    report.failed = [{"item": display(p.path), "error": p.reason} for p in plan.walked.problems]
    report.skipped = [{"item": display(p.path), "reason": p.reason} for p in plan.walked.skipped]


class Storer:
    """Turns read results into writer groups: a row or an error, with its checkpoint."""

    def __init__(self, writer: Writer, run: Run, report: ScanReport, progress: Progress, clock: Callable[[], float],
                 roots: Sequence[str] = ()):
        self.writer, self.run, self.report, self.progress, self.clock = writer, run, report, progress, clock
        self.known_bad: set[str] = set()  # files to read that failed before: a success must clear them
        self.roots = sorted(roots, key=len, reverse=True)  # the innermost root first
        self.unreadable = 0
        self.handled = 0
        self.counting = False  # the reading stage shows: the walk is over and the total known

    def reading(self, total: int) -> None:
        """The walk is over: show reading progress, with what is already done."""
        self.progress.start("reading", total)
        self.progress.advance(self.handled)
        self.counting = True

    def root_of(self, path: str) -> str | None:
        return next((r for r in self.roots if is_under(path, r)), None)

    def row(self, r: ReadResult, key: str) -> dict[str, Any]:
        """The tracks row of a file read: names from the file name where the tags have none."""
        assert r.tags is not None
        row = dict(r.tags)
        notes = row.pop("notes", None) or []
        for note in notes:
            log.warning("%s: %s", key, note)
        self.report.noted += bool(notes)
        filled = fill_from_name(row, r.path, self.root_of(r.path))
        return {**row, "path": key, "path_bytes": raw_name(r.path), "size": r.size, "mtime_ns": r.mtime_ns,
                "scanned_at": self.clock(), "from_filename": json.dumps(filled) if filled else None,
                "read_notes": json.dumps(notes, ensure_ascii=False) if notes else None}

    async def handle(self, results: list[ReadResult]) -> None:
        for r in results:
            key = display(r.path)
            failed_before = key in self.known_bad
            self.known_bad.discard(key)
            if r.tags is not None:
                row = self.row(r, key)
                ops = [tracks.upsert_op(row), self.run.done(key)]
                if failed_before:
                    ops.insert(1, tracks.forget_unreadable_op(key))
                await self.writer.put_group(ops)
                self.report.read += 1
                continue
            error = r.error or "unknown error"
            log.info("%s: %s", key, error)
            ops = [self.run.failed(key, error)]
            if r.gone:
                ops.insert(0, tracks.missing_op(key))
            elif r.size is not None and r.mtime_ns is not None:
                self.unreadable += 1
                ops[:0] = [tracks.unreadable_op(key, raw_name(r.path), r.size, r.mtime_ns, error, self.clock()),
                           tracks.track_error_op(key, error)]
            await self.writer.put_group(ops)
        self.handled += len(results)
        if self.counting:
            self.progress.advance(len(results))
