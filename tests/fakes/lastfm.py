"""Fake Last.fm API 2.0 (GET /2.0/?method=...&format=json), quirks included:
errors in 200 bodies (error 6, sometimes with 404), a single tag as an object,
"" for no album tags, counts as strings for some artists, an unknown track of a
known artist as a stub with no tags, autocorrected names in @attr, error 10/26
for bad or suspended keys (HTTP 403), error 29 with HTTP 429 over the rate.

A user's listening (user.getTopTracks, user.getRecentTracks) is paged as the
real API pages it: `page` and `limit` (default 50; at most 1000, recent 200),
`@attr` with page, perPage, totalPages and total as strings, playcount and
dates as strings, one track as an object, none as [], the track playing now
on top of page 1's limit, a page past the end empty; an unknown user is
error 6 (HTTP 404 for some names), a private user's recent tracks error 17.
artist.getSimilar answers as the recording in ../shared/recorded-api does
(match as a string)."""

from __future__ import annotations

import math
import time

from aiohttp import web

from tests.fakes.control import Service, middleware
from tests.fakes.world import World, norm


def error(code: int, message: str, status: int = 200) -> web.Response:
    return web.json_response({"error": code, "message": message, "links": []}, status=status)


def tag_items(tags, string_counts: bool, base: str = "https://www.last.fm/tag/"):
    items = [{"count": str(c) if string_counts else c, "name": n, "url": base + n.replace(" ", "+")} for n, c in tags]
    if len(items) == 1:
        return items[0]  # quirk: one tag is an object, not a list
    return items


def make_app(world: World, service: Service, key: str, suspended_keys: frozenset[str] = frozenset()) -> web.Application:
    def rate_limited(request, injected):
        return error(29, "Rate Limit Exceeded - Your IP has made too many requests in a short period", status=429)

    def error_body(status):
        if status >= 500:
            return error(16, "There was a temporary error processing your request. Please try again", status=status)
        return error(8, "Operation failed - Most likely the backend service failed. Please try again.", status=status)

    async def api(request: web.Request) -> web.Response:
        q = request.query
        if q.get("api_key") in suspended_keys:
            return error(26, "Suspended API key - Access for your account has been suspended, please contact Last.fm", 403)
        if q.get("api_key") != key:
            return error(10, "Invalid API key - You must be granted a valid key by last.fm", 403)
        if q.get("format") != "json":
            return web.Response(text='<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="ok"></lfm>', content_type="text/xml")
        method = q.get("method", "").lower()
        handler = METHODS.get(method)
        if handler is None:
            return error(3, "Invalid Method - No method with that name in this package")
        return handler(q)

    def resolve(q):
        name = q.get("artist", "")
        artist = world.artist(name) if q.get("autocorrect") == "1" else world.by_name.get(norm(name))
        if artist is None and q.get("mbid"):
            kind, obj = world.by_mbid.get(q["mbid"], (None, None))
            artist = obj if kind == "artist" else None
        return artist

    def artist_top_tags(q):
        artist = resolve(q)
        if artist is None:
            # Quirk: the same error comes with 200 or, for some names, with 404.
            return error(6, "The artist you supplied could not be found", status=404 if len(q.get("artist", "")) % 5 == 0 else 200)
        return web.json_response({"toptags": {"tag": tag_items(artist.tags, artist.string_counts),
                                              "@attr": {"artist": artist.name}}})

    def track_top_tags(q):
        artist = resolve(q)
        if artist is None:
            return error(6, "Track not found")
        track = world.track(artist.name, q.get("track", ""))
        attr = {"artist": artist.name, "track": track.title if track else q.get("track", "")}
        tags = track.tags if track else []  # quirk: an unknown track is a stub with no tags
        return web.json_response({"toptags": {"tag": tag_items(tags, artist.string_counts) if tags else [], "@attr": attr}})

    def album_top_tags(q):
        artist = resolve(q)
        album = world.album(artist.name, q.get("album", "")) if artist else None
        if album is None:
            return error(6, "Album not found")
        attr = {"artist": artist.name, "album": album.title}
        # Quirk: no album tags arrive as "".
        return web.json_response({"toptags": {"tag": tag_items(album.tags, artist.string_counts) if album.tags else "",
                                              "@attr": attr}})

    def artist_correction(q):
        artist = world.artist(q.get("artist", ""))
        if artist is None or artist.name == q.get("artist"):
            return web.json_response({"corrections": "\n                "})
        return web.json_response({"corrections": {"correction": {
            "artist": {"name": artist.name, "mbid": artist.mbid, "url": "https://www.last.fm/music/" + artist.name},
            "@attr": {"index": "0"}}}})

    def images(url: str) -> list[dict[str, str]]:
        return [{"#text": f"{url}/{size}.png", "size": size} for size in ("small", "medium", "large", "extralarge")]

    def one_or_list(items: list) -> object:
        return items[0] if len(items) == 1 else items  # quirk: one item is an object

    def user_of(q):
        user = world.listener(q.get("user", ""))
        if user is None:
            return None, error(6, "User not found", status=404 if len(q.get("user", "")) % 3 == 0 else 200)
        return user, None

    def paging(q, items: list, cap: int):
        try:
            limit = min(max(int(q.get("limit", "50")), 1), cap)
            page = max(int(q.get("page", "1")), 1)
        except ValueError:
            return None, None, error(6, "Invalid parameters - Your request is missing a required parameter")
        pages = max(1, math.ceil(len(items) / limit))
        attr = {"page": str(page), "perPage": str(limit), "totalPages": str(pages), "total": str(len(items))}
        return items[(page - 1) * limit: page * limit], attr, None

    def user_top_tracks(q):
        user, fault = user_of(q)
        if fault is not None:
            return fault
        rows, attr, fault = paging(q, user.top_of(q.get("period", "overall")), 1000)
        if fault is not None:
            return fault
        first = (int(attr["page"]) - 1) * int(attr["perPage"])
        items = []
        for rank, (artist, title, plays) in enumerate(rows, first + 1):
            url = "https://www.last.fm/music/" + artist.replace(" ", "+")
            track, known = world.track(artist, title), world.artist(artist)
            items.append({"streamable": {"fulltrack": "0", "#text": "0"}, "mbid": track.mbid if track else "",
                          "name": title, "image": images(url),
                          "artist": {"url": url, "name": artist, "mbid": known.mbid if known else ""},
                          "url": f"{url}/_/{title.replace(' ', '+')}", "duration": "0",
                          "@attr": {"rank": str(rank)}, "playcount": str(plays)})
        return web.json_response({"toptracks": {"track": one_or_list(items), "@attr": {"user": user.name, **attr}}})

    def user_recent_tracks(q):
        user, fault = user_of(q)
        if fault is not None:
            return fault
        if user.private:
            return error(17, "Login: User required to be logged in")
        rows, attr, fault = paging(q, user.recent, 200)
        if fault is not None:
            return fault

        def item(artist, title, when=None):
            url = "https://www.last.fm/music/" + artist.replace(" ", "+")
            out = {"artist": {"mbid": "", "#text": artist}, "streamable": "0", "image": images(url), "mbid": "",
                   "album": {"mbid": "", "#text": ""}, "name": title, "url": f"{url}/_/{title.replace(' ', '+')}"}
            if when is None:
                out["@attr"] = {"nowplaying": "true"}
            else:
                out["date"] = {"uts": str(when), "#text": time.strftime("%d %b %Y, %H:%M", time.gmtime(when))}
            return out

        items = [item(a, t, when) for a, t, when in rows]
        if user.now_playing and attr["page"] == "1":
            items.insert(0, item(*user.now_playing))  # on top of the limit
        return web.json_response({"recenttracks": {"track": one_or_list(items), "@attr": {"user": user.name, **attr}}})

    def artist_similar(q):
        artist = resolve(q)
        if artist is None:
            return error(6, "The artist you supplied could not be found")
        limit = int(q.get("limit", "100") or 100)
        items = []
        for name, match in artist.similar[:limit]:
            other = world.artist(name)
            url = "https://www.last.fm/music/" + name.replace(" ", "+")
            items.append({"name": name, "mbid": other.mbid if other else "", "match": f"{match:g}", "url": url,
                          "image": images(url), "streamable": "0"})
        # No similar artists: an empty list, as for no tags.
        return web.json_response({"similarartists": {"artist": one_or_list(items) if items else [],
                                                     "@attr": {"artist": artist.name}}})

    METHODS = {
        "user.gettoptracks": user_top_tracks,
        "user.getrecenttracks": user_recent_tracks,
        "artist.getsimilar": artist_similar,
        "artist.gettoptags": artist_top_tags,
        "track.gettoptags": track_top_tags,
        "album.gettoptags": album_top_tags,
        "artist.getcorrection": artist_correction,
    }

    app = web.Application(middlewares=[middleware(service, rate_limited, error_body)])
    app.router.add_get("/2.0/", api)
    app.router.add_get("/2.0", api)
    return app
