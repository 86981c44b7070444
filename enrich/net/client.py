"""One run's HTTP client for every source: the single layer through which each
request passes cache -> breaker -> gate (pause, concurrency, rate) -> send ->
verdict -> retry, so source modules only build requests and parse replies."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from enrich import __version__
from enrich.config import ENV_OVERRIDES, Config, SourceConfig
from enrich.errors import BadReply, NotFound, SourceError, SourceUnavailable
from enrich.net import policy
from enrich.net.breaker import Breaker
from enrich.net.budget import budget_file
from enrich.net.cache import DiskCache, Entry
from enrich.net.gate import Gate
from enrich.net.reply import KEPT_HEADERS, Kind, Reply, Verdict
from enrich.net.stats import SourceStats

log = logging.getLogger("enrich.net")
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5

Classify = Callable[[Reply], Verdict]


@dataclass(frozen=True)
class NetConfig:
    """The [http] table."""

    contact: str
    cache_max_mb: int
    offline: bool
    max_body_mb: int
    backoff_base: float
    backoff_cap: float
    max_wait: float
    default_pause: float
    unreachable_after: int


@dataclass
class Clock:
    """Time and randomness, injected so tests need not sleep for real."""

    now: Callable[[], float]  # monotonic seconds, for waiting
    wall: Callable[[], float]  # epoch seconds, for cache freshness
    sleep: Callable[[float], Awaitable[None]]
    rand: Callable[[], float]

    @classmethod
    def real(cls, seed: int | None = None) -> Clock:
        return cls(time.monotonic, time.time, asyncio.sleep, random.Random(seed).random)


def user_agent(config: Config) -> str:
    product = config.sources["musicbrainz"].user_agent or "enrich"
    return f"{product}/{__version__} ( {config.http.contact} )"


def key_env(source: str) -> str | None:
    for env, dotted in ENV_OVERRIDES.items():
        if dotted == f"sources.{source}.api_key":
            return env
    return None


class _InFlight:
    """A request being answered; those asking the same meanwhile wait for its answer.
    The future is made only when one does (a cache hit, the common case, needs none)."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: asyncio.Future[Reply] | None = None

    def wait(self) -> asyncio.Future[Reply]:
        if self.future is None:
            self.future = asyncio.get_running_loop().create_future()
        return self.future

    def answer(self, reply: Reply) -> None:
        if self.future is not None:
            self.future.set_result(reply)

    def fail(self, exc: BaseException) -> None:
        if self.future is not None:
            self.future.set_exception(exc)
            self.future.exception()  # mark retrieved: waiters re-raise it themselves


class _Source:
    """Everything the client keeps for one source during a run."""

    def __init__(self, cfg: SourceConfig, clock: Clock, needs_key: bool, cache_dir: Path):
        self.cfg = cfg
        # Every process using this cache dir shares one budget per service.
        self.gate = Gate(cfg.rate, cfg.burst, cfg.concurrency, clock.now, clock.sleep,
                         budget_file(cache_dir, cfg.name, cfg.base_url))
        self.breaker = Breaker(cfg.breaker_threshold)
        self.stats = SourceStats()
        self.needs_key = needs_key
        self.url_secrets = tuple(policy.url_secrets(cfg.base_url))
        self.inflight: dict[str, _InFlight] = {}
        if not cfg.enabled:
            self.breaker.trip("disabled in config")
        elif needs_key and not cfg.api_key:
            env = key_env(cfg.name)
            self.breaker.trip(f"no API key; set ${env} or api_key in [sources.{cfg.name}]")


class Client:
    def __init__(self, config: Config, session: aiohttp.ClientSession, *, offline: bool = False,
                 clock: Clock | None = None, cache: DiskCache | None = None):
        self.config = config
        self.net: NetConfig = config.section("http", NetConfig)
        self.offline = offline or self.net.offline
        self.session = session
        self.clock = clock or Clock.real()
        self.cache = cache if cache is not None else DiskCache(config.paths.cache_dir)
        self.sources: dict[str, _Source] = {}
        for name, cfg in config.sources.items():
            # Offline, answers come from the cache only: no key is needed.
            needs_key = "api_key" in config.tree["sources"][name] and not self.offline
            self.sources[name] = _Source(cfg, self.clock, needs_key, config.paths.cache_dir)
        # Longest first, so a secret that holds another is replaced whole.
        self.secrets = tuple(sorted({secret for c in config.sources.values()
                                     for secret in (c.api_key, *policy.url_secrets(c.base_url)) if secret},
                                    key=len, reverse=True))
        self.notices: list[str] = []
        if self.cache.notice:
            self.notices.append(self.cache.notice)
        self.cache.on_notice = self._cache_notice
        for name, src in self.sources.items():
            if src.breaker.is_open:
                src.stats.breaker = src.breaker.reason
                if src.cfg.enabled:
                    self._notice(f"{name}: off for this run: {src.breaker.reason}")

    # ------------------------------------------------------------ public

    def is_available(self, source: str) -> bool:
        return not self.sources[source].breaker.is_open

    def why_unavailable(self, source: str) -> str | None:
        return self.sources[source].breaker.reason or None

    def source_config(self, source: str) -> SourceConfig:
        return self.sources[source].cfg

    def stats(self, source: str) -> SourceStats:
        return self.sources[source].stats

    def report(self) -> dict[str, Any]:
        """Plain data for the end-of-run report: per-source counters and notices."""
        return {
            "offline": self.offline,
            "sources": {name: src.stats.as_dict() for name, src in self.sources.items()},
            "notices": list(self.notices),
        }

    async def fetch(
        self,
        source: str,
        path: str,
        *,
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        key_param: str | None = None,
        key_header: str | None = None,
        classify: Classify = policy.http_verdict,
        what: str = "",
        cache: bool = True,
        cache_key: str | None = None,
    ) -> Reply:
        """Send one request to ``source`` (``path`` is relative to its base_url,
        or a full URL) and return the Reply its ``classify`` judged OK.

        The source's API key goes in query parameter ``key_param`` or header
        ``key_header``; the client adds it, and it never reaches the cache key,
        an error message or a log line. ``cache_key`` replaces the default key
        (method + URL + body hash), e.g. for POSTs whose answer depends only on
        part of the body. Raises NotFound (cached negatively), SourceUnavailable
        (off, offline miss), BadReply or SourceError (after retries).
        """
        if cache or self.offline:
            # Cached answers are served on the event loop, a slice of it per turn (see enrich.net.cache.Turns):
            # take a turn before any work, so a burst of lookups never holds the loop.
            await self.cache.turns.enter()
        src = self.sources[source]
        url = policy.join_url(src.cfg.base_url, path)
        key = cache_key or policy.request_key(method, url, params, json)
        if src.url_secrets:  # a token in base_url's query is in the key: keep it out of the cache
            key = policy.redact(key, src.url_secrets)
        if src.breaker.is_open:
            raise SourceUnavailable(source, src.breaker.reason, what=what)
        if (key_param or key_header) and _origin(url) != _origin(src.cfg.base_url):
            # A full URL from a reply (say, a batch's results_url) must not take our key elsewhere.
            raise BadReply(source, f"refusing to send the API key to another host ({_origin(url)})", what=what)

        # Identical requests in flight share one answer. The first one is
        # registered before it looks in the cache: one that finished while a
        # later one was reading the cache would otherwise be sent again.
        shared = src.inflight.get(key) if cache else None
        if shared is not None:
            answer = await asyncio.shield(shared.wait())
            return self._settle(source, answer, classify(answer), what)
        asked = _InFlight()
        if cache:
            src.inflight[key] = asked
        try:
            reply: Reply | None = None
            if cache or self.offline:
                entry = await self.cache.get(source, key)
                now = self.clock.wall()
                if entry is not None and (self.offline or policy.is_fresh(
                        entry.fetched_at, entry.negative, now, src.cfg.ttl_days, src.cfg.negative_ttl_days)):
                    src.stats.cache_hits += 1
                    reply = entry.reply()  # one object, so its body is parsed only once
                    log.debug("%s: cache hit %s", source, reply.url)
                else:
                    src.stats.cache_misses += 1
                    if self.offline:
                        raise SourceUnavailable(source, "offline; not in cache", what=what)
            if reply is None:
                reply = await self._with_retries(src, method, url, params, json, headers,
                                                 key_param, key_header, classify, what)
                if cache:
                    await self._store(source, key, reply, classify(reply).kind is Kind.NOT_FOUND)
            asked.answer(reply)
        except BaseException as exc:
            asked.fail(exc)
            raise
        finally:
            src.inflight.pop(key, None)
        return self._settle(source, reply, classify(reply), what)

    # ------------------------------------------------------------ internals

    def _settle(self, source: str, reply: Reply, verdict: Verdict, what: str) -> Reply:
        if verdict.kind is Kind.NOT_FOUND:
            self.sources[source].stats.not_found += 1
            # The reason comes from the reply body, which may echo the request: scrub it.
            raise NotFound(source, policy.redact(verdict.reason or "not found", self.secrets), what=what)
        return reply

    async def _store(self, source: str, key: str, reply: Reply, negative: bool) -> None:
        await self.cache.put(Entry(key, source, reply.status, dict(reply.headers), reply.body,
                                   reply.url, reply.fetched_at, negative))

    def _cache_notice(self, text: str) -> None:
        if text not in self.notices:  # the cache has logged it
            self.notices.append(text)

    async def _with_retries(self, src: _Source, method: str, url: str, params: Mapping[str, Any] | None, body: Any,
                            headers: Mapping[str, str] | None, key_param: str | None, key_header: str | None,
                            classify: Classify, what: str) -> Reply:
        name = src.cfg.name
        params = dict(params or {})
        headers = dict(headers or {})
        if key_param:
            params[key_param] = src.cfg.api_key
        if key_header:
            headers[key_header] = src.cfg.api_key
        last, last_bad = "no attempt", False
        for attempt in range(src.cfg.max_retries + 1):
            if src.breaker.is_open:
                raise SourceUnavailable(name, src.breaker.reason, what=what)
            unreachable = False
            async with src.gate.slot() as waited:
                src.stats.waited_s += waited
                if waited >= 0.01:
                    log.debug("%s: waited %.2f s for the rate limit", name, waited)
                if src.breaker.is_open:  # it may have opened while this one waited for its turn
                    raise SourceUnavailable(name, src.breaker.reason, what=what)
                src.stats.requests += 1
                started = time.monotonic()
                try:
                    reply = await self._send(src, method, url, params, body, headers)
                    verdict = classify(reply)
                    log.debug("%s: %s %s -> HTTP %d in %.0f ms", name, method, reply.url, reply.status,
                              1000 * (time.monotonic() - started))
                except _Unreachable as exc:
                    verdict = Verdict(Kind.RETRY, str(exc))
                    unreachable = True
                except _Transient as exc:
                    verdict = Verdict(Kind.RETRY, str(exc))
                except _Refused as exc:
                    verdict = Verdict(Kind.FAIL, str(exc), bad=True)
            reason = policy.redact(verdict.reason, self.secrets)
            if verdict.kind in (Kind.OK, Kind.NOT_FOUND):
                src.breaker.success()
                return reply
            if verdict.kind is Kind.OFF:
                self._trip(src, reason)
                raise SourceUnavailable(name, src.breaker.reason, what=what)
            if verdict.kind is Kind.FAIL:
                src.stats.errors[reason.split(":")[0][:40]] += 1
                raise (BadReply if verdict.bad else SourceError)(name, reason, what=what)
            # Transient: RETRY or PAUSE.
            last, last_bad = reason, verdict.bad
            if src.breaker.failure(reason, unreachable_after=self.net.unreachable_after if unreachable else None):
                self._trip(src, src.breaker.reason)
            advised = verdict.after
            if advised is not None and advised > self.net.max_wait:
                self._trip(src, f"asked to wait {advised:.0f} s (more than max_wait {self.net.max_wait:.0f} s)")
                raise SourceUnavailable(name, src.breaker.reason, what=what)
            if attempt == src.cfg.max_retries:
                break
            src.stats.retries += 1
            if verdict.kind is Kind.PAUSE:
                src.stats.pauses += 1
                # "Retry-After: 0" (MusicBrainz when busy) still means "give it a moment".
                pause = advised or self.net.default_pause
                log.info("%s: %s; pausing the source %.1f s, then retrying%s", name, reason, pause,
                         f" ({what})" if what else "")
                src.gate.pause(pause)
                continue  # the gate makes us (and everyone else) wait
            delay = policy.backoff_delay(attempt, self.net.backoff_base, self.net.backoff_cap, self.clock.rand)
            delay = max(delay, advised or 0.0)
            log.info("%s: %s; retry %d of %d in %.1f s%s", name, reason, attempt + 1, src.cfg.max_retries, delay,
                     f" ({what})" if what else "")
            src.stats.waited_s += delay
            await self.clock.sleep(delay)
        src.stats.errors["gave up"] += 1
        tries = src.cfg.max_retries + 1
        raise (BadReply if last_bad else SourceError)(name, f"{last} after {tries} tries", what=what)

    def _trip(self, src: _Source, reason: str) -> None:
        if src.breaker.trip(reason) or src.stats.breaker is None:
            src.stats.breaker = src.breaker.reason
            self._notice(f"{src.cfg.name}: off for the rest of this run: {src.breaker.reason}")

    def _notice(self, text: str) -> None:
        text = policy.redact(text, self.secrets)
        if text not in self.notices:
            self.notices.append(text)
            log.warning(text)

    async def _send(self, src: _Source, method: str, url: str, params: Mapping[str, Any] | None, body: Any,
                    headers: Mapping[str, str]) -> Reply:
        """One HTTP exchange, following same-host redirects of GETs by hand."""
        cfg = src.cfg
        timeout = aiohttp.ClientTimeout(total=cfg.timeout)
        limit = self.net.max_body_mb * 1024 * 1024
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with self.session.request(method, url, params=params or None, json=body, headers=headers,
                                                timeout=timeout, allow_redirects=False,
                                                middlewares=(_on_wire(src),)) as resp:
                    data = await read_capped(resp, limit)
                    status, final = resp.status, str(resp.url)
                    kept = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
            except TimeoutError:
                raise _Transient(f"no answer within {cfg.timeout:g} s") from None
            except aiohttp.ClientPayloadError:
                raise _Transient("reply cut short") from None
            except aiohttp.ClientConnectorError as exc:
                raise _Unreachable(f"cannot connect to {_origin(url)} ({_os_reason(exc)})") from None
            except (aiohttp.ClientError, ConnectionError) as exc:
                raise _Transient(f"connection failed ({type(exc).__name__})") from None
            if len(data) > limit:
                raise _Refused(f"reply larger than {self.net.max_body_mb} MB")
            if status in REDIRECTS and method == "GET" and "location" in kept:
                target = urllib.parse.urljoin(final, kept["location"])
                if _origin(target) != origin:
                    raise _Refused(f"redirected to another host ({_origin(target)})")
                url, params = target, None  # the Location carries the query
                # The follow-up is a request of its own: it needs a token too.
                src.stats.waited_s += await src.gate.take()
                src.stats.requests += 1
                continue
            if status in REDIRECTS:
                raise _Refused(f"unexpected redirect (HTTP {status})")
            public = policy.redact(policy.public_url(final), self.secrets)
            # A server may echo what it was sent: nothing of it may reach the cache, a log or the database.
            data = policy.redact_bytes(data, self.secrets)
            kept = {name: policy.redact(value, self.secrets) for name, value in kept.items()}
            return Reply(cfg.name, status, kept, data, public, self.clock.wall())
        raise _Refused(f"more than {MAX_REDIRECTS} redirects")


def _on_wire(src: _Source) -> aiohttp.ClientMiddlewareType:
    """A middleware that sees every attempt aiohttp puts on the wire for one
    request. The caller paid for the first; a later one is the resend aiohttp
    makes by itself when a kept-alive connection drops, and it takes a token
    and is counted like any other, so the server sees no request the rate
    limit and the counters did not."""
    attempts = 0

    async def on_wire(request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            if src.breaker.is_open:
                raise _Transient("not sent: the source was switched off")
            src.stats.waited_s += await src.gate.take()
            src.stats.requests += 1
        return await send(request)

    return on_wire


class _Transient(Exception):
    pass


class _Unreachable(_Transient):
    """No connection could be made at all: DNS failure, refused, no route."""


class _Refused(Exception):
    pass


async def read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first limit+1 bytes when it is longer than ``limit``."""
    if (resp.content_length or 0) > limit:
        return b"x" * (limit + 1)  # refuse without downloading it
    chunks, size = [], 0
    async for chunk in resp.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _origin(url: str) -> str:
    """scheme://host:port, without any user:password@ (it is shown in messages)."""
    p = urllib.parse.urlsplit(url)
    return f"{p.scheme}://{p.netloc.rpartition('@')[2].lower()}"


def _os_reason(exc: aiohttp.ClientConnectorError) -> str:
    inner = exc.os_error
    return getattr(inner, "strerror", None) or str(inner) or type(inner).__name__


@asynccontextmanager
async def open_client(config: Config, offline: bool = False, *, clock: Clock | None = None) -> AsyncIterator[Client]:
    """One run's session for all sources (see enrich.net for the contract)."""
    limit = sum(c.concurrency for c in config.sources.values()) + 4
    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300)
    headers = {"User-Agent": user_agent(config)}
    async with aiohttp.ClientSession(connector=connector, headers=headers, raise_for_status=False) as session:
        client = Client(config, session, offline=offline, clock=clock)
        try:
            yield client
        finally:
            for src in client.sources.values():
                src.gate.close()
            await client.cache.close()  # the replies still queued for the disk
            client.cache.write_last_run({
                name: {"hits": s.stats.cache_hits, "misses": s.stats.cache_misses, "requests": s.stats.requests}
                for name, s in client.sources.items()
                if s.stats.cache_hits or s.stats.cache_misses or s.stats.requests
            })
