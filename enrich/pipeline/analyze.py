"""`enrich analyze`: tempo, key, loudness and timbre of new and changed tracks.

Stages, in order:

    scan the paths (enrich.pipeline.scan: incremental; --no-scan skips it)
        -> select tracks under the paths that need analysis, page by page
           (new, changed since analysed, older feature version; remembered
           failures only with --retry-failed)
        -> analysis process pool (one file per worker in flight)
        -> one writer group per file: features or the failure, plus its checkpoint
        -> optionally BPM and key written into the file (--write-tags)

A dry run scans in dry-run mode too, opens the database read-only, and says
what would be analysed and about how long it would take.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from enrich.analysis.featureset import NAMES, PITCH_CLASSES, VERSION
from enrich.analysis.pool import AnalysisPool, Job, Outcome
from enrich.analysis.settings import analysis_settings
from enrich.config import Config
from enrich.errors import FileError
from enrich.library.walk import resolve_roots
from enrich.pipeline.scan import library_roots, require_a_root, scan
from enrich.playlists.refresh import refresh_snapshot
from enrich.progress import NoProgress, Progress
from enrich.runs.run import Run, running
from enrich.store import features as store
from enrich.store import runs as run_sql
from enrich.store.db import has_tables
from enrich.store.session import reading, writing
from enrich.store.writer import Writer

if TYPE_CHECKING:
    from enrich.analysis.featureset import Features

log = logging.getLogger(__name__)

PAGE = 500  # tracks selected per query
DRY_RUN_LIST = 1000  # tracks a dry run names
ASSUMED_SECONDS_PER_TRACK = 0.5  # per worker, before any run has measured it


@dataclass
class AnalyzeReport:
    roots: list[str]
    dry_run: bool = False
    feature_version: int = VERSION
    run_id: int | None = None
    resumed: bool = False
    scan: dict[str, Any] | None = None
    scan_failed: list[dict[str, Any]] = field(default_factory=list)  # {"item", "error"} from the scan step
    tracks: int = 0  # present tracks under the roots
    to_analyse: dict[str, Any] = field(default_factory=dict)  # reason -> count
    remembered_failures: int = 0  # skipped: failed before in the same file state
    already_done: int = 0  # finished by the run being resumed
    analysed: int = 0
    reanalysed: int = 0  # of the analysed: tracks whose features came from an older feature set
    older_versions: list[int] = field(default_factory=list)  # those older feature sets
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"item", "error"}
    tags_written: int = 0
    workers: int = 0
    pool: dict[str, Any] = field(default_factory=dict)
    would_analyse: list[dict[str, Any]] = field(default_factory=list)  # dry run: {"item", "why"}
    estimate_seconds: float | None = None  # dry run
    snapshot: dict[str, Any] | None = None  # {"tracks", "seconds"}: the playlists' snapshot rebuilt at the end
    elapsed: float = 0.0

    @property
    def tracks_per_second(self) -> float:
        return self.analysed / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tracks_per_second": round(self.tracks_per_second, 2)}


def tag_key(pc: int | None, mode: str | None) -> str | None:
    """Initial key as tags spell it (ID3 TKEY convention): 'C', 'F#m'."""
    if pc is None:
        return None
    return PITCH_CLASSES[pc] + ("m" if mode == "minor" else "")


async def analyze(
    config: Config,
    paths: Sequence[str | Path] = (),
    *,
    dry_run: bool = False,
    resume: bool = True,
    workers: int | None = None,
    retry_failed: bool = False,
    write_tags: bool = False,
    scan_first: bool = True,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
) -> AnalyzeReport:
    """Analyse the tracks under ``paths`` (see the module docstring)."""
    progress = progress or NoProgress()
    started = time.monotonic()
    settings = analysis_settings(config)
    roots = library_roots(config, paths)
    report = AnalyzeReport(roots=roots, dry_run=dry_run)
    n_workers = config.workers(workers, settings.workers)

    if scan_first:
        scanned = await scan(config, roots, dry_run=dry_run, resume=resume, workers=workers, progress=progress)
        report.scan = scanned.summary()
        report.scan_failed = scanned.failed
    else:
        require_a_root(resolve_roots(paths or roots))  # the audio is read from them

    if dry_run:
        await plan_dry_run(config, roots, retry_failed, n_workers, report)
        report.elapsed = time.monotonic() - started
        return report

    async with writing(config, "analyze") as (conn, writer):
        counts = await store.count_to_analyse(conn, roots, VERSION, retry_failed=retry_failed)
        fill_counts(report, counts)
        if report.to_analyse.get("older version"):
            report.older_versions = await store.older_versions(conn, roots, VERSION)
        work_key = json.dumps(sorted(roots), ensure_ascii=False)
        args = {"paths": roots, "retry_failed": retry_failed, "write_tags": write_tags, "version": VERSION}
        async with running(writer, "analyze", work_key, args, resume=resume) as run:
            report.run_id, report.resumed = run.id, run.resumed
            await writer.put_group([store.feature_set_op(VERSION, NAMES)])
            total = sum(report.to_analyse.values())
            report.workers = max(1, min(n_workers, total))
            sink = Sink(writer, run, report, progress, clock, write_tags)
            pool = AnalysisPool(report.workers, settings, timeout=settings.timeout,
                                max_tasks=settings.max_tasks_per_worker)
            progress.start("analysing", total)
            try:
                if total:
                    stats = await pool.run(jobs(conn, roots, run, report, sink, retry_failed), sink.handle)
                    report.pool = {k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(stats).items()}
            finally:
                progress.finish()
                # Counter.update adds: a resumed run's counts sum both parts. The worker count is not a sum.
                run.counts.update(analysed=report.analysed, failed=sink.failed, tags_written=report.tags_written,
                                  seconds=round(time.monotonic() - started))
                run.counts["workers"] = report.workers
            await writer.flush()
            # Failures of the whole run, including those before a resume.
            report.failed = [{"item": f["item"], "error": f["error"]} for f in await run_sql.failed_items(conn, run.id)]
    refreshed = await refresh_snapshot(config, progress)
    report.snapshot = asdict(refreshed) if refreshed else None
    report.elapsed = time.monotonic() - started
    return report


def fill_counts(report: AnalyzeReport, counts: dict[str, Any]) -> None:
    report.tracks = counts.pop("tracks")
    report.remembered_failures = counts.pop("remembered_failures")
    report.to_analyse = counts


async def jobs(conn: aiosqlite.Connection, roots: Sequence[str], run: Run, report: AnalyzeReport, sink: Sink,
               retry_failed: bool) -> AsyncIterator[Job]:
    """The tracks to analyse, a page at a time, minus those the resumed run finished."""
    after = 0
    while True:
        page = await store.tracks_to_analyse(conn, roots, VERSION, after_id=after, limit=PAGE,
                                             retry_failed=retry_failed)
        if not page:
            return
        after = page[-1].id
        for track in page:
            # Finished in this run, unless its file changed since (then the features are stale);
            # a file that failed in this run is not tried twice.
            if run.is_finished(track.path) and track.why != "changed":
                report.already_done += 1
                sink.progress.advance()
                continue
            sink.pending[track.id] = track
            real = os.fsdecode(track.path_bytes) if track.path_bytes else track.path
            yield Job(track.id, real)


class Sink:
    """Turns outcomes into writer groups: features or the failure, with the checkpoint."""

    def __init__(self, writer: Writer, run: Run, report: AnalyzeReport, progress: Progress,
                 clock: Callable[[], float], write_tags: bool):
        self.writer, self.run, self.report, self.progress = writer, run, report, progress
        self.clock, self.write_tags = clock, write_tags
        self.pending: dict[int, store.TrackToAnalyse] = {}
        self.failed = 0

    async def handle(self, outcome: Outcome) -> None:
        track = self.pending.pop(outcome.job.track_id)
        now = self.clock()
        if outcome.features is None:
            self.failed += 1
            error = outcome.error or "analysis failed"
            log.info("%s: %s", track.path, error)
            await self.writer.put_group([store.failure_op(track, VERSION, error, now),
                                         self.run.failed(track.path, error)])
        else:
            self.report.analysed += 1
            self.report.reanalysed += track.why == "older version"
            if self.write_tags:
                # The features are stored with the file as the tags left it, in one row: a separate
                # update could run ahead of the row's insert in a batch, and the next run reanalyse.
                track = await self.tag(track, outcome.job.path, outcome.features)
            await self.writer.put_group([store.features_op(track, VERSION, outcome.features, now),
                                         store.forget_failure_op(track.id), self.run.done(track.path)])
        self.progress.advance()

    async def tag(self, track: store.TrackToAnalyse, real_path: str, features: Features) -> store.TrackToAnalyse:
        """BPM and initial key into the file: the track with the file's new size and mtime. A
        failure is logged and the track comes back as it was (the features are stored all the same)."""
        from enrich.library.tagwrite import write_tags

        key = tag_key(features.key_pc, features.mode)
        if features.tempo is None and key is None:
            return track
        try:
            await asyncio.to_thread(write_tags, real_path, bpm=features.tempo, key=key)
            stat = os.stat(real_path)
        except (FileError, OSError) as exc:
            log.warning("%s", exc)
            return track
        self.report.tags_written += 1
        return track._replace(size=stat.st_size, mtime_ns=stat.st_mtime_ns)


async def plan_dry_run(config: Config, roots: list[str], retry_failed: bool, workers: int,
                       report: AnalyzeReport) -> None:
    async with reading(config) as conn:
        if conn is None:
            return
        if not await has_tables(conn, "features", "feature_sets", "analysis_failures"):
            return  # a database from before the features tables: nothing analysed yet
        counts = await store.count_to_analyse(conn, roots, VERSION, retry_failed=retry_failed)
        fill_counts(report, counts)
        page = await store.tracks_to_analyse(conn, roots, VERSION, limit=DRY_RUN_LIST, retry_failed=retry_failed)
        report.would_analyse = [{"item": t.path, "why": t.why} for t in page]
        per_track = await measured_seconds_per_track(conn)
    total = sum(report.to_analyse.values())
    report.workers = max(1, min(workers, total)) if total else 0
    report.estimate_seconds = round(total * per_track / max(1, report.workers), 1)


async def measured_seconds_per_track(conn: aiosqlite.Connection) -> float:
    """Worker-seconds per track of the latest analyze run that analysed enough to tell, else an assumption."""
    for past in await run_sql.list_runs(conn, 20, "analyze"):
        counts = past["counts"]
        done = counts.get("analysed", 0) + counts.get("failed", 0)
        if done >= 5 and counts.get("seconds"):
            return float(counts["seconds"] * max(1, counts.get("workers", 1)) / done)
    return ASSUMED_SECONDS_PER_TRACK
