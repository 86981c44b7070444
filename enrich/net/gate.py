"""The way into one source: a pause the whole source honours, a cap on requests
in flight, and a token bucket for the rate (shared with every other enrich
process when given a file, see enrich.net.budget)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from enrich.net.budget import Budget


class Gate:
    def __init__(self, rate: float, burst: int, concurrency: int,
                 clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]],
                 budget_file: Path | None = None):
        # A bucket of `burst` tokens refilled at `rate` per second.
        self.budget = Budget(rate, burst, clock, budget_file)
        self.slots = asyncio.Semaphore(concurrency)
        self.queue = asyncio.Lock()
        self.clock = clock
        self.sleep = sleep
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request to this source for ``seconds`` from now, in
        this process and in every other one sharing the budget."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)
        self.budget.hold(seconds)

    async def _wait_pause(self) -> None:
        while (left := self.paused_until - self.clock()) > 0:
            await self.sleep(left)

    async def take(self) -> float:
        """Wait out any pause, then take a token: once for every request that
        goes on the wire. Returns the seconds spent waiting."""
        start = self.clock()
        # One waiter at a time asks the bucket, first come first served: waiters
        # that all slept until the next token would wake together, and all but one
        # would ask the (file-locked) bucket for nothing.
        async with self.queue:
            while True:
                await self._wait_pause()
                wait = self.budget.take()
                if wait == 0.0:
                    return self.clock() - start
                await self.sleep(wait)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Enter when a request may be sent (a place among those in flight, a
        token taken); yields the seconds spent waiting."""
        start = self.clock()
        async with self.slots:
            await self.take()
            yield self.clock() - start

    def close(self) -> None:
        self.budget.close()
