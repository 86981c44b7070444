"""Pure decisions of the network layer, as tables."""

from __future__ import annotations

import json

import pytest

from enrich.errors import BadReply
from enrich.net import policy
from enrich.net.breaker import Breaker
from enrich.net.reply import Kind, Reply
from enrich.sources import claude, lastfm, musicbrainz


def reply(status=200, body=b"{}", headers=None, source="x"):
    return Reply(source, status, headers or {}, body, "http://h/", 0.0)


@pytest.mark.parametrize("status, kind", [
    (200, Kind.OK), (204, Kind.OK), (404, Kind.NOT_FOUND), (429, Kind.PAUSE), (503, Kind.PAUSE),
    (500, Kind.RETRY), (502, Kind.RETRY), (529, Kind.RETRY), (408, Kind.RETRY), (401, Kind.OFF),
    (403, Kind.OFF), (400, Kind.FAIL), (413, Kind.FAIL),
])
def test_http_verdict(status, kind):
    assert policy.http_verdict(reply(status)).kind is kind


@pytest.mark.parametrize("headers, seconds", [
    ({}, None), ({"retry-after": "3"}, 3.0), ({"retry-after": "0"}, 0.0), ({"retry-after": "1.5"}, 1.5),
    ({"retry-after-ms": "250"}, 0.25), ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"retry-after": "soon"}, None), ({"retry-after": "-4"}, 0.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
])
def test_retry_after(headers, seconds):
    import email.utils
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert policy.retry_after(headers, now=now) == seconds


@pytest.mark.parametrize("attempt, rand, expected", [
    (0, 0.0, 0.25), (0, 1.0, 0.5), (1, 0.0, 0.5), (3, 1.0, 4.0), (10, 1.0, 30.0), (10, 0.0, 15.0),
])
def test_backoff_is_exponential_jittered_and_capped(attempt, rand, expected):
    assert policy.backoff_delay(attempt, 0.5, 30.0, lambda: rand) == pytest.approx(expected)


@pytest.mark.parametrize("url, params, expected", [
    ("https://ws.audioscrobbler.com/2.0/", {"method": "a", "api_key": "SECRET", "artist": "B"},
     "https://ws.audioscrobbler.com/2.0/?artist=B&method=a"),
    ("https://H.example/x?b=2&a=1&api_key=SECRET", None, "https://h.example/x?a=1&b=2"),
    ("https://h/x?token=SECRET&q=a+b", {}, "https://h/x?q=a+b"),
    ("http://me:SECRET@Mirror.example:8080/ws/2/artist", {"fmt": "json"}, "http://mirror.example:8080/ws/2/artist?fmt=json"),
])
def test_public_url_drops_secrets_and_sorts(url, params, expected):
    assert policy.public_url(url, params) == expected


def test_request_key_hashes_the_body_and_hides_secrets():
    a = policy.request_key("post", "https://h/v1/messages", None, {"model": "m", "n": 1})
    b = policy.request_key("POST", "https://h/v1/messages", None, {"n": 1, "model": "m"})
    c = policy.request_key("POST", "https://h/v1/messages", None, {"n": 2, "model": "m"})
    assert a == b != c and a.startswith("POST https://h/v1/messages body:")
    assert "SECRET" not in policy.request_key("GET", "https://h/?api_key=SECRET", {"api_key": "SECRET"}, None)


@pytest.mark.parametrize("age_days, negative, fresh", [
    (0, False, True), (29.9, False, True), (30.1, False, False), (6.9, True, True), (7.1, True, False),
])
def test_is_fresh(age_days, negative, fresh):
    now = 1_000_000_000.0
    assert policy.is_fresh(now - age_days * policy.DAY, negative, now, 30, 7) is fresh


@pytest.mark.parametrize("base, path, expected", [
    ("https://h.example", "2.0/", "https://h.example/2.0/"),
    ("https://h.example/proxy/", "/ws/2/artist", "https://h.example/proxy/ws/2/artist"),
    ("https://h.example/?sig=abcd1234", "2.0/", "https://h.example/2.0/?sig=abcd1234"),
    ("https://h.example", "https://other.example/results", "https://other.example/results"),
])
def test_join_url_keeps_the_base_query(base, path, expected):
    assert policy.join_url(base, path) == expected


@pytest.mark.parametrize("url, secrets", [
    ("https://h.example/2.0/", []),
    ("https://me:p%40ss@h.example/", ["p@ss", "p%40ss", "bWU6cEBzcw=="]),
    ("https://h.example/?sig=abcd1234&v=1", ["abcd1234"]),  # values shorter than 4 would garble every text
])
def test_url_secrets_are_the_password_its_basic_auth_form_and_query_values(url, secrets):
    assert policy.url_secrets(url) == secrets


def test_redact_bytes_removes_plain_and_quoted_secrets():
    body = b'{"echo": "api_key=a/b+c", "q": "a%2Fb%2Bc", "f": "a%2Fb%2Bc"}'
    assert policy.redact_bytes(body, ["a/b+c"]) == b'{"echo": "api_key=***", "q": "***", "f": "***"}'


def test_redact_removes_plain_and_quoted_secrets():
    assert policy.redact("key=a/b+c and a%2Fb%2Bc", ["a/b+c"]) == "key=*** and ***"
    assert policy.redact("nothing", ["", "zz"]) == "nothing"


def test_breaker_opens_after_n_failures_in_a_row_and_success_resets():
    b = Breaker(3)
    assert not b.failure("x") and not b.failure("x")
    b.success()
    assert not b.failure("x") and not b.failure("y")
    assert b.failure("z") and b.is_open and "3 failures in a row (last: z)" in b.reason
    assert not b.failure("again")  # opens once
    assert not b.trip("other") and "last: z" in b.reason


@pytest.mark.parametrize("status, body, kind", [
    (200, b'{"toptags": {"tag": []}}', Kind.OK),
    (200, b'{"error": 6, "message": "Track not found", "links": []}', Kind.NOT_FOUND),
    (404, b'{"error": 6, "message": "Track not found"}', Kind.NOT_FOUND),
    (403, b'{"error": 10, "message": "Invalid API key"}', Kind.OFF),
    (403, b'{"error": 26, "message": "Suspended API key"}', Kind.OFF),
    (429, b'{"error": 29, "message": "Rate Limit Exceeded"}', Kind.PAUSE),
    (200, b'{"error": 29, "message": "Rate Limit Exceeded"}', Kind.PAUSE),
    (200, b'{"error": 11, "message": "Service Offline"}', Kind.RETRY),
    (200, b'{"error": 16, "message": "temporary error"}', Kind.RETRY),
    (200, b'{"error": 3, "message": "Invalid Method"}', Kind.FAIL),
    (200, b'{"error": "x", "message": "odd"}', Kind.FAIL),
    (502, b"<html>Bad Gateway</html>", Kind.RETRY),
    (200, b"<html>maintenance</html>", Kind.RETRY),
    (200, b"", Kind.RETRY),
    (200, b"[1, 2]", Kind.FAIL),
])
def test_lastfm_classify(status, body, kind):
    assert lastfm.classify(reply(status, body)).kind is kind


@pytest.mark.parametrize("status, body, headers, kind, after", [
    (200, b'{"id": "x"}', {}, Kind.OK, None),
    (503, b'{"error": "Your requests are exceeding the allowable rate limit."}', {}, Kind.PAUSE, None),
    (503, b"Server busy", {"retry-after": "0"}, Kind.PAUSE, None),  # 0 means "about a second"
    (503, b"", {"retry-after": "4"}, Kind.PAUSE, 4.0),
    (404, b'{"error": "Not Found"}', {}, Kind.NOT_FOUND, None),
    (400, b'{"error": "Invalid mbid."}', {}, Kind.FAIL, None),
    (403, b"", {}, Kind.OFF, None),
    (500, b"", {}, Kind.RETRY, None),
    (200, b"<html/>", {}, Kind.RETRY, None),
])
def test_musicbrainz_classify(status, body, headers, kind, after):
    v = musicbrainz.classify(reply(status, body, headers))
    assert (v.kind, v.after) == (kind, after)


def err(kind, msg="m"):
    return (f'{{"type": "error", "error": {{"type": "{kind}", "message": "{msg}"}}}}').encode()


@pytest.mark.parametrize("status, body, headers, kind", [
    (200, b'{"type": "message", "content": []}', {}, Kind.OK),
    (429, err("rate_limit_error"), {"retry-after": "2"}, Kind.PAUSE),
    (529, err("overloaded_error"), {}, Kind.RETRY),
    (500, err("api_error"), {}, Kind.RETRY),
    (400, err("invalid_request_error"), {}, Kind.FAIL),
    (400, err("invalid_request_error"), {"x-should-retry": "true"}, Kind.RETRY),
    (500, err("api_error"), {"x-should-retry": "false"}, Kind.FAIL),
    (401, err("authentication_error"), {}, Kind.OFF),
    (403, err("permission_error"), {}, Kind.OFF),
    (404, err("not_found_error", "model: x"), {}, Kind.OFF),
    (413, err("request_too_large"), {}, Kind.FAIL),
])
def test_claude_classify(status, body, headers, kind):
    assert claude.classify(reply(status, body, headers)).kind is kind


def test_claude_classify_keeps_advised_wait_from_ms_header():
    v = claude.classify(reply(429, err("rate_limit_error"), {"retry-after-ms": "1500", "retry-after": "9"}))
    assert v.after == 1.5


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"toptags": {"tag": [{"name": "rock \\ud83c", "count": 100}]}}',
     {"toptags": {"tag": [{"name": "rock \ud83c", "count": 100}]}}),  # a tag cut inside an emoji
    (b'\xef\xbb\xbf{"id": "x"}', {"id": "x"}),  # a byte order mark
    (b'{"score": NaN, "name": "caf\xc3\xa9"}', {"score": float("nan"), "name": "café"}),
    (b'{"name": "\\u266b Tr\xc3\xa4ume"}', {"name": "♫ Träume"}),
])
def test_a_reply_parses_as_the_standard_library_would_with_the_faster_parser(body, expected):
    assert repr(reply(body=body).json()) == repr(json.loads(body)) == repr(expected)  # (repr: NaN is not NaN)


@pytest.mark.parametrize("body", [b"<html>503</html>", b'{"a": "\xff"}', b'{"a": 1', b""])
def test_a_body_neither_parser_reads_is_a_bad_reply(body):
    with pytest.raises(BadReply, match="not JSON"):
        reply(body=body).json()
