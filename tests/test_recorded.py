"""Every recorded response of the real services goes through our parsers."""

from __future__ import annotations

import json

import pytest

from enrich.errors import NotFound, SourceError
from enrich.sources import claude, lastfm, musicbrainz
from tests.conftest import RECORDED

pytestmark = pytest.mark.skipif(not RECORDED.is_dir(), reason="needs ../shared/recorded-api")


def index(service):
    return json.loads((RECORDED / service / "_index.json").read_text()) if RECORDED.is_dir() else []


def all_files(service, pattern="*.json"):
    return sorted(p for p in (RECORDED / service).rglob(pattern) if p.name != "_index.json") if RECORDED.is_dir() else []


def test_every_recorded_file_is_listed_here():
    lastfm_listed = {e["file"] for e in index("lastfm")}
    assert lastfm_listed == {p.name for p in all_files("lastfm")}
    assert len(all_files("musicbrainz")) >= 10 and len(all_files("anthropic", "*.response.*")) >= 8


@pytest.mark.parametrize("entry", index("lastfm"), ids=lambda e: e["file"])
def test_lastfm_recorded(entry):
    body = json.loads((RECORDED / "lastfm" / entry["file"]).read_text())
    if "error" in body:
        # Error bodies map to our errors: 6 is NotFound, others a SourceError.
        with pytest.raises(NotFound if body["error"] == 6 else SourceError):
            lastfm.parse(entry["method"], body)
        return
    got = lastfm.parse(entry["method"], body)
    if entry["method"].lower().endswith(("gettoptags", "gettags")):
        assert all(isinstance(n, str) and 0 <= w <= 100 for n, w in got.tags)
        assert got.tags == sorted(got.tags, key=lambda t: -t[1])


def test_lastfm_recorded_quirks_parse_as_expected():
    def load(name):
        return json.loads((RECORDED / "lastfm" / name).read_text())

    top = lastfm.parse("track.getTopTags", load("track.getTopTags__0_ok.json"))
    assert top.artist == "AC/DC" and top.tags[0] == ("hard rock", 100.0)
    assert lastfm.parse("track.getTopTags", load("track.getTopTags__1_ok.json")).tags == []  # the stub
    assert lastfm.parse("artist.getCorrection", load("artist.getCorrection__1_ok.json")) is None
    assert lastfm.parse("artist.getCorrection", load("artist.getCorrection__0_ok.json"))["name"] == "Avicii"
    info = lastfm.parse("track.getInfo", load("track.getInfo__2_ok.json"))
    assert info["tags"] == [] and info["artist"] == "Fake Artist"


@pytest.mark.parametrize("path", all_files("musicbrainz"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_musicbrainz_recorded(path):
    body = json.loads(path.read_text())
    if path.parent.name == "search_mb_solr":
        entity = path.stem.removesuffix("-list")
        results = musicbrainz.parse_search(body, entity)
        assert results and all(r["id"] and isinstance(r["score"], int) for r in results)
        if entity == "artist":
            assert all("genres" not in r for r in results)
    elif "error" in body:
        assert set(body) == {"error", "help"}
        reply = musicbrainz.classify(_reply(404 if body["error"] == "Not Found" else 400, path.read_bytes()))
        assert reply.kind.name in ("NOT_FOUND", "FAIL")
    else:
        got = musicbrainz.parse_lookup(body, body["id"])
        assert got["id"] == body["id"] and got["name"]
        assert [n for n, _ in got["genres"]] == sorted(
            (g["name"] for g in body.get("genres", []) if g["count"] > 0),
            key=lambda n: (-next(g["count"] for g in body["genres"] if g["name"] == n), n))


def test_musicbrainz_recorded_genres_and_tags():
    body = json.loads((RECORDED / "musicbrainz/server_testsuite/"
                       "LookupTagsRatings__artist_lookup_with_tags_genres_and_ratings.json").read_text())
    got = musicbrainz.parse_lookup(body, body["id"])
    assert ("j-pop", 1) in got["genres"] and ("japanese", 1) in got["tags"] and got["name"] == "BoA"


def _reply(status, body, headers=None):
    from enrich.net.reply import Reply
    return Reply("x", status, headers or {}, body, "u", 0.0)


@pytest.mark.parametrize("entry", index("anthropic"), ids=lambda e: e["name"])
def test_anthropic_recorded(entry):
    raw = (RECORDED / "anthropic" / entry["response_file"]).read_bytes()
    status = entry["status_code"]
    if entry["response_file"].endswith(".sse"):
        m = claude.parse_sse(raw.decode())
        assert m.text == "[12345,67890]" and m.stop_reason == "end_turn" and m.usage.output_tokens == 10
        return
    verdict = claude.classify(_reply(status, raw, entry.get("response_headers_subset", {})))
    if status != 200:
        assert verdict.kind.name == {429: "PAUSE", 400: "FAIL"}[status]
        kind, message = claude.error_detail(json.loads(raw))
        assert kind.endswith("_error") and message
        return
    m = claude.parse_message(json.loads(raw))
    assert m.id.startswith("msg_") and m.usage.input_tokens > 0 and m.stop_reason
    body = json.loads(raw)
    assert sum(len(v) for v in m.blocks.values()) == len(body["content"])
    assert len(m.tool_uses) == sum(b["type"] == "tool_use" for b in body["content"])


def test_anthropic_recorded_requests_are_valid_bodies_for_the_fake():
    """The recorded request bodies are what the fake Anthropic expects too."""
    from tests.fakes.anthropic import Classifier
    from tests.fakes.world import World

    for entry in index("anthropic"):
        req = json.loads((RECORDED / "anthropic" / entry["request_file"]).read_text())
        assert {"model", "max_tokens", "messages"} <= set(req)
        for tool in req.get("tools", []):
            if "input_schema" in tool:
                filled = Classifier(World.sample()).fill(tool["input_schema"], {}, [])
                assert isinstance(filled, dict)
