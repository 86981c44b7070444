"""Fake MusicBrainz web service v2: lookups (artist, recording, release-group)
with inc=genres+tags, merged ids answered with a 301, artist search with a
small Lucene subset (``artist:"A" OR artist:"B"``, escapes, bare words).
Over the enforced rate EVERY request gets 503 until the client slows down; a
request without a User-Agent that names a contact gets 403."""

from __future__ import annotations

import re

from aiohttp import web

from tests.fakes.control import Service, middleware
from tests.fakes.world import World, norm

MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INC = {"genres", "tags", "aliases", "ratings", "user-tags", "user-genres", "artist-credits", "release-groups",
       "url-rels", "releases"}
HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
PHRASE = re.compile(r'(?:(\w+):)?"((?:[^"\\]|\\.)*)"|(?:(\w+):)?((?:[^\s"\\]|\\.)+)')


def error(status: int, text: str, **headers) -> web.Response:
    return web.json_response({"error": text, "help": HELP}, status=status, headers=headers)


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def genre_items(pairs):
    # Real lookups sort by name and leave out zero counts.
    return [{"count": c, "disambiguation": "", "id": f"g-{norm(n).replace(' ', '-')}", "name": n}
            for n, c in sorted(pairs) if c > 0]


def tag_items(pairs):
    return [{"count": c, "name": n} for n, c in sorted(pairs) if c > 0]


def parse_query(query: str) -> list[str]:
    """The names a Lucene query asks for (fields other than artist are ignored)."""
    names = []
    for field, phrase, field2, word in PHRASE.findall(query):
        if phrase:
            if field in ("", "artist", "artistaccent", "alias"):
                names.append(unescape(phrase))
        elif word and word.upper() not in ("OR", "AND", "NOT") and field2 in ("", "artist", "alias"):
            names.append(unescape(word))
    return names


def make_app(world: World, service: Service, string_scores: bool = False) -> web.Application:
    service.rate_status = 503

    def rate_limited(request, injected):
        if injected:
            # Quirk: some 503s are "server busy" with retry-after 0.
            return web.Response(status=503, text="Server busy, please try again later.", headers={"Retry-After": "0"})
        return error(503, "Your requests are exceeding the allowable rate limit. Please see "
                          "http://wiki.musicbrainz.org/XMLWebService for more information.")

    def error_body(status):
        return error(status, "Internal server error" if status >= 500 else "Error")

    def check(request) -> web.Response | None:
        ua = request.headers.get("User-Agent", "")
        if not re.search(r"\S+/\S+ \( ?\S+ ?\)", ua):
            return error(403, "Your requests are being refused: please send a meaningful User-Agent")
        if request.query.get("fmt") != "json" and "json" not in request.headers.get("Accept", ""):
            return web.Response(text='<?xml version="1.0" encoding="UTF-8"?><metadata/>', content_type="application/xml")
        return None

    def incs(request, entity):
        raw = request.query.get("inc", "")
        wanted = [x for x in re.split(r"[+ ]", raw) if x]
        for inc in wanted:
            if inc not in INC:
                return None, error(400, f"{inc} is not a valid inc parameter for the {entity} resource.")
        return set(wanted), None

    async def lookup(request: web.Request) -> web.Response:
        if (bad := check(request)) is not None:
            return bad
        entity, mbid = request.match_info["entity"], request.match_info["mbid"]
        wanted, bad = incs(request, entity)
        if bad is not None:
            return bad
        if not MBID.match(mbid) or mbid == "00000000-0000-0000-0000-000000000000":
            return error(400, "Invalid mbid.")
        if mbid in world.merged:
            target = f"/ws/2/{entity}/{world.merged[mbid]}"
            raise web.HTTPMovedPermanently(target + ("?" + request.query_string if request.query_string else ""))
        kind, obj = world.by_mbid.get(mbid, (None, None))
        if kind != entity:
            return error(404, "Not Found")
        if entity == "artist":
            body = {"id": obj.mbid, "name": obj.name, "sort-name": obj.sort_name, "type": "Group",
                    "disambiguation": obj.disambiguation, "country": None, "life-span": {"begin": None, "end": None, "ended": False}}
            genres, tags = obj.genres, obj.mb_tags
            if "aliases" in wanted:
                body["aliases"] = [{"name": a, "sort-name": a, "locale": None, "type": None, "primary": None}
                                   for a in obj.aliases]
        else:
            body = {"id": obj.mbid, "title": obj.title, "disambiguation": ""}
            genres, tags = obj.genres, obj.genres + obj.tags
            if entity == "recording" and "artist-credits" in wanted:
                artist = world.artist(obj.artist)
                body["artist-credit"] = [{"name": obj.artist, "joinphrase": "",
                                          "artist": {"id": artist.mbid if artist else "", "name": obj.artist}}]
        if "genres" in wanted:
            body["genres"] = genre_items(genres)
        if "tags" in wanted:
            body["tags"] = tag_items(tags)
        return web.json_response(body)

    async def search(request: web.Request) -> web.Response:
        if (bad := check(request)) is not None:
            return bad
        entity = request.match_info["entity"]
        query = request.query.get("query", "").strip()
        if not query:
            return error(400, "You must specify a query parameter.")
        try:
            limit = int(request.query.get("limit", "25"))
        except ValueError:
            limit = 25
        if not 1 <= limit <= 100:
            limit = 25  # quirk: silently
        offset = int(request.query.get("offset", "0") or 0)
        if entity != "artist":
            return web.json_response({"created": "2024-01-01T00:00:00.000Z", "count": 0, "offset": offset, entity + "s": []})
        # Names are normalised and split once (norm is cached): a search compares every artist.
        asked = [(want, set(want.split())) for want in (norm(n) for n in parse_query(query))]
        scored = []
        for a in world.artists:
            name = norm(a.name)
            names = {name, norm(a.sort_name)}
            aliases = {norm(x) for x in a.aliases}
            words = set(name.split())
            best = 0
            for want, want_words in asked:
                if want in names:
                    best = max(best, 100)
                elif want in aliases:
                    best = max(best, 95)
                elif shared := want_words & words:
                    best = max(best, 40 + 10 * len(shared))
            if best:
                scored.append((best, a))
        scored.sort(key=lambda t: (-t[0], t[1].name))
        page = scored[offset:offset + limit]
        artists = [{
            "id": a.mbid, "type": "Group", "score": str(s) if string_scores else s, "name": a.name,
            "sort-name": a.sort_name, "disambiguation": a.disambiguation,
            "aliases": [{"sort-name": x, "name": x, "locale": None, "type": None, "primary": None} for x in a.aliases],
            "tags": tag_items(a.mb_tags),  # search results carry tags, never genres
        } for s, a in page]
        return web.json_response({"created": "2024-01-01T00:00:00.000Z", "count": len(scored), "offset": offset,
                                  "artists": artists})

    app = web.Application(middlewares=[middleware(service, rate_limited, error_body)])
    app.router.add_get("/ws/2/{entity}/{mbid}", lookup)
    app.router.add_get("/ws/2/{entity}", search)
    return app
