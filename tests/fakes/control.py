"""What every fake service shares: rate enforcement the way the real services
do it, fault injection on demand, and counters tests assert on."""

from __future__ import annotations

import asyncio
import json
import random
import time
import weakref
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

FAULT_KINDS = (
    "500", "502", "503", "529", "429",  # error statuses (429/503 in the service's own rate-limit shape)
    "timeout",  # accept the request and never answer in time
    "reset",  # drop the connection
    "keepalive_reset",  # drop a kept-alive connection as its next request arrives (fresh ones are served)
    "truncated",  # promise more body than is sent
    "html",  # an HTML error page (HTTP 502)
    "html200",  # an HTML page with HTTP 200
    "empty",  # HTTP 200, no body
    "wrong_shape",  # HTTP 200, JSON of the wrong shape
    "huge",  # HTTP 200 with a 9 MB body
    "slow",  # answer correctly, after `slow_seconds`
    "redirect_away",  # 302 to another host
    "echo",  # answer as usual, with the request's query and credential headers copied into the JSON body
)


class Bucket:
    """A token bucket on the server side: `rate` per second, `burst` deep.
    Refused requests take no token, so a client that slows down gets back in."""

    def __init__(self, rate: float | None, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.stamp = clock()

    def allow(self) -> bool:
        if not self.rate:
            return True
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Faults:
    """Faults to inject: `next` are served first, in order, one per request;
    `rates` maps a kind to the chance each request gets it."""

    rates: dict[str, float] = field(default_factory=dict)
    next: deque = field(default_factory=deque)
    seed: int = 1
    hang_seconds: float = 30.0
    slow_seconds: float = 0.5

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        for kind in list(self.rates) + list(self.next):
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")

    def push(self, *kinds: str) -> None:
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}")
            self.next.append(kind)

    def pick(self) -> str | None:
        if self.next:
            return self.next.popleft()
        roll = self.rng.random()
        for kind, chance in self.rates.items():
            if roll < chance:
                return kind
            roll -= chance
        return None


@dataclass
class Counters:
    requests: int = 0  # everything that arrived
    served: int = 0  # answered by the service proper
    violations: int = 0  # arrived while the client was over the enforced rate
    faults: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    user_agents: Counter = field(default_factory=Counter)
    paths: Counter = field(default_factory=Counter)  # path + sorted query, secrets dropped
    log: list = field(default_factory=list)  # (method, path_qs, body) of every request
    times: list = field(default_factory=list)  # monotonic arrival time of every request

    def reset(self) -> None:
        self.__init__()


SECRET_QUERY = ("api_key",)


def public_path(request: web.Request) -> str:
    query = sorted((k, v) for k, v in request.query.items() if k not in SECRET_QUERY)
    return request.path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")


@dataclass
class Service:
    """One fake service's state: its enforced rate, faults and counters."""

    name: str
    rate: float | None = None
    burst: float = 1.0
    faults: Faults = field(default_factory=Faults)
    counters: Counters = field(default_factory=Counters)
    base_url: str = ""
    rate_status: int = 429  # the status of the service's over-the-rate reply

    def __post_init__(self):
        self.bucket = Bucket(self.rate, max(1.0, self.burst))
        self.connections: weakref.WeakSet = weakref.WeakSet()  # transports that have carried a request

    def kept_alive(self, request: web.Request) -> bool:
        """Whether this request came on a connection that carried one before."""
        transport = request.transport
        if transport is None:
            return False
        seen = transport in self.connections
        self.connections.add(transport)
        return seen

    def set_rate(self, rate: float | None, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else self.burst)
        self.bucket = Bucket(rate, self.burst)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def middleware(service: Service, rate_limited: Callable[[web.Request, bool], web.Response],
               error_body: Callable[[int], web.Response]):
    """Count, enforce the rate, inject faults, then let the service answer.

    ``rate_limited(request, injected)`` builds the service's own over-rate reply;
    ``error_body(status)`` its own error reply for an injected 5xx.
    """

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        c = service.counters
        c.requests += 1
        c.paths[public_path(request)] += 1
        c.user_agents[request.headers.get("User-Agent", "")] += 1
        body = await request.read()
        c.log.append((request.method, public_path(request), body[:2000]))
        c.times.append(time.monotonic())
        reused = service.kept_alive(request)
        if not service.bucket.allow():
            c.violations += 1
            resp = rate_limited(request, False)
        else:
            fault = service.faults.pick()
            if fault == "keepalive_reset" and not reused:
                fault = None  # only a connection kept open since an earlier request can be dropped this way
            if fault:
                c.faults[fault] += 1
            resp = await inject(fault, request, handler, service, rate_limited, error_body)
        if resp is not None:
            c.statuses[resp.status] += 1
        return resp

    return guard


ECHOED_HEADERS = ("x-api-key", "authorization")


def echoed(resp: web.StreamResponse, request: web.Request) -> web.StreamResponse:
    """``resp`` with what the request carried (a debugging proxy's habit): the
    whole query, key included, and the credential headers."""
    if not isinstance(resp, web.Response) or resp.content_type != "application/json" or resp.body is None:
        return resp
    body = json.loads(resp.body)
    if not isinstance(body, dict):
        return resp
    body["echo"] = {"query": request.query_string, **{h: request.headers.get(h, "") for h in ECHOED_HEADERS}}
    return web.json_response(body, status=resp.status, headers={k: v for k, v in resp.headers.items()
                                                                if k.lower() not in ("content-type", "content-length")})


async def inject(fault, request, handler, service, rate_limited, error_body):
    if fault is None:
        service.counters.served += 1
        return await handler(request)
    if fault in ("500", "502", "529"):
        return error_body(int(fault))
    if fault in ("429", "503"):
        # The status the service uses for "over the rate" comes in its own shape.
        return rate_limited(request, True) if int(fault) == service.rate_status else error_body(int(fault))
    if fault == "timeout":
        await asyncio.sleep(service.faults.hang_seconds)
        return web.Response(status=504)
    if fault in ("reset", "keepalive_reset"):
        request.transport.abort()
        return web.Response(status=500)
    if fault == "truncated":
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json", "Content-Length": "5000"})
        await resp.prepare(request)
        await resp.write(b'{"partial": tr')
        request.transport.abort()
        return resp
    if fault == "html":
        return web.Response(status=502, content_type="text/html", text="<html><body><h1>502 Bad Gateway</h1></body></html>")
    if fault == "html200":
        return web.Response(status=200, content_type="text/html", text="<!DOCTYPE html><html><body>Maintenance</body></html>")
    if fault == "empty":
        return web.Response(status=200, content_type="application/json", body=b"")
    if fault == "wrong_shape":
        return web.json_response([1, 2, 3])
    if fault == "huge":
        return web.Response(status=200, content_type="application/json", body=b'{"pad": "' + b"x" * (9 * 1024 * 1024) + b'"}')
    if fault == "slow":
        await asyncio.sleep(service.faults.slow_seconds)
        service.counters.served += 1
        return await handler(request)
    if fault == "echo":
        service.counters.served += 1
        return echoed(await handler(request), request)
    if fault == "redirect_away":
        raise web.HTTPFound("http://elsewhere.invalid/moved")
    raise AssertionError(fault)
