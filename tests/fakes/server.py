"""Run the three fake services on loopback, in this loop or in a thread."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from tests.fakes import anthropic, lastfm, musicbrainz
from tests.fakes.control import Faults, Service
from tests.fakes.world import World

NAMES = ("lastfm", "musicbrainz", "claude")
# [http] settings that keep retry tests quick.
FAST_HTTP = {"backoff_base": 0.01, "backoff_cap": 0.05, "default_pause": 0.05}
# Keys in the real formats (Last.fm: 32 hex digits; Anthropic: sk-ant-api03-...).
LASTFM_KEY = hashlib.md5(b"enrich fake lastfm key").hexdigest()
ANTHROPIC_KEY = "sk-ant-api03-" + hashlib.sha256(b"enrich fake anthropic key").hexdigest()[:86].ljust(86, "A") + "-AAAAAA"
SUSPENDED_LASTFM_KEY = hashlib.md5(b"enrich fake suspended key").hexdigest()


class FakeServices:
    """``async with FakeServices(world, rates={...}, faults={...}) as fakes:``

    ``rates`` maps a service to its enforced requests per second (None: no
    limit) or to (rate, burst). ``faults`` maps a service to a Faults. Gives
    ``urls``, ``keys``, ``service(name)`` (counters, faults, set_rate),
    ``violations()``, ``requests()``, ``config_toml()`` and ``env()``.
    """

    def __init__(self, world: World | None = None, *, rates: Mapping[str, object] | None = None,
                 faults: Mapping[str, Faults] | None = None, batch_seconds: float = 0.0,
                 string_scores: bool = False):
        self.world = world or World.sample()
        self.keys = {"lastfm": LASTFM_KEY, "claude": ANTHROPIC_KEY}
        self.services: dict[str, Service] = {}
        for name in NAMES:
            rate = (rates or {}).get(name)
            # Real services average over a window; the default tolerance is about
            # 100 ms of requests (at least 2), so send jitter is not a violation
            # while a client even a few percent over the rate is caught in seconds.
            rate, burst = rate if isinstance(rate, tuple) else (rate, max(2.0, (rate or 0) * 0.1))
            self.services[name] = Service(name, rate=rate, burst=burst, faults=(faults or {}).get(name) or Faults())
        self.apps = {
            "lastfm": lastfm.make_app(self.world, self.services["lastfm"], LASTFM_KEY, frozenset({SUSPENDED_LASTFM_KEY})),
            "musicbrainz": musicbrainz.make_app(self.world, self.services["musicbrainz"], string_scores),
            "claude": anthropic.make_app(self.world, self.services["claude"], ANTHROPIC_KEY, batch_seconds),
        }
        self.runners: list[web.AppRunner] = []
        self.urls: dict[str, str] = {}

    async def __aenter__(self) -> FakeServices:
        for name, app in self.apps.items():
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.urls[name] = f"http://127.0.0.1:{port}"
            self.services[name].base_url = self.urls[name]
            self.runners.append(runner)
        return self

    async def __aexit__(self, *exc) -> None:
        for runner in self.runners:
            await runner.cleanup()

    def service(self, name: str) -> Service:
        return self.services[name]

    def requests(self, name: str | None = None) -> int:
        return sum(s.counters.requests for n, s in self.services.items() if name in (None, n))

    def violations(self, name: str | None = None) -> int:
        return sum(s.counters.violations for n, s in self.services.items() if name in (None, n))

    def reset_counters(self) -> None:
        for s in self.services.values():
            s.counters.reset()

    def env(self) -> dict[str, str]:
        return {"LASTFM_API_KEY": LASTFM_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY}

    def config_toml(self, *, client_rates: Mapping[str, float] | None = None, extra: str = "",
                    **source_settings: Mapping[str, object]) -> str:
        """A config file pointing every source at the fakes. ``client_rates``
        sets the client's rate per source (default: 1% under the fake's);
        ``source_settings`` adds keys per source, e.g. lastfm={"max_retries": 2}."""
        lines = []
        for name in NAMES:
            svc = self.services[name]
            rate = (client_rates or {}).get(name) or (svc.rate * 0.99 if svc.rate else 1000.0)
            table = {"base_url": self.urls[name], "rate": float(rate), "burst": 1, **(source_settings.get(name) or {})}
            lines.append(f"[sources.{name}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
            lines.append("")
        return "\n".join(lines) + extra

    def load_config(self, folder: os.PathLike, *, keys: bool = True, http: Mapping[str, object] | None = None,
                    **kwargs):
        """Write a config into ``folder`` and load it as enrich would, with the
        fakes' keys in the environment and the cache in ``folder/cache``."""
        from enrich.config import load

        folder = Path(folder)
        extra = "[http]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in (http or {}).items()) if http else ""
        path = folder / "enrich.toml"
        path.write_text(self.config_toml(extra=extra, **kwargs))
        # A key given in the settings must not be overridden by the environment.
        env = {var: key for var, key in (self.env() if keys else {}).items()
               if "api_key" not in (kwargs.get({"LASTFM_API_KEY": "lastfm"}.get(var, "claude")) or {})}
        env.update({"ENRICH_CACHE_DIR": str(folder / "cache"), "HOME": str(folder)})
        return load(path, env=env)

    def write_config(self, path: os.PathLike, **kwargs) -> Path:
        path = Path(path)
        path.write_text(self.config_toml(**kwargs))
        return path


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class ThreadedFakes:
    """The same fakes on a background thread with its own loop, for tests that
    run `enrich` as a subprocess or use no event loop of their own::

        with ThreadedFakes(world, rates={...}) as fakes:
            fakes.write_config(tmp_path / "config.toml")
            run_enrich("genres", "--config", ..., env=fakes.env())
    """

    def __init__(self, world: World | None = None, **kwargs):
        self.kwargs = dict(kwargs, world=world)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-services", daemon=True)
        self.fakes: FakeServices | None = None

    def __enter__(self) -> FakeServices:
        self.thread.start()
        self.fakes = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self.fakes

    async def _start(self) -> FakeServices:
        fakes = FakeServices(**self.kwargs)
        return await fakes.__aenter__()

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.fakes.__aexit__(None, None, None), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
