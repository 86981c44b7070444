"""The per-source gate: whole-source pauses on a virtual clock, and the token bucket."""

from __future__ import annotations

import asyncio
import time

import pytest

from enrich.net.gate import Gate

pytestmark = pytest.mark.anyio


class VirtualTime:
    def __init__(self):
        self.t = 100.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        # Let every other task run first, as a real sleep would.
        until = self.t + seconds
        for _ in range(3):
            await asyncio.sleep(0)
        self.t = max(self.t, until)


async def test_a_pause_holds_every_request_until_it_ends():
    vt = VirtualTime()
    gate = Gate(rate=1e6, burst=100, concurrency=10, clock=vt.now, sleep=vt.sleep)
    gate.pause(5.0)
    entered = []

    async def one():
        async with gate.slot() as waited:
            entered.append((vt.now(), waited))

    await asyncio.gather(*(one() for _ in range(4)))
    assert len(entered) == 4 and all(t >= 105.0 and w >= 5.0 - 1e-9 for t, w in entered)


async def test_a_longer_pause_extends_and_a_shorter_one_does_not_shorten():
    vt = VirtualTime()
    gate = Gate(rate=1e6, burst=100, concurrency=1, clock=vt.now, sleep=vt.sleep)
    gate.pause(5.0)
    gate.pause(2.0)
    assert gate.paused_until == 105.0
    gate.pause(9.0)
    assert gate.paused_until == 109.0


async def test_concurrency_caps_requests_in_flight():
    vt = VirtualTime()
    gate = Gate(rate=1e6, burst=100, concurrency=2, clock=vt.now, sleep=vt.sleep)
    inside = peak = 0

    async def one():
        nonlocal inside, peak
        async with gate.slot():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(8)))
    assert peak == 2


async def test_the_token_bucket_paces_to_the_rate():
    gate = Gate(rate=50.0, burst=1, concurrency=8, clock=time.monotonic, sleep=asyncio.sleep)
    stamps = []

    async def one():
        async with gate.slot():
            stamps.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(11)))
    assert stamps[-1] - stamps[0] >= 10 / 50 * 0.9


async def test_waiters_ask_the_bucket_in_turn_not_all_at_once():
    vt = VirtualTime()
    gate = Gate(rate=100.0, burst=1, concurrency=8, clock=vt.now, sleep=vt.sleep)
    asked = 0
    take = gate.budget.take

    def counted() -> float:
        nonlocal asked
        asked += 1
        return take()

    gate.budget.take = counted  # type: ignore[method-assign]
    stamps = []

    async def one():
        async with gate.slot():
            stamps.append(vt.now())

    await asyncio.gather(*(one() for _ in range(40)))
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] == pytest.approx(39 / 100.0)
    # Each request asks once for the wait and once for its token; eight waiters
    # waking together for every token would ask several times as often.
    assert asked <= 2 * 40
