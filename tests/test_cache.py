"""The disk HTTP cache: keys, TTLs, atomic private entries, corruption,
an unwritable folder, offline mode, and `enrich cache`."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import stat
import subprocess
import sys
import time

import pytest

from enrich.errors import SourceError, SourceUnavailable
from enrich.net import Clock, open_client
from enrich.net import cache as cache_mod
from enrich.net.cache import SMALL_ENTRY, DiskCache, Entry, decode, encode
from enrich.sources import lastfm, musicbrainz
from tests.conftest import REPO, run_enrich, unprivileged_prefix
from tests.fakes import FAST_HTTP, FakeServices

DAY = 86400.0


def clock_at(wall: float) -> Clock:
    return Clock(time.monotonic, lambda: wall, asyncio.sleep, random.Random(1).random)


async def warm(client, fakes):
    await lastfm.artist_top_tags(client, "Portishead")
    await musicbrainz.lookup(client, "artist", fakes.world.artists[0].mbid)
    with pytest.raises(SourceError):
        await lastfm.artist_top_tags(client, "Nobody At All")


def entries(folder):
    return sorted(p for p in (folder / "cache" / "http").rglob("*.json") if p.name != "last_run.json")


def test_a_temp_file_left_by_a_dead_process_of_the_same_id_is_overwritten(tmp_path, monkeypatch):
    # Temp names are the process id and a count: a crashed process of the same id
    # may have left one; the write takes it over, whole and private, and leaves none.
    monkeypatch.setattr(cache_mod, "_tmp_numbers", itertools.count(7))
    final = tmp_path / "ab" / "x.json"
    final.parent.mkdir()
    stale = final.parent / f".x.json.{os.getpid()}.7.tmp"
    stale.write_bytes(b"stale " * 1000)
    entry = Entry("GET /x", "lastfm", 200, {}, b'{"a": 1}', "http://x", 1.0, False)
    cache_mod._write_file(str(final), encode(entry))
    assert decode(final.read_bytes()) == entry
    assert list(final.parent.iterdir()) == [final]
    # A folder not there yet is made, private.
    cache_mod._write_file(str(tmp_path / "cd" / "y.json"), encode(entry))
    assert decode((tmp_path / "cd" / "y.json").read_bytes()) == entry
    assert stat.S_IMODE((tmp_path / "cd").stat().st_mode) == 0o700


@pytest.mark.anyio
async def test_entries_are_whole_private_files_without_secrets(tmp_path):
    async with FakeServices() as fakes, open_client(fakes.load_config(tmp_path)) as client:
        await warm(client, fakes)
    files = entries(tmp_path)
    assert len(files) == 3
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert not [p for p in (tmp_path / "cache").rglob("*.tmp")]
    decoded = [decode(p.read_bytes()) for p in files]
    assert all(d is not None for d in decoded)
    assert sorted(d.negative for d in decoded) == [False, False, True]
    assert all("api_key" not in d.key and fakes.keys["lastfm"] not in d.key for d in decoded)
    assert {d.source for d in decoded} == {"lastfm", "musicbrainz"}


@pytest.mark.anyio
@pytest.mark.parametrize("body_size", [10, SMALL_ENTRY - 400, SMALL_ENTRY + 10, 5 * SMALL_ENTRY])
async def test_small_entries_are_read_inline_and_large_ones_off_the_loop_alike(tmp_path, body_size):
    cache = DiskCache(tmp_path / "cache")
    body = json.dumps({"pad": "é" * (body_size // 2)}).encode()
    entry = Entry("GET /ws/2/artist/x", "musicbrainz", 200, {"content-type": "application/json"}, body,
                  "http://mb/x", 12.5, False)
    await cache.put(entry)
    assert await cache.get("musicbrainz", entry.key) == entry
    assert await cache.get("musicbrainz", "GET /ws/2/artist/other") is None


@pytest.mark.anyio
@pytest.mark.parametrize("damage", [b"", b'{"format": 1, "key": "GET ', b"<html>oops</html>", b'{"format": 1}', b"\xff\xfe"])
async def test_a_damaged_entry_is_a_miss_and_is_replaced(tmp_path, damage):
    async with FakeServices() as fakes:
        config = fakes.load_config(tmp_path)
        async with open_client(config) as client:
            await lastfm.artist_top_tags(client, "Portishead")
        (path,) = entries(tmp_path)
        path.write_bytes(damage)
        async with open_client(config) as client:
            got = await lastfm.artist_top_tags(client, "Portishead")
            assert client.stats("lastfm").cache_misses == 1
        assert got.tags[0][0] == "trip-hop" and fakes.requests("lastfm") == 2
        assert decode(path.read_bytes()) is not None


@pytest.mark.parametrize("field, wrong", [("key", 5), ("source", None), ("status", "200"), ("status", 200.0),
                                          ("headers", [["content-type", "x"]]), ("url", ["u"]),
                                          ("fetched_at", "12.5"), ("negative", 0), ("length", 3), ("format", 3)])
def test_an_entry_line_of_the_right_shape_with_a_wrong_value_is_no_entry(field, wrong):
    entry = Entry("GET http://mb/x", "musicbrainz", 200, {"content-type": "application/json"}, b"{}",
                  "http://mb/x", 12.5, False)
    head, _, body = encode(entry).partition(b"\n")
    assert decode(head + b"\n" + body) == entry
    line = json.loads(head)
    line[field] = wrong
    assert decode(json.dumps(line).encode() + b"\n" + body) is None


@pytest.mark.anyio
@pytest.mark.parametrize("blocker", ["cache_dir_is_a_file", "source_dir_is_a_file"])
async def test_an_unwritable_cache_is_skipped_with_one_notice(tmp_path, blocker, caplog):
    caplog.set_level(logging.WARNING, logger="enrich.net")
    async with FakeServices() as fakes:
        config = fakes.load_config(tmp_path)
        if blocker == "cache_dir_is_a_file":
            (tmp_path / "cache").write_text("not a folder")
        else:
            (tmp_path / "cache" / "http").mkdir(parents=True)
            (tmp_path / "cache" / "http" / "lastfm").write_text("not a folder")
        async with open_client(config) as client:
            for artist in ("Portishead", "AC/DC", "Björk"):
                assert (await lastfm.artist_top_tags(client, artist)).tags
            notices = [n for n in client.notices if "cannot be written" in n]
    assert len(notices) == 1 and "going on without caching" in notices[0]
    assert caplog.text.count("cannot be written") == 1
    assert fakes.requests("lastfm") == 3


@pytest.mark.slow
def test_a_read_only_cache_folder_is_skipped_with_one_notice(tmp_path):
    """A real read-only folder, in a process without root's power to ignore permissions."""
    (tmp_path / "cache" / "http").mkdir(parents=True)
    os.chmod(tmp_path / "cache" / "http", 0o500)
    os.chmod(tmp_path / "cache", 0o500)
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from enrich.net.cache import DiskCache, Entry\n"
        "async def main():\n"
        "    cache = DiskCache(Path(sys.argv[1]))\n"
        "    entry = Entry('GET /2.0/?method=x', 'lastfm', 200, {}, b'{}', 'http://x', 0.0, False)\n"
        "    await cache.put(entry)\n"
        "    await cache.put(entry)\n"
        "    print(await cache.get('lastfm', entry.key))\n"
        "asyncio.run(main())\n"
    )
    try:
        done = subprocess.run([*unprivileged_prefix(), sys.executable, "-c", script, str(tmp_path / "cache")],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        os.chmod(tmp_path / "cache", 0o700)
        os.chmod(tmp_path / "cache" / "http", 0o700)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"  # nothing was cached
    assert done.stderr.count("cannot be written") == 1 and "going on without caching" in done.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("age_days, requests", [(5, 0), (8, 1), (31, 2)])
async def test_ttl_and_shorter_negative_ttl(tmp_path, age_days, requests):
    """Last.fm: ttl_days 30, negative_ttl_days 7."""
    t0 = 1_700_000_000.0
    async with FakeServices() as fakes:
        config = fakes.load_config(tmp_path)
        async with open_client(config, clock=clock_at(t0)) as client:
            await lastfm.artist_top_tags(client, "Portishead")
            with pytest.raises(SourceError):
                await lastfm.artist_top_tags(client, "Nobody At All")
        fakes.reset_counters()
        async with open_client(config, clock=clock_at(t0 + age_days * DAY)) as client:
            await lastfm.artist_top_tags(client, "Portishead")
            with pytest.raises(SourceError):
                await lastfm.artist_top_tags(client, "Nobody At All")
        assert fakes.requests("lastfm") == requests


@pytest.mark.anyio
async def test_errors_are_never_cached(tmp_path):
    async with FakeServices() as fakes:
        config = fakes.load_config(tmp_path, http=FAST_HTTP, lastfm={"max_retries": 0})
        fakes.service("lastfm").faults.push("500")
        async with open_client(config) as client:
            with pytest.raises(SourceError):
                await lastfm.artist_top_tags(client, "Portishead")
        assert entries(tmp_path) == []


@pytest.mark.anyio
async def test_offline_answers_from_the_cache_only_whatever_its_age(tmp_path):
    async with FakeServices() as fakes:
        config = fakes.load_config(tmp_path)
        async with open_client(config) as client:
            online = await lastfm.artist_top_tags(client, "Portishead")
        fakes.reset_counters()
        keyless = fakes.load_config(tmp_path, keys=False)  # offline needs no keys
        async with open_client(keyless, offline=True, clock=clock_at(time.time() + 400 * DAY)) as client:
            assert client.is_available("lastfm") and client.is_available("claude")
            assert await lastfm.artist_top_tags(client, "Portishead") == online
            start = time.monotonic()
            with pytest.raises(SourceUnavailable, match="offline; not in cache"):
                await lastfm.artist_top_tags(client, "AC/DC")
            with pytest.raises(SourceUnavailable, match="offline; not in cache"):
                await musicbrainz.lookup(client, "artist", fakes.world.artists[1].mbid)
            assert time.monotonic() - start < 0.5
            assert client.report()["offline"] is True
        assert fakes.requests() == 0


@pytest.mark.anyio
async def test_backoff_uses_the_injected_clock(tmp_path):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    clock = Clock(time.monotonic, time.time, sleep, lambda: 0.5)
    async with FakeServices() as fakes:
        fakes.service("musicbrainz").faults.push("500", "500", "500")
        config = fakes.load_config(tmp_path, http={"backoff_base": 2.0, "backoff_cap": 5.0})
        async with open_client(config, clock=clock) as client:
            assert (await musicbrainz.lookup(client, "artist", fakes.world.artists[0].mbid))["name"]
    # The token bucket (1000/s here) sleeps through the same clock, a millisecond at most.
    assert [s for s in slept if s > 0.001] == [1.5, 3.0, 3.75]  # 2, 4, 5(capped) seconds, each 3/4 with rand=0.5


@pytest.mark.slow
def test_cache_command_stats_prune_and_clear(tmp_path):
    async def fill():
        async with FakeServices() as fakes:
            config = fakes.load_config(tmp_path)
            async with open_client(config) as client:
                await warm(client, fakes)
            async with open_client(config) as client:  # a second run: all hits
                await warm(client, fakes)

    asyncio.run(fill())
    cache = str(tmp_path / "cache")
    base = ("--cache-dir", cache, "--json")
    stats = run_enrich("cache", "stats", *base)
    assert stats.returncode == 0, stats.stderr
    data = json.loads(stats.stdout)
    assert data["sources"]["lastfm"]["entries"] == 2 and data["sources"]["musicbrainz"]["entries"] == 1
    assert data["sources"]["lastfm"]["last_run"]["hit_rate"] == 1.0
    text = run_enrich("cache", "stats", "--cache-dir", cache)
    assert "lastfm" in text.stdout and "100%" in text.stdout

    # A leftover temp file of a crashed run and an unreadable entry are pruned.
    (entries(tmp_path)[0].parent / ".x.json.1.tmp").write_text("half")
    os.utime(entries(tmp_path)[0].parent / ".x.json.1.tmp", (1, 1))
    bad = entries(tmp_path)[0].parent / ("0" * 64 + ".json")
    bad.write_text("{trunc")
    before = sorted(p.name for p in (tmp_path / "cache").rglob("*"))
    would = json.loads(run_enrich("cache", "prune", "--dry-run", *base).stdout)
    assert would["dry_run"] and would["removed"] == {"expired": 0, "unreadable": 1, "over_budget": 0, "temp": 1}
    assert sorted(p.name for p in (tmp_path / "cache").rglob("*")) == before  # nothing removed
    pruned = json.loads(run_enrich("cache", "prune", *base).stdout)
    assert pruned["removed"] == {"expired": 0, "unreadable": 1, "over_budget": 0, "temp": 1}
    assert pruned["kept_entries"] == 3

    squeezed = json.loads(run_enrich("cache", "prune", "--max-mb", "0.0007", *base).stdout)  # ~730 bytes
    assert squeezed["removed"]["over_budget"] >= 1 and squeezed["kept_bytes"] <= 0.0007 * 1024 * 1024

    present = json.loads(run_enrich("cache", "stats", *base).stdout)["entries"]
    would = json.loads(run_enrich("cache", "clear", "--dry-run", *base).stdout)
    assert would["removed"] == present >= 1
    assert json.loads(run_enrich("cache", "stats", *base).stdout)["entries"] == present  # nothing removed
    cleared = json.loads(run_enrich("cache", "clear", "--source", "musicbrainz", *base).stdout)
    left = json.loads(run_enrich("cache", "stats", *base).stdout)
    assert left["sources"]["musicbrainz"]["entries"] == 0
    assert cleared["source"] == "musicbrainz"
    assert run_enrich("cache", "clear", *base).returncode == 0
    assert json.loads(run_enrich("cache", "stats", *base).stdout)["entries"] == 0
    bad_source = run_enrich("cache", "clear", "--source", "discogs", "--cache-dir", cache)
    assert bad_source.returncode == 2 and "discogs" in bad_source.stderr


@pytest.mark.slow
def test_prune_removes_expired_entries(tmp_path):
    async def fill():
        async with FakeServices() as fakes:
            config = fakes.load_config(tmp_path)
            async with open_client(config, clock=clock_at(time.time() - 10 * DAY)) as client:
                await warm(client, fakes)

    asyncio.run(fill())
    # Ten days old: the Last.fm not-found (7 days) is expired, the rest is not.
    out = json.loads(run_enrich("cache", "prune", "--cache-dir", str(tmp_path / "cache"), "--json").stdout)
    assert out["removed"]["expired"] == 1 and out["kept_entries"] == 2
