"""Source parsers over the quirks the real services show, as tables."""

from __future__ import annotations

import json

import pytest

from enrich.errors import BadReply, NotFound, SourceError, SourceUnavailable
from enrich.sources import claude, lastfm, musicbrainz


@pytest.mark.parametrize("body, tags", [
    ({"toptags": {"tag": [{"count": 100, "name": "rock"}, {"count": 40, "name": "pop"}]}}, [("rock", 100.0), ("pop", 40.0)]),
    ({"toptags": {"tag": {"count": 100, "name": "rock"}}}, [("rock", 100.0)]),  # a single tag as an object
    ({"toptags": {"tag": [{"count": "20", "name": "a"}, {"count": "100", "name": "b"}]}}, [("b", 100.0), ("a", 20.0)]),
    ({"toptags": {"tag": []}}, []),
    ({"toptags": {"tag": ""}}, []),
    ({"toptags": ""}, []),
    ({"toptags": {"@attr": {"artist": "X"}}}, []),
    ({"tags": {"tag": [{"name": "metal"}]}}, [("metal", 100.0)]),  # getTags: no counts
    ({"toptags": {"tag": [{"count": "lots", "name": "x"}, {"name": " "}, "junk", {"count": 300, "name": "y"}]}},
     [("y", 100.0), ("x", 0.0)]),
])
def test_lastfm_tag_quirks(body, tags):
    assert lastfm.parse_tags(body, "asked").tags == tags


def test_lastfm_corrected_names_come_from_attr():
    body = {"toptags": {"tag": [], "@attr": {"artist": "AC/DC", "track": "Hells Bells"}}}
    got = lastfm.parse_tags(body, "acdc", track="hells bell")
    assert (got.artist, got.track, got.tags) == ("AC/DC", "Hells Bells", [])


@pytest.mark.parametrize("body", [[], "x", {"other": 1}, None])
def test_lastfm_wrong_shape_is_bad_reply(body):
    with pytest.raises(BadReply):
        lastfm.parse_tags(body)


@pytest.mark.parametrize("body, exc", [
    ({"error": 6, "message": "Track not found"}, NotFound),
    ({"error": 10, "message": "Invalid API key"}, SourceUnavailable),
    ({"error": 26, "message": "Suspended"}, SourceUnavailable),
    ({"error": 3, "message": "Invalid Method"}, SourceError),
])
def test_lastfm_error_bodies(body, exc):
    with pytest.raises(exc) as info:
        lastfm.parse("track.getTopTags", body, what="track A - B")
    assert str(info.value).startswith("lastfm track A - B: ")


@pytest.mark.parametrize("body, expected", [
    ({"corrections": "\n      "}, None),
    ({"corrections": {"correction": {"artist": {"name": "Avicii"}, "@attr": {"index": "0"}}}},
     {"kind": "artist", "name": "Avicii", "artist": None}),
    ({"corrections": {"correction": {"track": {"url": "", "artist": {"url": ""}}}}}, None),
])
def test_lastfm_corrections(body, expected):
    assert lastfm.parse_correction(body) == expected


def test_musicbrainz_lookup_sorts_by_votes_and_drops_zero_counts():
    body = {"id": "new", "title": "Song", "genres": [{"name": "a", "count": 1}, {"name": "b", "count": 5}, {"name": "c", "count": 0}],
            "tags": [{"name": "z", "count": "3"}, {"name": "y"}]}
    got = musicbrainz.parse_lookup(body, "old")
    assert got == {"asked": "old", "id": "new", "name": "Song", "genres": [("b", 5), ("a", 1)], "tags": [("z", 3)]}


def test_musicbrainz_lookup_without_inc_has_empty_lists():
    assert musicbrainz.parse_lookup({"id": "i", "name": "N"})["genres"] == []


@pytest.mark.parametrize("body", [{}, {"error": "Not Found"}, [], {"id": 5}])
def test_musicbrainz_lookup_wrong_shape(body):
    with pytest.raises(BadReply):
        musicbrainz.parse_lookup(body, "x")


@pytest.mark.parametrize("raw, score", [(100, 100), ("87", 87), (None, 0), ("n/a", 0)])
def test_musicbrainz_search_scores_int_or_string(raw, score):
    body = {"artists": [{"id": "i", "name": "N", "sort-name": "N", "score": raw, "aliases": [{"name": "A", "sort-name": "A2"}]}]}
    (a,) = musicbrainz.parse_search(body)
    assert a["score"] == score and a["aliases"] == ["A", "A2"] and "genres" not in a


@pytest.mark.parametrize("name, escaped", [
    ("AC/DC", r"AC\/DC"), ('Say "Hi"', r"Say \"Hi\""), ("a+b-c&&d||e!", r"a\+b\-c\&\&d\|\|e\!"),
    ("(x){y}[z]^~*?:\\", r"\(x\)\{y\}\[z\]\^\~\*\?\:\\"), ("Björk", "Björk"),
])
def test_lucene_escape(name, escaped):
    assert musicbrainz.escape(name) == escaped


def test_artist_query_is_one_or_query():
    assert musicbrainz.artist_query(["A", " ", "B/C"]) == r'artist:"A" OR artist:"B\/C"'


def message(content, **extra):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": content,
            "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}, **extra}


def test_claude_blocks_by_type_not_position():
    m = claude.parse_message(message([
        {"type": "text", "text": "thinking aloud "},
        {"type": "tool_use", "id": "t", "name": "classify", "input": {"genre": "rock"}},
        {"type": "text", "text": "done"},
    ]))
    assert m.tool_input("classify") == {"genre": "rock"} and m.text == "thinking aloud done"
    assert m.usage == claude.Usage(10, 5, 0, 0)


def test_claude_usage_with_cache_tokens():
    m = claude.parse_message(message([], usage={"input_tokens": 3, "output_tokens": 2,
                                                "cache_creation_input_tokens": 100, "cache_read_input_tokens": 7}))
    assert m.usage.as_tuple() == (3, 2, 100, 7)
    assert claude.cost(m.usage, {"input_price_per_mtok": 1.0, "output_price_per_mtok": 5.0,
                                 "cache_write_price_per_mtok": 1.25, "cache_read_price_per_mtok": 0.1}) == pytest.approx(
        (3 + 10 + 125 + 0.7) / 1e6)


@pytest.mark.parametrize("body", [{"type": "error", "error": {"type": "api_error", "message": "x"}}, {"type": "message"}, []])
def test_claude_not_a_message(body):
    with pytest.raises(BadReply):
        claude.parse_message(body)


@pytest.mark.parametrize("line, expected", [
    ({"custom_id": "a", "result": {"type": "succeeded", "message": message([])}}, ("a", "succeeded", None)),
    ({"custom_id": "b", "result": {"type": "errored", "error": {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}}},
     ("b", "errored", "invalid_request_error: bad")),
    ({"custom_id": "c", "result": {"type": "errored", "error": {"type": "overloaded_error", "message": "busy"}}},
     ("c", "errored", "overloaded_error: busy")),
    ({"custom_id": "d", "result": {"type": "expired"}}, ("d", "expired", None)),
    ({"custom_id": "e", "result": {"type": "canceled"}}, ("e", "canceled", None)),
])
def test_claude_batch_result_lines(line, expected):
    got = claude.parse_result_line(json.dumps(line))
    assert (got["custom_id"], got["type"], got.get("error")) == expected


@pytest.mark.parametrize("line", ["not json", '{"result": {}}', '{"custom_id": "x"}'])
def test_claude_bad_result_lines(line):
    with pytest.raises(BadReply):
        claude.parse_result_line(line)
