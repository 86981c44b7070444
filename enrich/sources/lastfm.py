"""Last.fm API 2.0: build requests, classify replies, parse them, quirks included.

Quirks handled (see ../shared/api-notes.md): errors in a 200 body; a single tag
as an object instead of a list; no tags as [] or ""; counts as strings or
missing; getCorrection answering a whitespace string; an unknown track as
error 6 or as a stub with no tags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from enrich.errors import BadReply, NotFound, SourceError, SourceUnavailable
from enrich.net.policy import http_verdict
from enrich.net.reply import OK, Kind, P, Reply, Verdict, checked, snippet

if TYPE_CHECKING:
    from enrich.net.client import Client

SOURCE = "lastfm"
PATH = "/2.0/"
NOT_FOUND_CODES = {6}
KEY_CODES = {10: "invalid API key", 26: "API key suspended"}
RATE_CODE = 29
TRANSIENT_CODES = {8, 11, 16}


@dataclass(frozen=True)
class TagList:
    """Tags of an artist, track or album, with the names Last.fm corrected to."""

    artist: str
    track: str | None = None
    album: str | None = None
    tags: list[tuple[str, float]] = field(default_factory=list)  # (name, weight 0-100), best first


# ---------------------------------------------------------------- verdicts


def error_of(body: Any) -> tuple[int, str] | None:
    if isinstance(body, dict) and "error" in body:
        try:
            code = int(body["error"])
        except (TypeError, ValueError):
            code = -1
        return code, str(body.get("message") or "").strip()
    return None


def verdict_for_error(code: int, message: str, after: float | None = None) -> Verdict:
    text = f"error {code}: {message}" if message else f"error {code}"
    if code in NOT_FOUND_CODES:
        return Verdict(Kind.NOT_FOUND, message or "not found")
    if code in KEY_CODES:
        return Verdict(Kind.OFF, f"{KEY_CODES[code]} (error {code}); check $LASTFM_API_KEY or [sources.lastfm] api_key")
    if code == RATE_CODE:
        return Verdict(Kind.PAUSE, text, after)
    if code in TRANSIENT_CODES:
        return Verdict(Kind.RETRY, text, after)
    return Verdict(Kind.FAIL, text)


def classify(reply: Reply) -> Verdict:
    """Last.fm puts errors in the body, very often with HTTP 200: read it first."""
    body = reply.json_or_none()
    err = error_of(body)
    if err is not None:
        base = http_verdict(reply)
        return verdict_for_error(*err, after=base.after)
    if reply.status >= 300:
        return http_verdict(reply)
    if body is None:  # an HTML error page or a cut body: worth another try
        return Verdict(Kind.RETRY, f"reply is not JSON ({snippet(reply.body)})", bad=True)
    if not isinstance(body, dict):
        return Verdict(Kind.FAIL, f"reply is JSON of the wrong shape ({type(body).__name__})", bad=True)
    return OK




# ---------------------------------------------------------------- parsers


def as_list(value: Any) -> list[Any]:
    """Last.fm's list: a list, a single object, or "" / None for none."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


def weight(raw: Any) -> float:
    """A tag count as a 0-100 weight; missing counts (getTags) weigh 100."""
    if raw is None or raw == "":
        return 100.0
    try:
        return max(0.0, min(100.0, float(raw)))
    except (TypeError, ValueError):
        return 0.0


def parse_tag_items(container: Any) -> list[tuple[str, float]]:
    if not isinstance(container, dict):
        return []  # "" or whitespace: no tags
    tags = []
    for item in as_list(container.get("tag")):
        if isinstance(item, dict) and str(item.get("name") or "").strip():
            tags.append((str(item["name"]).strip(), weight(item.get("count"))))
    tags.sort(key=lambda t: -t[1])
    return tags


def parse_tags(body: Any, artist: str = "", track: str | None = None, album: str | None = None) -> TagList:
    """A *.getTopTags / *.getTags / chart / tag.getSimilar reply."""
    if not isinstance(body, dict):
        raise BadReply(SOURCE, f"expected a JSON object, got {type(body).__name__}")
    for name in ("toptags", "tags", "similartags"):
        if name in body:
            container = body[name]
            break
    else:
        raise BadReply(SOURCE, f"no tags in reply (keys: {', '.join(sorted(body))[:60]})")
    attr = container.get("@attr", {}) if isinstance(container, dict) else {}
    attr = attr if isinstance(attr, dict) else {}
    return TagList(
        artist=str(attr.get("artist") or artist),
        track=str(attr["track"]) if attr.get("track") else track,
        album=str(attr["album"]) if attr.get("album") else album,
        tags=parse_tag_items(container),
    )


def parse_info(body: Any) -> dict[str, Any]:
    """artist/track/album.getInfo: names, mbid, listeners and up to 5 tags (no counts)."""
    for kind in ("track", "album", "artist"):
        obj = body.get(kind) if isinstance(body, dict) else None
        if isinstance(obj, dict):
            artist = obj.get("artist")
            artist_name = artist.get("name") if isinstance(artist, dict) else artist
            tags = obj.get("toptags", obj.get("tags"))
            stats = obj.get("stats")
            if not isinstance(stats, dict):
                stats = obj
            return {
                "kind": kind,
                "name": str(obj.get("name") or ""),
                "artist": str(obj.get("name") or "") if kind == "artist" else str(artist_name or ""),
                "mbid": str(obj.get("mbid") or "") or None,
                "listeners": to_int(stats.get("listeners")),
                "tags": parse_tag_items(tags),
            }
    raise BadReply(SOURCE, "no artist, track or album in getInfo reply")


def parse_correction(body: Any) -> dict[str, Any] | None:
    """getCorrection: the corrected names, or None when there is nothing to correct."""
    if not isinstance(body, dict):
        raise BadReply(SOURCE, "getCorrection reply is not an object")
    corrections = body.get("corrections")
    if not isinstance(corrections, dict):
        return None  # a whitespace string means "no correction"
    for item in as_list(corrections.get("correction")):
        for kind in ("track", "artist"):
            obj = item.get(kind) if isinstance(item, dict) else None
            if isinstance(obj, dict) and obj.get("name"):
                artist = obj.get("artist")
                return {"kind": kind, "name": str(obj["name"]),
                        "artist": str(artist.get("name")) if isinstance(artist, dict) and artist.get("name") else None}
    return None


def parse_search(body: Any) -> list[dict[str, Any]]:
    """artist.search / track.search / album.search matches."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, dict):
        raise BadReply(SOURCE, "search reply has no results")
    for key, value in results.items():
        if key.endswith("matches"):
            inner: Any = next(iter(value.values()), []) if isinstance(value, dict) else []
            return [{"name": str(m.get("name") or ""),
                     "artist": m.get("artist") if isinstance(m.get("artist"), str) else None,
                     "mbid": m.get("mbid") or None, "listeners": to_int(m.get("listeners"))}
                    for m in as_list(inner) if isinstance(m, dict)]
    return []


def parse_similar(body: Any) -> list[tuple[str, float]]:
    container = body.get("similarartists") if isinstance(body, dict) else None
    if not isinstance(container, dict):
        raise BadReply(SOURCE, "getSimilar reply has no similarartists")
    out = []
    for a in as_list(container.get("artist")):
        if isinstance(a, dict) and a.get("name"):
            try:
                out.append((str(a["name"]), float(a.get("match") or 0)))
            except (TypeError, ValueError):
                out.append((str(a["name"]), 0.0))
    return out


def parse_tag_info(body: Any) -> dict[str, Any]:
    tag = body.get("tag") if isinstance(body, dict) else None
    if not isinstance(tag, dict):
        raise BadReply(SOURCE, "tag.getInfo reply has no tag")
    return {"name": str(tag.get("name") or ""), "total": to_int(tag.get("total")), "reach": to_int(tag.get("reach"))}


def to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def raise_for_error(body: Any, what: str = "") -> None:
    """Turn an error body into the matching exception (used on recorded replies)."""
    err = error_of(body)
    if err is None:
        return
    verdict = verdict_for_error(*err)
    if verdict.kind is Kind.NOT_FOUND:
        raise NotFound(SOURCE, verdict.reason, what=what)
    if verdict.kind is Kind.OFF:
        raise SourceUnavailable(SOURCE, verdict.reason, what=what)
    raise SourceError(SOURCE, verdict.reason, what=what)


def parse(method: str, body: Any, what: str = "") -> Any:
    """Parse any reply by its method name (errors raise as in a live call)."""
    raise_for_error(body, what)
    m = method.lower()
    if m.endswith(".gettoptags") or m.endswith(".gettags") or m == "tag.getsimilar":
        return parse_tags(body)
    if m == "tag.getinfo":
        return parse_tag_info(body)
    if m.endswith(".getinfo"):
        return parse_info(body)
    if m.endswith(".getcorrection"):
        return parse_correction(body)
    if m.endswith(".search"):
        return parse_search(body)
    if m.endswith(".getsimilar"):
        return parse_similar(body)
    raise BadReply(SOURCE, f"no parser for method {method}", what=what)


# ---------------------------------------------------------------- calls


async def call(client: Client, method: str, what: str, parse_fn: Callable[[Any], P], **params: Any) -> P:
    """One API call through the shared client; the key is added by the client."""
    query = {"method": method, "format": "json", **{k: v for k, v in params.items() if v is not None}}
    def parse(reply: Reply) -> P:
        return parse_fn(reply.json(what))

    reply = await client.fetch(SOURCE, PATH, params=query, key_param="api_key",
                               classify=checked(classify, parse), what=what)
    return reply.parsed(parse)


async def track_top_tags(client: Client, artist: str, track: str, *, mbid: str | None = None) -> TagList:
    what = f"track {artist} - {track}"
    return await call(client, "track.getTopTags", what, lambda b: parse_tags(b, artist, track=track),
                      artist=artist, track=track, mbid=mbid, autocorrect=1)


async def artist_top_tags(client: Client, artist: str, *, mbid: str | None = None) -> TagList:
    return await call(client, "artist.getTopTags", f"artist {artist}", lambda b: parse_tags(b, artist),
                      artist=artist, mbid=mbid, autocorrect=1)


async def album_top_tags(client: Client, artist: str, album: str, *, mbid: str | None = None) -> TagList:
    what = f"album {artist} - {album}"
    return await call(client, "album.getTopTags", what, lambda b: parse_tags(b, artist, album=album),
                      artist=artist, album=album, mbid=mbid, autocorrect=1)


async def similar_artists(client: Client, artist: str, *, limit: int = 100) -> list[tuple[str, float]]:
    """artist.getSimilar: (name, match 0..1), closest first; cached for the source's ttl_days."""
    return await call(client, "artist.getSimilar", f"similar artists of {artist}", parse_similar,
                      artist=artist, limit=limit, autocorrect=1)
