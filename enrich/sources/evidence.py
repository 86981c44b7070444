"""Gathering genre votes for a track from Last.fm and MusicBrainz (async shell).

One artist's answers serve all its tracks: artist-level requests are memoised
per run, and artists without a MusicBrainz id are searched several names per
request (matched back by enrich.sources.artist_match). The client itself
shares identical requests in flight and answers repeats from its disk cache.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from enrich.errors import NotFound, SourceError
from enrich.genres.votes import Vote, from_tags
from enrich.sources import lastfm, musicbrainz
from enrich.sources.artist_match import ArtistMatch, match_artists
from enrich.sources.limits import MAX_SEARCH_QUERY

if TYPE_CHECKING:
    from enrich.genres.settings import GenresConfig
    from enrich.net.client import Client
    from enrich.store.genres import TrackToDo

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]  # the run's task group's create_task

log = logging.getLogger(__name__)


@dataclass
class Gathered:
    votes: list[Vote] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # one line per source that failed (not "not found")


def first_artist(text: str | None) -> str:
    """Tracks store several artists joined with '; '; the first is asked about."""
    return (text or "").split("; ")[0].strip()


MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NIL_MBID = "00000000-0000-0000-0000-000000000000"


def usable_mbid(text: str | None) -> str | None:
    """The first MusicBrainz id in a tag, if it has the form of one.

    MusicBrainz refuses a malformed or all-zero id (HTTP 400) every time; such a
    tag is treated as absent, so the artist is searched by name instead of the
    track failing every night.
    """
    mbid = first_artist(text).lower()
    return mbid if MBID.fullmatch(mbid) and mbid != NIL_MBID else None


class SearchBatcher:
    """Collects artist names and searches them several per request."""

    def __init__(self, client: Client, spawn: Spawn, size: int, min_score: int,
                 linger: float = 0.05):
        self.client, self.spawn, self.size, self.min_score, self.linger = client, spawn, size, min_score, linger
        self.pending: list[tuple[str, asyncio.Future[Any]]] = []
        self.timer: asyncio.Task[Any] | None = None

    def find(self, name: str) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        if self.pending and len(musicbrainz.artist_query([n for n, _ in self.pending] + [name])) > MAX_SEARCH_QUERY:
            self.flush()  # long names: fewer per request, so the URL stays acceptable
        self.pending.append((name, future))
        if len(self.pending) >= self.size:
            self.flush()
        elif self.timer is None:
            self.timer = self.spawn(self._later())
        return future

    async def _later(self) -> None:
        await asyncio.sleep(self.linger)
        self.timer = None
        self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if batch:
            self.spawn(self._search(batch))

    async def _search(self, batch: list[tuple[str, asyncio.Future[Any]]]) -> None:
        names = sorted(set(name for name, _ in batch))   # a stable query for the same names
        try:
            results = await musicbrainz.search_artists(self.client, names, limit=min(100, 5 * len(names)))
            matches = match_artists(names, results, self.min_score)
            for name, future in batch:
                if not future.done():
                    future.set_result(matches.get(name))
        except SourceError as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        except Exception as exc:  # it fails the tracks that wait on it, not the run
            log.exception("genres: unexpected error in an artist search")
            for _, future in batch:
                if not future.done():
                    future.set_exception(SourceError("musicbrainz", f"search failed: {exc!r}"))
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(SourceError("musicbrainz", f"search failed: {exc!r}"))
            raise


class Evidence:
    """Votes for tracks; shared per-artist and per-album answers within a run."""

    def __init__(self, client: Client, settings: GenresConfig, spawn: Spawn, clock: Callable[[], float] = time.time):
        self.client = client
        self.cfg = settings
        self.clock = clock
        self.memo: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        self.spawn = spawn
        # Sources on at the start; one switched off later makes its tracks fail
        # (and be retried next run) rather than be stored with half the evidence.
        self.started_with = {name for name in ("lastfm", "musicbrainz") if client.is_available(name)}
        self.searcher = SearchBatcher(client, spawn, settings.musicbrainz_search_batch, settings.musicbrainz_min_score)

    def available(self, source: str) -> bool:
        return source in self.started_with

    def once(self, key: tuple[Any, ...], make: Callable[[], Awaitable[Any]]) -> asyncio.Future[Any]:
        """The same question is asked once per run; later askers share the answer."""
        if key not in self.memo:
            self.memo[key] = self.spawn(self.outcome(make))
        return self.memo[key]

    @staticmethod
    async def outcome(make: Callable[[], Awaitable[list[Vote]]]) -> list[Vote] | SourceError:
        """The votes, or the SourceError instead of raising it (a shared task must not fail its group)."""
        try:
            return await make()
        except SourceError as exc:
            return exc
        except Exception as exc:  # one odd answer fails the tracks that share it, not the run
            log.exception("genres: unexpected error in a shared answer")
            return SourceError("genres", f"unexpected error: {exc!r}"[:300])

    async def ask(self, gathered: Gathered, source: str, level: str, make: Callable[[], Awaitable[list[Vote]]],
                  key: tuple[str, ...] | None = None) -> list[Vote] | None:
        """Await one answer; votes go into ``gathered``, failures into its errors."""
        result = await asyncio.shield(self.once(key, make)) if key else await self.outcome(make)
        if isinstance(result, NotFound):
            return []
        if isinstance(result, SourceError):
            gathered.errors.append(f"{result.source}: {result.reason}")
            return None
        gathered.votes.extend(result)
        return result

    # ------------------------------------------------------------ Last.fm

    async def lastfm_track(self, artist: str, title: str) -> list[Vote]:
        result = await lastfm.track_top_tags(self.client, artist, title)
        return from_tags("lastfm", "track", result.tags, self.clock())

    async def lastfm_album(self, artist: str, album: str) -> list[Vote]:
        result = await lastfm.album_top_tags(self.client, artist, album)
        return from_tags("lastfm", "album", result.tags, self.clock())

    async def lastfm_artist(self, artist: str) -> list[Vote]:
        result = await lastfm.artist_top_tags(self.client, artist)
        return from_tags("lastfm", "artist", result.tags, self.clock())

    # ------------------------------------------------------------ MusicBrainz

    def mb_votes(self, level: str, found: dict[str, Any]) -> list[Vote]:
        """Curated genres when there are any, else the free tags (weighed lower)."""
        now = self.clock()
        if found["genres"]:
            return from_tags("musicbrainz", level, found["genres"], now)
        return from_tags("musicbrainz_tags", level, found["tags"], now)

    async def mb_lookup(self, entity: str, level: str, mbid: str) -> list[Vote]:
        return self.mb_votes(level, await musicbrainz.lookup(self.client, entity, mbid))

    async def mb_search(self, artist: str) -> list[Vote]:
        match: ArtistMatch | None = await self.searcher.find(artist)
        if match is None:
            return []
        return from_tags("musicbrainz_tags", "artist", match.tags, self.clock())

    def search_key(self, artist: str) -> tuple[str, ...]:
        return ("mbs", artist.casefold())

    async def prefetch_searches(self, todo: Sequence[TrackToDo]) -> None:
        """Search the artists without a MusicBrainz id ahead of their tracks, full
        batches in track order, so a search request serves several artists."""
        if "musicbrainz" not in self.started_with:
            return
        names = []
        for track in todo:
            artist = first_artist(track.artist) or first_artist(track.album_artist)
            if artist and not (usable_mbid(track.mb_artist_id) and "artist" in self.cfg.musicbrainz_lookups):
                names.append(artist)
        names = list(dict.fromkeys(names))
        size = self.cfg.musicbrainz_search_batch
        window = max(1, self.client.source_config("musicbrainz").concurrency)
        for start in range(0, len(names), size * window):
            futures = []
            for artist in names[start:start + size * window]:
                key = self.search_key(artist)
                if key not in self.memo:
                    futures.append(self.once(key, functools.partial(self.mb_search, artist)))
            self.searcher.flush()
            if futures:
                await asyncio.wait(futures)

    # ------------------------------------------------------------ a track

    async def gather(self, track: TrackToDo) -> Gathered:
        g = Gathered()
        artist = first_artist(track.artist) or first_artist(track.album_artist)
        title, album = (track.title or "").strip(), (track.album or "").strip()
        jobs = []
        if self.available("lastfm") and artist:
            jobs.append(self.lastfm_for(g, artist, title, album))
        if self.available("musicbrainz"):
            jobs.append(self.musicbrainz_for(g, track, artist))
        await asyncio.gather(*jobs)
        return g

    async def lastfm_for(self, g: Gathered, artist: str, title: str, album: str) -> None:
        fold = str.casefold

        async def track_then_album() -> None:
            got = await self.ask(g, "lastfm", "track", lambda: self.lastfm_track(artist, title)) if title else []
            mode = self.cfg.lastfm_album_tags
            if album and (mode == "always" or (mode == "fallback" and got is not None and not got)):
                await self.ask(g, "lastfm", "album", lambda: self.lastfm_album(artist, album),
                               ("lfb", fold(artist), fold(album)))

        # The artist's tags are asked alongside the track's, not after them.
        await asyncio.gather(
            self.ask(g, "lastfm", "artist", lambda: self.lastfm_artist(artist), ("lfa", fold(artist))),
            track_then_album(),
        )

    async def musicbrainz_for(self, g: Gathered, track: TrackToDo, artist: str) -> None:
        lookups = self.cfg.musicbrainz_lookups
        jobs = []
        mbid, rg, rec = (usable_mbid(track.mb_artist_id), usable_mbid(track.mb_releasegroup_id),
                         usable_mbid(track.mb_track_id))
        if mbid and "artist" in lookups:
            jobs.append(self.ask(g, "musicbrainz", "artist", lambda: self.mb_lookup("artist", "artist", mbid),
                                 ("mba", mbid)))
        elif artist:
            jobs.append(self.ask(g, "musicbrainz", "artist", lambda: self.mb_search(artist), self.search_key(artist)))
        if rg and "release-group" in lookups:
            jobs.append(self.ask(g, "musicbrainz", "album", lambda: self.mb_lookup("release-group", "album", rg),
                                 ("mbg", rg)))
        if rec and "recording" in lookups:
            jobs.append(self.ask(g, "musicbrainz", "track", lambda: self.mb_lookup("recording", "track", rec)))
        await asyncio.gather(*jobs)
