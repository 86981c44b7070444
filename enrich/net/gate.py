"""The way into one source: a pause the whole source honours, a cap on requests
in flight, and a token bucket (aiolimiter) for the rate."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

from aiolimiter import AsyncLimiter


class Gate:
    def __init__(self, rate: float, burst: int, concurrency: int,
                 clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]]):
        # A bucket of `burst` tokens refilled at `rate` per second.
        self.limiter = AsyncLimiter(burst, burst / rate)
        self.slots = asyncio.Semaphore(concurrency)
        self.clock = clock
        self.sleep = sleep
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request to this source for ``seconds`` from now."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    async def _wait_pause(self) -> None:
        while (left := self.paused_until - self.clock()) > 0:
            await self.sleep(left)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Enter when a request may be sent; yields the seconds spent waiting."""
        start = self.clock()
        async with self.slots:
            while True:
                await self._wait_pause()
                await self.limiter.acquire()
                # A pause may have begun while we waited for the token.
                if self.paused_until <= self.clock():
                    break
            yield self.clock() - start
