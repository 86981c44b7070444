"""Seeds from a Last.fm user's listening: the I/O around ``playlists.listening``.

Reads the user's most played (or latest) tracks and the similar artists of
their artists through the one network layer (token bucket, retries, faults,
the disk cache for ``artist.getSimilar``), then matches them to the library.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from enrich.config import Config
from enrich.errors import ConfigError, NotFound, PlaylistError, SourceError, UsageError
from enrich.net import open_client
from enrich.net.client import Client
from enrich.playlists.listening import Affinity, LibraryNames, Match, affinity, artist_name_key, match, pick_seeds
from enrich.playlists.settings import PlaylistsConfig
from enrich.sources import lastfm, lastfm_user
from enrich.sources.lastfm_user import Listening, Played
from enrich.sources.limits import MAX_ARTIST, capped
from enrich.store.library_view import LibraryView

SHOWN_UNMATCHED = 5
PERIOD_WORDS = {"7day": "of the last 7 days", "1month": "of the last month", "3month": "of the last 3 months",
                "6month": "of the last 6 months", "12month": "of the last 12 months", "overall": "of all time",
                "recent": "lately"}


@dataclass
class FromLastfm:
    """What --lastfm-user brings to ``build.plan``."""

    user: str
    period: str
    seeds: list[int]
    found: Match
    listening: Listening
    affinity: Affinity | None
    notes: list[str] = field(default_factory=list)
    net: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.user}'s most played {PERIOD_WORDS.get(self.period, self.period)}"

    def seed_why(self) -> dict[int, str]:
        plays = {row: p.plays for p, row in self.found.matched}
        unit = "scrobbles" if self.period == "recent" else "plays"
        return {row: f"seed: {plays[row]} {unit}" for row in self.seeds}

    def report(self) -> dict[str, Any]:
        """Plain data for --json and the text report: every played track not in the library is listed."""
        def played(p: Played) -> dict[str, Any]:
            return {"artist": p.artist, "title": p.title, "plays": p.plays}

        return {
            "user": self.user, "period": self.period, "read": len(self.listening.tracks),
            "total": self.listening.total, "pages": self.listening.pages,
            "matched": len(self.found.matched), "seeds": len(self.seeds),
            "not_in_library": [played(p) for p in self.found.unmatched],
            "similar_artists": {"asked": len(self.affinity.seeds) if self.affinity else 0,
                                "tracks_by_them": int((self.affinity.value > 0).sum()) if self.affinity else 0},
            "notes": self.notes, "requests": self.net.get("requests", 0), "cache_hits": self.net.get("cache_hits", 0),
        }


async def read_listening(config: Config, cfg: PlaylistsConfig, view: LibraryView, user: str, period: str | None,
                         exists: Callable[[str], bool] = os.path.exists,
                         timings: dict[str, Any] | None = None) -> FromLastfm:
    """Seeds and the similar-artists signal for ``user``; one-line errors for every way it can fail."""
    timings = {} if timings is None else timings
    settings = cfg.lastfm
    period = period or settings.period
    user = capped(user.strip(), MAX_ARTIST) or ""  # a pasted novel stays out of URLs and messages
    if not user:
        raise UsageError("--lastfm-user needs a Last.fm user name")
    started = time.perf_counter()
    names = await asyncio.to_thread(LibraryNames.of, view)
    timings["names_ms"] = round((time.perf_counter() - started) * 1000, 2)
    async with open_client(lastfm_only(config)) as client:
        if not client.is_available(lastfm.SOURCE):
            raise ConfigError(f"--lastfm-user needs Last.fm: {client.why_unavailable(lastfm.SOURCE)}")
        started = time.perf_counter()
        try:
            heard = await lastfm_user.listening(client, user, period, settings.tracks, settings.page_size)
        except NotFound as exc:
            raise UsageError(f"Last.fm has no user '{user}' ({exc.reason}); check the name") from exc
        timings["listening_ms"] = round((time.perf_counter() - started) * 1000, 2)
        started = time.perf_counter()
        found = match(view, names, heard.tracks)
        seeds = pick_seeds(view, found, settings.seeds, exists)
        timings["match_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if not seeds:
            raise PlaylistError(no_seeds_message(user, period, heard, found))
        notes: list[str] = []
        aff = None
        if cfg.weights.lastfm_similar > 0 and settings.similar_artists > 0:
            started = time.perf_counter()
            artists = top_artists(heard.tracks, settings.similar_artists)
            similar = await similar_of(client, artists, settings.similar_limit, notes)
            aff = affinity(names, similar, (p.artist for p in heard.tracks))
            timings["similar_ms"] = round((time.perf_counter() - started) * 1000, 2)
        net = client.stats(lastfm.SOURCE).as_dict()
    return FromLastfm(user, period, seeds, found, heard, aff, notes, net)


def lastfm_only(config: Config) -> Config:
    """``config`` with every other source off: this command asks Last.fm alone, so a missing
    Claude key is no notice of this run's."""
    sources = {name: cfg if name == lastfm.SOURCE else dataclasses.replace(cfg, enabled=False)
               for name, cfg in config.sources.items()}
    return dataclasses.replace(config, sources=types.MappingProxyType(sources))


def top_artists(tracks: list[Played], count: int) -> list[str]:
    """The artists of the most plays among ``tracks``, as Last.fm names them."""
    plays: dict[str, int] = {}
    shown: dict[str, str] = {}
    for p in tracks:
        key = artist_name_key(p.artist)
        plays[key] = plays.get(key, 0) + max(p.plays, 1)
        shown.setdefault(key, p.artist)
    return [shown[k] for k in sorted(plays, key=lambda k: -plays[k])[:count]]


async def similar_of(client: Client, artists: list[str], limit: int,
                     notes: list[str]) -> list[tuple[str, list[tuple[str, float]]]]:
    """artist.getSimilar of each artist, at once (the client paces them); a failure is a note, not the end."""
    async def one(artist: str) -> tuple[str, list[tuple[str, float]]]:
        try:
            return artist, await lastfm.similar_artists(client, artist, limit=limit)
        except NotFound:
            return artist, []
        except SourceError as exc:
            notes.append(f"similar artists of {artist} left out: {exc.reason}")
            return artist, []

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(a)) for a in artists]
    return [t.result() for t in tasks]


def no_seeds_message(user: str, period: str, heard: Listening, found: Match) -> str:
    if not heard.tracks:
        return f"Last.fm has no plays of '{user}' for --period {period}; try a longer period"
    if not found.matched:
        first = "; ".join(f"{p.artist} - {p.title}" for p in found.unmatched[:SHOWN_UNMATCHED])
        return (f"none of the {len(heard.tracks)} tracks '{user}' played ({period}) is in the library "
                f"(first: {first})")
    return (f"{len(found.matched)} of the tracks '{user}' played ({period}) are in the library, but none has "
            "its file, features or genres; run `enrich analyze` / `enrich genres` on them")
