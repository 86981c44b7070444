"""Fake Last.fm API 2.0 (GET /2.0/?method=...&format=json), quirks included:
errors in 200 bodies (error 6, sometimes with 404), a single tag as an object,
"" for no album tags, counts as strings for some artists, an unknown track of a
known artist as a stub with no tags, autocorrected names in @attr, error 10/26
for bad or suspended keys (HTTP 403), error 29 with HTTP 429 over the rate."""

from __future__ import annotations

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

    METHODS = {
        "artist.gettoptags": artist_top_tags,
        "track.gettoptags": track_top_tags,
        "album.gettoptags": album_top_tags,
        "artist.getcorrection": artist_correction,
    }

    app = web.Application(middlewares=[middleware(service, rate_limited, error_body)])
    app.router.add_get("/2.0/", api)
    app.router.add_get("/2.0", api)
    return app
