"""The fakes themselves behave like the real services: keys, rate limits in
each service's own way, and a thread/subprocess mode for CLI tests."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import REPO
from tests.fakes import ANTHROPIC_KEY, LASTFM_KEY, Bucket, Faults, ThreadedFakes

UA = {"User-Agent": "enrich-test/1.0 ( test@example.org )"}


def get(url, headers=None, data=None):
    req = urllib.request.Request(url, headers={**UA, **(headers or {})}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def lastfm_url(base, key=LASTFM_KEY, **params):
    q = {"method": "artist.getTopTags", "artist": "Portishead", "format": "json", "api_key": key, **params}
    return f"{base}/2.0/?{urllib.parse.urlencode(q)}"


def test_bucket_refuses_over_the_rate_and_lets_a_slowed_client_back_in():
    now = [0.0]
    bucket = Bucket(10.0, 1.0, clock=lambda: now[0])
    assert bucket.allow() and not bucket.allow()
    now[0] += 0.05
    assert not bucket.allow()  # still over: refused requests take no token but earn none either
    now[0] += 0.06
    assert bucket.allow()


def test_unknown_fault_kinds_are_refused():
    with pytest.raises(ValueError):
        Faults(rates={"gremlins": 0.1})


def test_threaded_fakes_serve_keys_rates_and_quirks():
    with ThreadedFakes(rates={"lastfm": (2.0, 1.0), "musicbrainz": (2.0, 1.0), "claude": (2.0, 1.0)}) as fakes:
        lf, mb, cl = fakes.urls["lastfm"], fakes.urls["musicbrainz"], fakes.urls["claude"]
        status, _, body = get(lastfm_url(lf))
        assert status == 200 and json.loads(body)["toptags"]["@attr"]["artist"] == "Portishead"
        # Over the rate Last.fm says error 29 with HTTP 429.
        status, _, body = get(lastfm_url(lf))
        assert status == 429 and json.loads(body)["error"] == 29
        # A wrong key is error 10 with HTTP 403 (checked once the rate allows again).
        fakes.service("lastfm").set_rate(None)
        status, _, body = get(lastfm_url(lf, key="0" * 32))
        assert status == 403 and json.loads(body)["error"] == 10
        status, _, body = get(lastfm_url(lf, artist="No Such Artist Here"))
        assert json.loads(body)["error"] == 6 and status in (200, 404)

        mbid = fakes.world.artists[0].mbid
        status, _, body = get(f"{mb}/ws/2/artist/{mbid}?inc=genres+tags&fmt=json")
        assert status == 200 and json.loads(body)["genres"][0]["name"] == "electronic"  # sorted by name
        status, _, _ = get(f"{mb}/ws/2/artist/{mbid}?fmt=json")  # too soon: every request refused
        assert status == 503
        fakes.service("musicbrainz").set_rate(None)
        status, _, body = get(f"{mb}/ws/2/artist/{mbid}?inc=coffee&fmt=json")
        assert status == 400 and "coffee is not a valid inc parameter" in json.loads(body)["error"]
        status, _, _ = get(f"{mb}/ws/2/artist/{mbid}?fmt=json", headers={"User-Agent": "python-urllib"})
        assert status == 403

        msg = json.dumps({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).encode()
        headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        status, _, body = get(f"{cl}/v1/messages", headers, msg)
        assert status == 200 and json.loads(body)["type"] == "message"
        status, hdrs, body = get(f"{cl}/v1/messages", headers, msg)
        assert status == 429 and json.loads(body)["error"]["type"] == "rate_limit_error"
        assert {k.lower(): v for k, v in hdrs.items()}["retry-after"] == "1"
        fakes.service("claude").set_rate(None)
        status, _, body = get(f"{cl}/v1/messages", {**headers, "x-api-key": "sk-ant-api03-nope"}, msg)
        assert status == 401 and json.loads(body)["error"]["type"] == "authentication_error"

        assert fakes.violations() == 3
        assert fakes.service("lastfm").counters.statuses[429] == 1


@pytest.mark.slow
def test_python_m_tests_fakes_serves_until_stopped():
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes", "--mb-rate", "50"], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or lines[-1] != "}\n":
            lines.append(proc.stdout.readline())
        info = json.loads("".join(lines))
        status, _, body = get(lastfm_url(info["urls"]["lastfm"], key=info["env"]["LASTFM_API_KEY"]))
        assert status == 200 and "toptags" in json.loads(body)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
