"""The Python front door: ``enrich.Library``.

    from enrich import Library
    lib = Library(db="~/music.db")
    for t in lib.query("genre:jazz bpm:120..130", sort=["-bpm"]):
        print(t.artist, t.title, t.bpm, t.camelot)

Every command of the command line calls one method here and renders what it
returns. Reading methods open the database read-only for the call (or for as
long as an iterator is being consumed) and return plain records from
``enrich.browse.records``; nothing is locked or created. ``scan``, ``genres``,
``analyze``, ``playlists``, ``explain``, ``runs`` and the rest run what the
commands of those names run and return typed records (``enrich.results``, and
the commands' reports); Ctrl-C or SIGTERM during one raises ``Interrupted``
after what was finished is stored.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from enrich import config as config_mod
from enrich import running
from enrich.errors import StoreError, UsageError
from enrich.progress import Progress

if TYPE_CHECKING:  # the queries' and the results' modules load with the calls that need them
    from enrich.browse import query as q
    from enrich.browse.records import AlbumRecord, ArtistRecord, TrackRecord
    from enrich.browse.report import ReportData
    from enrich.pipeline.analyze import AnalyzeReport
    from enrich.pipeline.genres import GenresReport
    from enrich.pipeline.scan import ScanReport
    from enrich.results import (
        CacheCleared,
        CachePruned,
        CacheStats,
        Explanation,
        PlaylistsResult,
        PromptPlaylist,
        ReportFile,
        RunDetail,
        RunRecord,
        Settings,
    )

T = TypeVar("T")


@dataclass(frozen=True)
class Stats:
    """What ``enrich stats`` shows; every part is plain data (JSON-ready)."""

    db: str
    tracks: dict[str, int]
    genres: dict[str, Any]
    top_genres: list[dict[str, Any]]
    tags: dict[str, list[dict[str, Any]]]
    features: dict[str, Any]
    failures: dict[str, list[dict[str, Any]]]
    last_runs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"db": self.db, "tracks": self.tracks, "genres": self.genres, "top_genres": self.top_genres,
                "tags": self.tags, "features": self.features, "failures": self.failures,
                "last_runs": self.last_runs}


@dataclass(frozen=True)
class DuplicatesReport:
    """What ``enrich duplicates`` shows: groups of copies, each with the copy to keep first."""

    db: str
    tracks: int
    with_features: int
    by: list[str]
    groups: list[dict[str, Any]]  # {"keep": copy, "why": text, "matched_by": [kind, ...], "others": [copy, ...]}

    @property
    def others(self) -> list[str]:
        """The paths of every copy not kept, group by group."""
        return [o["path"] for g in self.groups for o in g["others"]]

    def as_dict(self) -> dict[str, Any]:
        return {"db": self.db, "tracks": self.tracks, "with_features": self.with_features, "by": self.by,
                "groups": self.groups, "copies_not_kept": sum(len(g["others"]) for g in self.groups)}


class Library:
    """One music library's database, with the settings that go with it.

    ``db`` overrides the configured database; ``config`` is a settings file
    (or an already loaded :class:`enrich.config.Config`).
    """

    def __init__(self, db: str | os.PathLike[str] | None = None,
                 config: str | os.PathLike[str] | config_mod.Config | None = None) -> None:
        if isinstance(config, config_mod.Config):
            self.config = config if db is None else dataclasses.replace(
                config, paths=dataclasses.replace(config.paths, db=Path(db).expanduser()))
        else:
            self.config = config_mod.load(config, overrides={
                "paths.db": None if db is None else str(Path(db).expanduser())})

    @property
    def db(self) -> Path:
        return Path(self.config.paths.db)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        from enrich.store import browse as sql
        from enrich.store.readonly import connect_readonly
        conn = connect_readonly(self.db, self.config.store.busy_timeout_ms)
        sql.prepare(conn)
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.db}: cannot read the library ({exc}); is it an enrich database?") from exc
        finally:
            conn.close()

    # ------------------------------------------------------------ queries

    def parse(self, terms: str | Sequence[str] = ()) -> q.Query:
        """A query from a string ('genre:jazz bpm:120..130') or from words already split."""
        from enrich.browse import query as q
        words = shlex.split(terms) if isinstance(terms, str) else list(terms)
        query = q.parse(words)
        if any(isinstance(c, q.Genre) for t in query.terms for c in t.options):
            query = self._resolve_genres(query)
        return query

    def _resolve_genres(self, query: q.Query) -> q.Query:
        from enrich.browse import query as q
        from enrich.genres.normalise import fold
        from enrich.genres.settings import genres_config
        from enrich.genres.vocabulary import load_vocabulary

        directory = genres_config(self.config).vocabulary
        vocabulary = load_vocabulary(Path(directory).expanduser() if directory else None)
        children: dict[str, list[str]] = defaultdict(list)
        for genre, parent in vocabulary.parent.items():
            children.setdefault(genre, [])
            if parent:
                children[parent].append(genre)
        return q.resolve_genres(query, lambda name: vocabulary.keys.get(fold(name)), children)

    def query(self, terms: str | Sequence[str] = (), *, sort: Sequence[str] = (),
              limit: int | None = None) -> Iterator[TrackRecord]:
        """Tracks matching ``terms``, streamed in ``sort`` order (fields; '-' first for descending)."""
        from enrich.store import browse as sql
        parsed = self.parse(terms)
        sql.order_clause(sort)  # a bad sort field fails before anything is read
        return self._stream(sql.tracks, parsed, sort=sort, limit=limit)

    def _stream(self, reader: Callable[..., Iterator[T]], *args: Any, **kwargs: Any) -> Iterator[T]:
        """Rows of ``reader`` while the connection stays open; it closes when they run out."""
        with self.connection() as conn:
            yield from reader(conn, *args, **kwargs)

    def albums(self, terms: str | Sequence[str] = (), *, limit: int | None = None) -> Iterator[AlbumRecord]:
        from enrich.store import browse as sql
        return self._stream(sql.albums, self.parse(terms), limit=limit)

    def artists(self, terms: str | Sequence[str] = (), *, limit: int | None = None) -> Iterator[ArtistRecord]:
        from enrich.store import browse as sql
        return self._stream(sql.artists, self.parse(terms), limit=limit)

    def export_rows(self, terms: str | Sequence[str] = (), *, sort: Sequence[str] = (),
                    limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Every exported column of each matching track (see README, 'The database')."""
        from enrich.store import browse as sql
        parsed = self.parse(terms)
        sql.order_clause(sort)
        return self._stream(sql.export_rows, parsed, sort=sort, limit=limit)

    def export_tags(self, terms: str | Sequence[str] = (), *, sort: Sequence[str] = (),
                    limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Each matching track as the tag fields taggers import (ARTIST, GENRE joined with ';', BPM whole,
        INITIALKEY like 'Am'; the names in ``enrich.browse.tagfields.TAG_COLUMNS``)."""
        from enrich.browse.tagfields import tag_fields

        return (tag_fields(row) for row in self.export_rows(terms, sort=sort, limit=limit))

    def track(self, ref: str | int) -> TrackRecord:
        """One track by id, path, or 'Artist - Title' (words of it are enough when they name one track)."""
        from enrich.store import browse as sql
        with self.connection() as conn:
            found = sql.find_track(conn, str(ref))
        if not found:
            raise UsageError(f"no track matches {str(ref)!r}; try an id from `enrich ls`, a path or 'Artist - Title'")
        exact = [t for t in found if t.path == str(ref) or str(t.id) == str(ref)]
        if len(found) > 1 and not exact:
            names = "; ".join(f"{t.id}: {t.artist} - {t.title}" for t in found)
            raise UsageError(f"{str(ref)!r} matches several tracks ({names}); give more of the name or an id")
        return (exact or found)[0]

    # ------------------------------------------------------------ summaries

    def stats(self, top: int = 20) -> Stats:
        from enrich.store import stats as stats_sql
        with self.connection() as conn:
            return Stats(
                db=str(self.db),
                tracks=stats_sql.track_counts(conn),
                genres=stats_sql.genre_counts(conn),
                top_genres=stats_sql.top_genres(conn, top),
                tags=stats_sql.dropped_tags(conn, top),
                features=stats_sql.feature_counts(conn),
                failures=stats_sql.failures(conn, top),
                last_runs=stats_sql.last_runs(conn),
            )

    def report_data(self, map_points: int = 10_000) -> ReportData:
        """Everything `enrich report` draws; the map holds at most ``map_points`` tracks (a spread sample)."""
        from enrich.browse.report import ReportData
        from enrich.genres.settings import genres_config
        from enrich.genres.vocabulary import load_vocabulary
        from enrich.store import stats as stats_sql

        directory = genres_config(self.config).vocabulary
        vocabulary = load_vocabulary(Path(directory).expanduser() if directory else None)
        stats = self.stats().as_dict()
        with self.connection() as conn:
            total, names, rows = stats_sql.feature_sample(conn, map_points)
            return ReportData(
                db=str(self.db), stats=stats, first_genres=stats_sql.first_genres(conn),
                parents=dict(vocabulary.parent), bpm_bins=stats_sql.histogram(conn, "tempo", 2.0),
                loudness_bins=stats_sql.histogram(conn, "loudness", 0.5), camelot=stats_sql.camelot_counts(conn),
                map_total=total, map_names=names, map_rows=rows, runs=stats_sql.run_history(conn),
            )

    def report(self, out: str | os.PathLike[str], *, map_points: int = 10_000) -> ReportFile:
        """Write the self-contained HTML report to ``out`` (it appears only when complete), as `enrich report`."""
        from enrich.browse.report import render
        from enrich.results import ReportFile

        target = Path(out).expanduser()
        if target.is_dir():
            raise UsageError(f"{target}: is a folder; give --out a file name")
        data = self.report_data(map_points)
        page = render(data)
        partial = target.with_name(f".{target.name}.partial")
        try:
            partial.write_text(page, encoding="utf-8")
            os.replace(partial, target)
        except OSError as exc:
            raise UsageError(f"{target}: cannot write the report: {exc.strerror}") from exc
        finally:  # also on Ctrl-C: no half page is left beside the target
            partial.unlink(missing_ok=True)
        return ReportFile(out=str(target), bytes=len(page.encode("utf-8")), map_points=len(data.map_rows),
                          tracks_with_features=data.map_total)

    # ------------------------------------------------------------ settings and the HTTP cache

    def settings(self) -> Settings:
        """Every setting in force with where it came from, and the paths used (as `enrich config`)."""
        from enrich.effective import effective

        return effective(self.config)

    def cache_stats(self) -> CacheStats:
        """Entries and bytes per source in the disk HTTP cache, and the last run's hit rate."""
        from enrich.net import upkeep
        from enrich.results import CacheStats

        return CacheStats(**upkeep.stats(self.config))

    def cache_prune(self, max_mb: float | None = None, *, dry_run: bool = False) -> CachePruned:
        """Remove expired and unreadable entries, then the oldest beyond ``max_mb`` ([http] cache_max_mb)."""
        from enrich.net import upkeep
        from enrich.results import CachePruned

        return CachePruned(**upkeep.prune(self.config, max_mb, dry_run=dry_run))

    def cache_clear(self, source: str | None = None, *, dry_run: bool = False) -> CacheCleared:
        """Remove every cached reply (or only ``source``'s)."""
        from enrich.net import upkeep
        from enrich.results import CacheCleared

        return CacheCleared(**upkeep.clear(self.config, source, dry_run=dry_run))

    # ------------------------------------------------------------ long commands
    #
    # Each runs what the command of its name runs, to its end. Ctrl-C or SIGTERM
    # cancels it cleanly: what was finished stays stored and Interrupted is
    # raised (the command exits 130); the same call again resumes. ``progress``
    # receives the stages as they go (the command draws them on stderr).

    def scan(self, paths: Sequence[str | os.PathLike[str]] = (), *, dry_run: bool = False, resume: bool = True,
             workers: int | None = None, leave_roots: bool | None = None,
             progress: Progress | None = None) -> ScanReport:
        """Read the files under ``paths`` (default: paths.library) into the database, as `enrich scan`."""
        from enrich.pipeline.scan import scan

        return running.run(scan(self.config, [str(p) for p in paths], dry_run=dry_run, resume=resume,
                                workers=workers, progress=progress, leave_roots=leave_roots))

    def genres(self, paths: Sequence[str | os.PathLike[str]] = (), *, dry_run: bool = False, resume: bool = True,
               offline: bool = False, write_tags: bool = False, force: bool = False, retry_failed: bool = False,
               scan_first: bool = True, workers: int | None = None,
               progress: Progress | None = None) -> GenresReport:
        """Find genres for new, changed and stale tracks under ``paths``, as `enrich genres`.

        ``write_tags`` also writes them into the files (adding to the genres there unless ``force``)."""
        from enrich.pipeline.genres import genres

        return running.run(genres(self.config, [str(p) for p in paths], dry_run=dry_run, resume=resume,
                                  offline=offline, tags=write_tags, scan_first=scan_first, workers=workers,
                                  force=force, retry_failed=retry_failed, progress=progress))

    def analyze(self, paths: Sequence[str | os.PathLike[str]] = (), *, dry_run: bool = False, resume: bool = True,
                workers: int | None = None, retry_failed: bool = False, write_tags: bool = False,
                scan_first: bool = True, progress: Progress | None = None) -> AnalyzeReport:
        """Analyse the audio of new and changed tracks under ``paths``, as `enrich analyze`."""
        from enrich.pipeline.analyze import analyze

        return running.run(analyze(self.config, [str(p) for p in paths], dry_run=dry_run, resume=resume,
                                   workers=workers, retry_failed=retry_failed, write_tags=write_tags,
                                   scan_first=scan_first, progress=progress))

    def explain(self, ref: str | int) -> list[Explanation]:
        """Why the tracks matching ``ref`` (id, path, 'Artist - Title') have their genres: votes, scores,
        tags not used; as `enrich genres --explain`."""
        from enrich.pipeline.genres import explain
        from enrich.results import Explanation

        return [Explanation.from_dict(e) for e in running.run(explain(self.config, str(ref)))]

    def playlists(self, seeds: Sequence[str] = (), *, to: str | None = None, genre: str | None = None,
                  auto: int = 0, lastfm_user: str | None = None, period: str | None = None,
                  length: int | None = None, minutes: float | None = None,
                  direction: str | None = None, out_dir: str | os.PathLike[str] | None = None,
                  name: str | None = None, dry_run: bool = False) -> PlaylistsResult:
        """Build M3U8 playlists, as `enrich playlists`: from ``seeds`` (tracks: paths or 'Artist - Title';
        with ``to``, a path from the one seed to that track), a ``genre``, ``auto`` clusters, or what the
        Last.fm user ``lastfm_user`` plays most over ``period`` (7day, 1month, 3month, 6month, 12month,
        overall, or recent for the latest scrobbles; the result's ``lastfm`` lists every played track the
        library does not have); each track with its score and reasons. ``dry_run`` writes no file."""
        from enrich.playlists.build import Request, make_playlists
        from enrich.results import PlaylistsResult

        request = Request(seeds=tuple(seeds), to=to, genre=genre, auto=auto, length=length, minutes=minutes,
                          direction=direction, out_dir=None if out_dir is None else str(out_dir), name=name,
                          dry_run=dry_run, lastfm_user=lastfm_user, period=period)
        return PlaylistsResult.from_dict(running.run(make_playlists(self.config, request)))

    def prompt_playlist(self, sentence: str, *, length: int | None = None, minutes: float | None = None,
                        out_dir: str | os.PathLike[str] | None = None, name: str | None = None,
                        dry_run: bool = False, offline: bool = False) -> PromptPlaylist:
        """A playlist from a sentence (as `enrich playlists --prompt`): Claude reads it into a checked
        request (genres of the vocabulary, tempo/energy/loudness ranges, mode, named artists, length,
        ordering, title) and the local engine builds it. ``offline`` answers from the cache only.
        Returns the wish (with what was dropped from Claude's answer), how it met the library, Claude's
        requests, tokens and cost, and the playlist; ``.as_dict()`` is what the command prints with --json."""
        from enrich.pipeline.prompt import PromptRequest, prompt_playlist
        from enrich.results import PromptPlaylist

        request = PromptRequest(sentence, length=length, minutes=minutes,
                                out_dir=None if out_dir is None else str(out_dir), name=name, dry_run=dry_run,
                                offline=offline)
        return PromptPlaylist.from_dict(running.run(prompt_playlist(self.config, request)))

    def duplicates(self, by: Sequence[str] = (), *, seconds: float | None = None,
                   audio_tolerance: float | None = None) -> DuplicatesReport:
        """Groups of copies of one song (as `enrich duplicates`), each naming the copy to keep and why.

        ``by``: the evidence to use, any of "recording", "audio", "name" (default all);
        ``seconds`` and ``audio_tolerance`` override the [duplicates] settings. Reads only.
        """
        from enrich.duplicates import groups as dup
        from enrich.store.duplicates import read_tracks

        kinds = tuple(dict.fromkeys(by)) or dup.KINDS
        unknown = [k for k in kinds if k not in dup.KINDS]
        if unknown:
            raise UsageError(f"duplicates by {', '.join(unknown)}: use any of {', '.join(dup.KINDS)}")
        settings = self.config.section("duplicates", dup.Settings)
        if seconds is not None:
            settings = dataclasses.replace(settings, seconds=seconds)
        if audio_tolerance is not None:
            settings = dataclasses.replace(settings, audio_tolerance=audio_tolerance)
        settings.check()
        with self.connection() as conn:
            tracks = read_tracks(conn)
        found = dup.find(tracks, settings, kinds)
        return DuplicatesReport(
            db=str(self.db), tracks=len(tracks), by=list(kinds),
            with_features=int(tracks.has_features.sum()),
            groups=[{"keep": dup.describe(tracks, g.keep, g.matched_by[g.keep]), "why": g.why,
                     "matched_by": [k for k in dup.KINDS if any(k in m for m in g.matched_by.values())],
                     "others": [dup.describe(tracks, r, g.matched_by[r]) for r in g.rows[1:]]} for g in found],
        )

    def runs(self, limit: int = 20, command: str | None = None) -> list[RunRecord]:
        """The newest runs of long commands, newest first, with their items by status (as `enrich runs`)."""
        from enrich.results import RunRecord
        from enrich.runs import history

        return [RunRecord(**r) for r in running.run(history.list_runs(self.config, limit, command))]

    def run(self, run_id: int) -> RunDetail:
        """One run with every item that failed (as `enrich runs show ID`)."""
        from enrich.results import RunDetail
        from enrich.runs import history

        return RunDetail.from_dict(running.run(history.show_run(self.config, run_id)))
