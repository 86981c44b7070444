"""MusicBrainz web service v2: lookups with genres and tags, and artist search.

Quirks handled (see ../shared/api-notes.md): every request refused with 503
while over the rate (acted on by status, whatever the body says, and
``retry-after: 0`` means "about a second"); merged ids answer with a 301 to
the new id (followed; results keyed by the id asked); genres and tags sorted
by name, not count; search scores as ints or (old servers) strings; search
results carry tags but never genres; recordings and releases have a ``title``
instead of a ``name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from enrich.errors import BadReply, SourceError
from enrich.net.policy import http_verdict
from enrich.net.reply import OK, Kind, Reply, Verdict, checked, snippet

if TYPE_CHECKING:
    from enrich.net.client import Client

SOURCE = "musicbrainz"
ENTITIES = ("artist", "recording", "release", "release-group", "work", "label")
MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LUCENE_SPECIALS = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')


def classify(reply: Reply) -> Verdict:
    body = reply.json_or_none()
    message = str(body.get("error")) if isinstance(body, dict) and body.get("error") else ""
    if reply.status == 503:
        # Over the rate (or busy): pause the whole source; 0 means "about a second".
        after = http_verdict(reply).after
        return Verdict(Kind.PAUSE, "HTTP 503 (rate limit or busy)", after or None)
    if reply.status == 404:
        return Verdict(Kind.NOT_FOUND, message or "not found")
    if reply.status == 400:
        return Verdict(Kind.FAIL, message or "bad request (HTTP 400)")
    if reply.status in (401, 403):
        return Verdict(Kind.OFF, f"refused (HTTP {reply.status}): check the User-Agent contact in [http] contact")
    if reply.status >= 300:
        v = http_verdict(reply)
        return Verdict(v.kind, f"{v.reason}: {message}" if message else v.reason, v.after)
    if body is None:  # an HTML error page or a cut body: worth another try
        return Verdict(Kind.RETRY, f"reply is not JSON ({snippet(reply.body)})", bad=True)
    if not isinstance(body, dict):
        return Verdict(Kind.FAIL, f"reply is JSON of the wrong shape ({type(body).__name__})", bad=True)
    return OK




# ---------------------------------------------------------------- parsers


def counted(items: Any) -> list[tuple[str, int]]:
    """[(name, count)] with count > 0, most votes first (MB sorts by name)."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name"):
            try:
                count = int(item.get("count") or 0)
            except (TypeError, ValueError):
                count = 0
            if count > 0:
                out.append((str(item["name"]), count))
    out.sort(key=lambda t: (-t[1], t[0]))
    return out


def parse_lookup(body: Any, asked: str = "") -> dict[str, Any]:
    """A lookup reply: {asked, id, name, genres, tags} (name is the title for recordings)."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise BadReply(SOURCE, "lookup reply has no id", what=asked)
    return {
        "asked": asked or body["id"],
        "id": body["id"],
        "name": str(body.get("name") or body.get("title") or ""),
        "genres": counted(body.get("genres")),
        "tags": counted(body.get("tags")),
    }


def score_of(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def parse_artist(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(a.get("id") or ""),
        "name": str(a.get("name") or ""),
        "sort_name": str(a.get("sort-name") or ""),
        "aliases": [str(x["name"]) for x in a.get("aliases") or [] if isinstance(x, dict) and x.get("name")]
        + [str(x["sort-name"]) for x in a.get("aliases") or []
           if isinstance(x, dict) and x.get("sort-name") and x.get("sort-name") != x.get("name")],
        "disambiguation": str(a.get("disambiguation") or ""),
        "score": score_of(a.get("score")),
        "tags": counted(a.get("tags")),
    }


def parse_search(body: Any, entity: str = "artist") -> list[dict[str, Any]]:
    """A search reply; artists get the full shape, other entities id/name/score/tags."""
    key = {"artist": "artists", "recording": "recordings", "release": "releases",
           "release-group": "release-groups"}.get(entity, entity + "s")
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise BadReply(SOURCE, f"search reply has no '{key}' list")
    out = []
    for item in body[key]:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        if entity == "artist":
            out.append(parse_artist(item))
        else:
            out.append({"id": str(item["id"]), "name": str(item.get("title") or item.get("name") or ""),
                        "score": score_of(item.get("score")), "tags": counted(item.get("tags"))})
    return out


def escape(text: str) -> str:
    return LUCENE_SPECIALS.sub(r"\\\1", text)


def artist_query(names: Iterable[str]) -> str:
    """One Lucene OR query for several names."""
    return " OR ".join(f'artist:"{escape(n)}"' for n in names if n.strip())


# ---------------------------------------------------------------- calls


async def lookup(client: Client, entity: str, mbid: str, inc: Iterable[str] = ("genres", "tags")) -> dict[str, Any]:
    """Look an entity up by MBID, following merged-id redirects; keyed by the id asked."""
    what = f"{entity} {mbid}"
    if entity not in ENTITIES:
        raise SourceError(SOURCE, f"unknown entity '{entity}'", what=what)
    mbid = mbid.strip().lower()
    if not MBID.match(mbid):
        raise SourceError(SOURCE, "invalid MBID (not a UUID)", what=what)
    params = {"fmt": "json"}
    if inc:
        params["inc"] = "+".join(inc)
    def parse(reply: Reply) -> dict[str, Any]:
        return parse_lookup(reply.json(what), mbid)

    reply = await client.fetch(SOURCE, f"/ws/2/{entity}/{mbid}", params=params,
                               classify=checked(classify, parse), what=what)
    return reply.parsed(parse)


async def search_artists(client: Client, names: list[str], limit: int = 25) -> list[dict[str, Any]]:
    """Search several artist names with one OR query; results ranked by score,
    to be matched back to the names by the caller (never by position)."""
    query = artist_query(names)
    what = f"artist search {', '.join(names)[:80]}"
    if not query:
        raise SourceError(SOURCE, "blank search", what=what)
    limit = max(1, min(100, int(limit)))
    def parse(reply: Reply) -> list[dict[str, Any]]:
        return parse_search(reply.json(what), "artist")

    reply = await client.fetch(SOURCE, "/ws/2/artist", params={"query": query, "limit": limit, "fmt": "json"},
                               classify=checked(classify, parse), what=what)
    return reply.parsed(parse)
