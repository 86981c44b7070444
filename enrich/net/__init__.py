"""The network layer: one aiohttp session per run, and for every source a
token bucket, a cap on requests in flight, a whole-source pause on 429/503,
retries with jittered exponential back-off, a circuit breaker, and a disk HTTP
cache. Every request passes through the same single layer
(:meth:`Client.fetch`), so the source modules (enrich.sources.lastfm,
.musicbrainz, .claude) only build requests and parse replies.

Use::

    from enrich.net import open_client
    from enrich.sources import lastfm, musicbrainz, claude

    async with open_client(config, offline=False) as client:
        if client.is_available("lastfm"):          # False: disabled, no key, breaker open
            tags = await lastfm.track_top_tags(client, "Artist", "Title")
        art = await musicbrainz.lookup(client, "artist", mbid)
        found = await musicbrainz.search_artists(client, ["Name A", "Name B"], limit=25)
        msg = await claude.create_message(client, body, cache_key="classify:v1:...")
        client.report()   # {"offline", "sources": {name: counters}, "notices": [...]}

What a call raises (all from enrich.errors, each an ItemError naming the
source and the item, so a run records it and goes on):

- ``NotFound``: the source does not know the item (cached for negative_ttl_days).
- ``SourceUnavailable``: the source is off for this run (disabled, no API key,
  bad or suspended key, circuit breaker open, asked to wait too long) or,
  offline, the answer is not in the cache. ``client.why_unavailable(name)``.
  Cached answers are served even for a source that is off; offline needs no keys.
- ``BadReply``: the reply was malformed (HTML, truncated, wrong shape, huge).
- ``SourceError``: transient failures went on after max_retries.

Per-source counters (``client.stats(name)`` / ``client.report()``): requests
sent (each retry counts), cache_hits, cache_misses, retries, pauses, waited_s
(rate limits, pauses and back-off), not_found, errors by reason, breaker (why
the source was switched off, or None). ``client.notices`` holds the one-line
notices shown once per run (cache not writable, source switched off).

Caching: GET replies judged OK are cached for the source's ttl_days, not-found
replies for negative_ttl_days, errors never. The key is method + URL (secrets
removed) + body hash, or ``cache_key=`` given by the caller (used for Claude
classifications). ``offline=True`` (or [http] offline) answers from the cache
only, whatever its age; a miss is SourceUnavailable("offline; not in cache").

Rate: every request on the wire takes a token and is counted, including a
redirect hop and the resend aiohttp makes by itself when a kept-alive
connection drops. The buckets live in ``<cache_dir>/rate/`` (enrich.net.budget),
so every enrich process sharing the cache dir keeps within one budget per service.

Identical requests in flight at once (cache look-up included) are sent once and share the answer.
Redirects are followed by hand for GETs to the same host only (MusicBrainz
merged ids), each hop taking its own rate token; replies over [http]
max_body_mb are refused. Settings: [http] (contact, offline, max_body_mb,
backoff_base, backoff_cap, max_wait, default_pause, cache_max_mb) and
[sources.NAME] (rate, burst, concurrency, timeout, ttl_days, negative_ttl_days,
max_retries, breaker_threshold, api_key; Claude prices for claude.cost()).

Time and randomness are injectable: ``open_client(config, clock=Clock(...))``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enrich.net.client import Client, Clock, NetConfig, open_client, user_agent
    from enrich.net.reply import Kind, Reply, Verdict
    from enrich.net.stats import SourceStats

# Loaded on first use: a light submodule (policy, budget, upkeep) is imported
# without aiohttp, which only the client needs (~0.25 s of start-up).
_HOME = {"Client": "client", "Clock": "client", "NetConfig": "client", "open_client": "client",
         "user_agent": "client", "Kind": "reply", "Reply": "reply", "Verdict": "reply", "SourceStats": "stats"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)

__all__ = ["Client", "Clock", "Kind", "NetConfig", "Reply", "SourceStats", "Verdict", "open_client", "user_agent"]
