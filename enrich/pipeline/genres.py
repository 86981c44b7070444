"""`enrich genres`: scan, then find genres for new, changed and stale tracks.

Stages, in order:

    scan the paths (enrich.pipeline.scan: incremental)
      -> pick tracks: new, changed (artist/album/title/ids or settings) or older than their TTL
      -> per track, concurrently: Last.fm + MusicBrainz votes (per-artist answers shared)
      -> consensus (pure) -> the policy may send the track to the Claude classifier lane
      -> one writer group per track: its genres, its state and its checkpoint
      -> optionally write the genres into the files (--write-tags)

A dry run reads the database read-only, asks the sources, and reports the
old -> new genres of each track it would touch; it writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from enrich.config import Config, config_dir
from enrich.errors import FileError, UsageError
from enrich.genres.consensus import Outcome, decide
from enrich.genres.file_tags import file_votes, genres_to_write, stored_list
from enrich.genres.policy import classifier_reason
from enrich.genres.settings import GenresConfig, genres_config
from enrich.genres.vocabulary import Vocabulary, load_vocabulary
from enrich.genres.votes import Vote
from enrich.net import open_client
from enrich.pipeline.scan import library_roots, scan
from enrich.playlists.refresh import refresh_snapshot
from enrich.progress import NoProgress, Progress
from enrich.runs.run import Run, running
from enrich.sources.classifier import PROMPT_VERSION, Item, item_key
from enrich.sources.classifier_lane import ClassifierLane
from enrich.sources.evidence import Evidence, first_artist
from enrich.sources.limits import capped_names
from enrich.store import genres as store
from enrich.store.db import has_tables
from enrich.store.session import reading, writing
from enrich.store.writer import Writer

if TYPE_CHECKING:
    from enrich.net.client import Client, Clock

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
SaveBatch = Callable[[dict[str, Any] | None], Awaitable[None]]  # checkpoints a Claude batch's id
DAY = 86400.0
FAILED_LISTED = 1000


@dataclass
class GenresReport:
    roots: list[str]
    dry_run: bool = False
    offline: bool = False
    run_id: int | None = None
    resumed: bool = False
    scan: dict[str, Any] | None = None
    tracks: int = 0            # under the roots
    to_enrich: int = 0
    enriched: int = 0          # genres stored (or, dry run, found)
    empty: int = 0             # no genre found
    unchanged: int = 0         # fresh: not looked at
    changed: int = 0           # genres differ from before
    tags_written: int = 0
    failed_count: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)        # {"item", "error"}: the first FAILED_LISTED
    changes: list[dict[str, Any]] = field(default_factory=list)       # {"track", "path", "old", "new"}
    sources: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    claude: dict[str, Any] = field(default_factory=dict)
    claude_not_asked: int = 0  # dry run: tracks the policy would send to Claude, not asked (it costs money)
    snapshot: dict[str, Any] | None = None  # {"tracks", "seconds"}: the playlists' snapshot rebuilt at the end
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fail(self, item: str, error: str) -> None:
        """Count a failure; list the first ones (all are in the run's items: `enrich runs show`)."""
        self.failed_count += 1
        if len(self.failed) < FAILED_LISTED:
            self.failed.append({"item": item, "error": error})


def basis(vocab_dir: Path | None, cfg: GenresConfig, model: str) -> str:
    """A short hash of everything that shapes the result: changing it re-enriches tracks."""
    digest = hashlib.sha256()
    folder = vocab_dir or config_dir() / "genres"
    for name in ("tree.txt", "aliases.toml", "ignore.toml"):
        with contextlib.suppress(OSError):
            digest.update((folder / name).read_bytes())
    c = cfg.classifier
    digest.update(json.dumps([cfg.top_n, cfg.threshold, cfg.order, cfg.parent_share, dict(cfg.weights),
                              cfg.lastfm_album_tags, list(cfg.musicbrainz_lookups), c.mode, list(c.when),
                              c.weak_below, c.conflict_ratio, c.min_confidence, model, PROMPT_VERSION]).encode())
    return digest.hexdigest()[:16]


class Enricher:
    """One run's work over the chosen tracks; ``sink`` stores or records results."""

    def __init__(self, client: Client, vocab: Vocabulary, cfg: GenresConfig, report: GenresReport, progress: Progress,
                 sink: Sink, clock: Callable[[], float], saved_batch: dict[str, Any] | None = None,
                 save_batch: SaveBatch | None = None, cached_answers: dict[str, Any] | None = None,
                 dry_run: bool = False, sleep: Sleep = asyncio.sleep):
        self.client, self.vocab, self.cfg, self.report = client, vocab, cfg, report
        self.progress, self.sink, self.clock = progress, sink, clock
        self.settings = cfg.consensus()
        self.policy = cfg.classifier.policy()
        self.saved_batch, self.save_batch = saved_batch, save_batch
        self.cached_answers = cached_answers or {}
        self.dry_run = dry_run
        self.sleep = sleep
        self.waiting: dict[int, tuple[Any, ...]] = {}      # track id -> (track, votes, reason) while Claude is asked

    async def run(self, todo: list[store.TrackToDo]) -> ClassifierLane | None:
        slots = asyncio.Semaphore(self.cfg.concurrency)
        async with asyncio.TaskGroup() as tg:
            self.evidence = Evidence(self.client, self.cfg, tg.create_task, self.clock)
            lane = None
            if self.policy.mode != "never" and self.client.is_available("claude"):
                lane = ClassifierLane(self.client, self.cfg.classifier, self.vocab.genres, tg.create_task,
                                      self.answered,
                                      use_batches=self.cfg.classifier.api == "batch" and not self.dry_run,
                                      saved_batch=self.saved_batch, save_batch=self.save_batch, sleep=self.sleep)
            self.lane = lane

            async def one(track: store.TrackToDo) -> None:
                try:
                    await self.track(track)
                except Exception as exc:  # one odd track must not stop the run
                    log.exception("genres: unexpected error on %s", track.path)
                    await self.sink.failed(track, f"unexpected error: {exc!r}"[:300])
                finally:
                    slots.release()

            tg.create_task(self.evidence.prefetch_searches(todo))
            for track in todo:
                await slots.acquire()
                tg.create_task(one(track))
            for _ in range(self.cfg.concurrency):   # every track has passed the sources
                await slots.acquire()
            self.evidence.searcher.flush()
            if lane is not None:
                await lane.close()
        return lane

    async def track(self, track: store.TrackToDo) -> None:
        gathered = await self.evidence.gather(track)
        if gathered.errors:
            await self.sink.failed(track, "; ".join(dict.fromkeys(gathered.errors)))
            return
        artist = first_artist(track.artist) or first_artist(track.album_artist)
        outcome = decide(gathered.votes, self.vocab, self.settings, artist)
        votes = list(gathered.votes)
        if self.settings.weights.get("file") and track.tag_genres:
            # The file's own genres join the web sources at the level that decided (as Claude's answer does),
            # so one tag in the file does not outrank a whole artist's evidence by being "track level".
            level = outcome.genres[0].level if outcome.genres else "track"
            votes += file_votes(track.tag_genres, level)
            outcome = decide(votes, self.vocab, self.settings, artist)
        lane = self.lane
        reason = classifier_reason(outcome, self.vocab, self.policy) if lane is not None else None
        if reason is not None and not (artist and track.title):
            reason = None  # nothing to ask about: Claude would be paid to guess from a blank
        if lane is None or reason is None:
            await self.sink.done(track, outcome, None)
            return
        item = Item(track.id, artist, track.title or "", track.album or "",
                    tuple(dict.fromkeys(v.raw for v in gathered.votes))[:10])
        key = item_key(item, lane.model)
        level = outcome.genres[0].level if outcome.genres else "track"
        self.waiting[track.id] = (track, votes, reason, key, level)
        if key in self.cached_answers:
            await self.answered(track.id, self.cached_answers[key], None, cached=True)
        elif self.dry_run and not self.client.offline:
            # A dry run spends no money: the track shows what the free sources say, and the report counts it.
            self.waiting.pop(track.id)
            self.report.claude_not_asked += 1
            await self.sink.done(track, outcome, reason)
        else:
            lane.submit(item)

    async def answered(self, ref: int, answer: list[tuple[str, float]] | None, error: str | None,
                       cached: bool = False) -> None:
        entry = self.waiting.pop(ref, None)
        if entry is None:
            return
        track, votes, reason, key, level = entry
        if error is not None or answer is None:
            await self.sink.failed(track, error or "claude: no answer for this track")
            return
        now = self.clock()
        # The classifier joins the others at the level that decided, rather than outvoting them from above.
        claude_votes = [Vote("claude", level, genre, confidence * 100, now) for genre, confidence in answer]
        artist = first_artist(track.artist) or first_artist(track.album_artist)
        outcome = decide(list(votes) + claude_votes, self.vocab, self.settings, artist)
        await self.sink.done(track, outcome, reason, (key, answer) if not cached else None)


class StoreSink:
    """Results into the database, each with its checkpoint in one group."""

    def __init__(self, writer: Writer, run: Run, report: GenresReport, old: dict[int, list[str]], progress: Progress,
                 clock: Callable[[], float]):
        self.writer, self.run, self.report, self.old = writer, run, report, old
        self.progress, self.clock = progress, clock

    async def done(self, track: store.TrackToDo, outcome: Outcome, reason: str | None,
                   classified: tuple[str, list[tuple[str, float]]] | None = None) -> None:
        now = self.clock()
        ops = store.result_ops(track.id, track.fingerprint, outcome.genres,
                               [asdict(d) for d in outcome.dropped], reason, now)
        if classified:
            ops.append(store.classification_op(classified[0], classified[1], now))
        ops.append(self.run.done(str(track.id)))
        await self.writer.put_group(ops)
        note(self.report, track, outcome, self.old)
        self.progress.advance()

    async def failed(self, track: store.TrackToDo, error: str) -> None:
        await self.writer.put_group([self.run.failed(str(track.id), error)])
        self.report.fail(track.path, error)
        self.progress.advance()


class DrySink:
    """Results only into the report: old -> new per track."""

    def __init__(self, report: GenresReport, old: dict[int, list[str]], progress: Progress):
        self.report, self.old, self.progress = report, old, progress

    async def done(self, track: store.TrackToDo, outcome: Outcome, reason: str | None,
                   classified: tuple[str, list[tuple[str, float]]] | None = None) -> None:
        note(self.report, track, outcome, self.old, always=True)
        self.progress.advance()

    async def failed(self, track: store.TrackToDo, error: str) -> None:
        self.report.fail(track.path, error)
        self.progress.advance()


Sink = StoreSink | DrySink


def note(report: GenresReport, track: store.TrackToDo, outcome: Outcome, old: dict[int, list[str]],
         always: bool = False) -> None:
    new = [g.genre for g in outcome.genres]
    before = old.get(track.id, [])
    report.enriched += bool(new)
    report.empty += not new
    if new != before:
        report.changed += 1
    if always or (new != before and len(report.changes) < 1000):
        name = f"{track.artist or '?'} - {track.title or '?'}"
        report.changes.append({"track": name, "path": track.path, "old": before, "new": new})


async def genres(
    config: Config,
    paths: Sequence[str | Path] = (),
    *,
    dry_run: bool = False,
    resume: bool = True,
    offline: bool = False,
    tags: bool = False,
    scan_first: bool = True,
    workers: int | None = None,
    force: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
    net_clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
) -> GenresReport:
    """Find genres for the tracks under ``paths`` (see the module docstring)."""
    progress = progress or NoProgress()
    started = time.monotonic()
    roots = library_roots(config, paths)
    cfg = genres_config(config)
    vocab_dir = Path(cfg.vocabulary).expanduser() if cfg.vocabulary else None
    vocab = load_vocabulary(vocab_dir)
    model = config.sources["claude"].model
    fingerprint_basis = basis(vocab_dir, cfg, model)
    report = GenresReport(roots=roots, dry_run=dry_run, offline=offline)
    now = clock()
    # --retry-failed: tracks for which nothing was found are asked again now, not after empty_ttl_days
    # (tracks that failed are always asked again: a failure stores no state).
    empty_stale = now + 1 if retry_failed else now - cfg.empty_ttl_days * DAY
    stale = dict(stale_before=now - cfg.ttl_days * DAY, empty_stale_before=empty_stale)

    if scan_first:
        scanned = await scan(config, roots, dry_run=dry_run, resume=resume, workers=workers, progress=progress)
        report.scan = scanned.summary()
        for problem in scanned.failed:  # a folder given that is gone fails the run; a bad file is the scan's
            if problem["item"] in roots:
                report.fail(problem["item"], problem["error"])

    if dry_run:
        async with reading(config) as conn:
            if conn is None:
                report.elapsed = time.monotonic() - started
                return report
            # A database from before the genre tables: every track is to do, none was done.
            known = await has_tables(conn, "genre_state", "track_genres", "genre_classifications")
            todo = await tracks_to_enrich(conn, roots, fingerprint_basis, stale) if known else []
            report.tracks = await store.count_tracks(conn, roots)
            old = await store.stored_genres(conn, [t.id for t in todo]) if todo else {}
            cached = await store.classifications(conn, classification_keys(todo, model)) if known else {}
        report.to_enrich, report.unchanged = len(todo), report.tracks - len(todo)
        if todo:
            await enrich(config, todo, vocab, cfg, report, progress, DrySink(report, old, progress), clock,
                         offline, net_clock, sleep, dry_run=True, cached=cached)
        report.elapsed = time.monotonic() - started
        return report

    async with writing(config, "genres") as (conn, writer):
        todo = await tracks_to_enrich(conn, roots, fingerprint_basis, stale)
        report.tracks = await store.count_tracks(conn, roots)
        report.to_enrich, report.unchanged = len(todo), report.tracks - len(todo)
        work_key = json.dumps(sorted(roots), ensure_ascii=False)
        async with running(writer, "genres", work_key, {"paths": roots, "offline": offline}, resume=resume) as run:
            report.run_id, report.resumed = run.id, run.resumed
            todo = [t for t in todo if not run.is_finished(str(t.id))]
            if todo:
                old = await store.stored_genres(conn, [t.id for t in todo])
                cached = await store.classifications(conn, classification_keys(todo, model))

                async def save_batch(state: dict[str, Any] | None) -> None:
                    await writer.put_group([run.save_state(claude_batch=state)])
                    await writer.flush()

                await enrich(config, todo, vocab, cfg, report, progress,
                             StoreSink(writer, run, report, old, progress, clock), clock, offline, net_clock, sleep,
                             saved_batch=run.state.get("claude_batch"), save_batch=save_batch, cached=cached)
            await writer.flush()
            if tags:
                await write_back(conn, writer, roots, report, progress, keep_existing=cfg.keep_existing and not force)
            run.counts.update(enriched=report.enriched, empty=report.empty, changed=report.changed,
                              unchanged=report.unchanged, tags_written=report.tags_written)
            run.counts["failed"] = report.failed_count
    refreshed = await refresh_snapshot(config, progress)
    report.snapshot = asdict(refreshed) if refreshed else None
    report.elapsed = time.monotonic() - started
    return report


async def tracks_to_enrich(conn: aiosqlite.Connection, roots: Sequence[str], fingerprint_basis: str,
                           stale: dict[str, float]) -> list[store.TrackToDo]:
    """The tracks to work on, their names cut to what the sources are sent (enrich.sources.limits)."""
    return [capped_names(t) for t in await store.tracks_to_enrich(conn, roots, fingerprint_basis, **stale)]


def classification_keys(todo: Sequence[store.TrackToDo], model: str) -> list[str]:
    return [item_key(Item(t.id, first_artist(t.artist) or first_artist(t.album_artist), t.title or "", t.album or ""),
                     model) for t in todo]


async def explain(config: Config, ref: str) -> list[dict[str, Any]]:
    """Why the tracks matching ``ref`` (id, path, 'Artist - Title') have their genres."""
    async with reading(config) as conn:
        if conn is None:
            raise UsageError(f"nothing stored in {config.paths.db} yet; run `enrich genres` first")
        found = await store.find_tracks(conn, ref)
        if not found:
            raise UsageError(f"no track matches {ref!r}; give a track id, a path, or 'Artist - Title'")
        return [await store.explanation(conn, track) for track in found]


async def enrich(config: Config, todo: list[store.TrackToDo], vocab: Vocabulary, cfg: GenresConfig,
                 report: GenresReport,
                 progress: Progress, sink: Sink, clock: Callable[[], float], offline: bool, net_clock: Clock | None,
                 sleep: Sleep, *, dry_run: bool = False, saved_batch: dict[str, Any] | None = None,
                 save_batch: SaveBatch | None = None, cached: dict[str, Any] | None = None) -> None:
    async with open_client(config, offline=offline, clock=net_clock) as client:
        progress.start("genres", len(todo))
        enricher = Enricher(client, vocab, cfg, report, progress, sink, clock, saved_batch, save_batch,
                            cached, dry_run, sleep)
        try:
            lane = await enricher.run(todo)
        finally:
            progress.finish()
            net = client.report()
            report.sources, report.notices = net["sources"], net["notices"]
        if lane is not None:
            report.claude = lane.stats.as_dict()   # answers from the HTTP cache cost nothing
        elif cfg.classifier.mode != "never":
            report.claude = {"skipped": client.why_unavailable("claude")}


async def write_back(conn: aiosqlite.Connection, writer: Writer, roots: Sequence[str], report: GenresReport,
                     progress: Progress, *, keep_existing: bool = True) -> None:
    """Write stored genres into files that do not hold them yet (safe writer, in threads);
    with ``keep_existing`` the file's own genres stay, first."""
    from enrich.library.tagwrite import write_tags  # mutagen's writers: only a run that writes tags loads them

    todo = []
    for track_id, path, path_bytes, found, current in await store.tags_to_write(conn, roots):
        target = genres_to_write(stored_list(current), found, keep_existing)
        if target != stored_list(current):
            todo.append((track_id, path, path_bytes, target))
    progress.start("writing tags", len(todo))
    slots = asyncio.Semaphore(4)

    async def one(track_id: int, path: str, path_bytes: bytes | None, genres_list: list[str]) -> None:
        # The stored path shows bytes that are not UTF-8 as \xNN; the raw bytes open the file.
        real = os.fsdecode(path_bytes) if path_bytes else path
        async with slots:
            try:
                await asyncio.to_thread(write_tags, real, genres=genres_list)
                st = os.stat(real)
            except FileError as exc:
                report.fail(path, exc.reason)
            except OSError as exc:
                report.fail(path, f"cannot write tags: {exc.strerror}")
            else:
                await writer.put_group([store.tags_written_op(track_id, genres_list, st.st_size, st.st_mtime_ns)])
                report.tags_written += 1
            progress.advance()

    async with asyncio.TaskGroup() as tg:
        for row in todo:
            tg.create_task(one(*row))
    progress.finish()
