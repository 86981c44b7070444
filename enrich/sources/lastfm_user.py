"""A Last.fm user's listening: ``user.getTopTracks`` and ``user.getRecentTracks``.

Both are paged the way the real API pages (``page``, ``limit``; the reply's
``@attr`` gives ``page``, ``perPage``, ``totalPages`` and ``total``, all as
strings). Quirks handled: a single track arrives as an object, none as ``[]``
or ``""``; numbers are strings; a recent track's artist is ``{"#text": name}``
(``{"name": ...}`` with ``extended=1``); the track playing now comes first with
``@attr.nowplaying`` and no date, on top of the page's limit; a page past the
last one is empty. An unknown user is error 6 (a NotFound from the client).

A user's listening changes by the hour, so it is never served from the disk
cache; ``artist.getSimilar`` (enrich.sources.lastfm) is.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from enrich.errors import BadReply
from enrich.sources.lastfm import PATH, SOURCE, as_list, classify, to_int
from enrich.sources.limits import MAX_ARTIST, capped

if TYPE_CHECKING:
    from enrich.net.client import Client

from enrich.net.reply import Reply, checked

TOP_PAGE_MAX = 1000     # the API's largest `limit` for user.getTopTracks
RECENT_PAGE_MAX = 200   # and for user.getRecentTracks


@dataclass(frozen=True)
class Played:
    """One track of a user's listening, most played first."""

    artist: str
    title: str
    plays: int        # play count in the period (recent: scrobbles among those read)
    mbid: str | None = None


@dataclass(frozen=True)
class Page:
    tracks: list[Played]
    page: int
    total_pages: int
    total: int | None


@dataclass(frozen=True)
class Listening:
    user: str
    period: str
    tracks: list[Played]   # distinct songs, most played first
    pages: int             # pages read
    total: int | None      # what Last.fm says the user has in the period


# ---------------------------------------------------------------- parsers


def _name(value: Any) -> str:
    """An artist given as a string, {"name": ...} or {"#text": ...}."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("#text")
    return str(value or "").strip()


def _paging(container: dict[str, Any], page: int) -> tuple[int, int, int | None]:
    attr = container.get("@attr")
    attr = attr if isinstance(attr, dict) else {}
    pages = to_int(attr.get("totalPages"))
    return to_int(attr.get("page")) or page, pages if pages is not None else page, to_int(attr.get("total"))


def _container(body: Any, name: str) -> dict[str, Any]:
    container = body.get(name) if isinstance(body, dict) else None
    if not isinstance(container, dict):
        keys = ", ".join(sorted(body))[:60] if isinstance(body, dict) else type(body).__name__
        raise BadReply(SOURCE, f"no {name} in reply ({keys})")
    return container


def _parse(body: Any, name: str, page: int, recent: bool) -> Page:
    container = _container(body, name)
    tracks = []
    for item in as_list(container.get("track")):
        if not isinstance(item, dict):
            continue
        attr = item.get("@attr")
        if recent and isinstance(attr, dict) and str(attr.get("nowplaying", "")).lower() == "true":
            continue  # not a scrobble yet, and on top of the page's limit
        artist, title = _name(item.get("artist")), str(item.get("name") or "").strip()
        if artist and title:
            plays = 1 if recent else to_int(item.get("playcount")) or 0
            tracks.append(Played(artist, title, plays, str(item.get("mbid") or "") or None))
    return Page(tracks, *_paging(container, page))


def parse_top_tracks(body: Any, page: int = 1) -> Page:
    """A user.getTopTracks reply."""
    return _parse(body, "toptracks", page, recent=False)


def parse_recent_tracks(body: Any, page: int = 1) -> Page:
    """A user.getRecentTracks reply: one Played per scrobble (plays 1), the track playing now left out."""
    return _parse(body, "recenttracks", page, recent=True)


def tally(scrobbles: list[Played]) -> list[Played]:
    """Scrobbles -> distinct songs by how often they were played (ties: the most recent first)."""
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], Played] = {}
    for p in scrobbles:
        key = (p.artist.casefold(), p.title.casefold())
        counts[key] += 1
        first.setdefault(key, p)
    order = sorted(first, key=lambda k: -counts[k])  # stable: recency breaks ties
    return [Played(first[k].artist, first[k].title, counts[k], first[k].mbid) for k in order]


def distinct(tracks: list[Played]) -> list[Played]:
    """The first of each (artist, title), in order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in tracks:
        key = (p.artist.casefold(), p.title.casefold())
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# ---------------------------------------------------------------- calls


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error a task group gathered (a page that failed says why, once)."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found


async def page_of(client: Client, method: str, user: str, page: int, limit: int, **params: Any) -> Page:
    """One page of a user method; never from the cache (a user's listening changes by the hour)."""
    parse = parse_recent_tracks if method == "user.getRecentTracks" else parse_top_tracks
    what = f"user {user}" + (f" page {page}" if page > 1 else "")
    query = {"method": method, "format": "json", "user": user, "page": page, "limit": limit, **params}

    def read(reply: Reply) -> Page:
        return parse(reply.json(what), page)

    reply = await client.fetch(SOURCE, PATH, params=query, key_param="api_key",
                               classify=checked(classify, read), what=what, cache=False)
    return reply.parsed(read)


async def listening(client: Client, user: str, period: str, wanted: int, page_size: int) -> Listening:
    """The user's ``wanted`` most played songs of ``period`` (7day ... overall, as the API names them;
    ``recent``: the songs of the last ``wanted`` scrobbles, most often played first).

    Page 1 says how many pages there are; the rest are asked at once and the
    client's token bucket paces them. Raises NotFound for an unknown user.
    """
    user = capped(user.strip(), MAX_ARTIST) or ""
    recent = period == "recent"
    method = "user.getRecentTracks" if recent else "user.getTopTracks"
    limit = max(1, min(page_size, wanted, RECENT_PAGE_MAX if recent else TOP_PAGE_MAX))
    extra = {} if recent else {"period": period}
    first = await page_of(client, method, user, 1, limit, **extra)
    needed = min(first.total_pages, math.ceil(wanted / limit))
    rest: list[Page] = []
    if needed > 1:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(page_of(client, method, user, n, limit, **extra))
                         for n in range(2, needed + 1)]
        except BaseExceptionGroup as group_error:
            raise first_error(group_error) from None
        rest = [t.result() for t in tasks]
    items = [p for page in [first, *rest] for p in page.tracks][:wanted]
    tracks = tally(items) if recent else distinct(items)
    return Listening(user, period, tracks, 1 + len(rest), first.total)
