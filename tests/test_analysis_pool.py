"""The analysis process pool with real processes: crashes, timeouts, recycling, bounded work, cancellation."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from enrich.analysis.pool import AnalysisPool, Job
from enrich.analysis.settings import AnalysisConfig
from tests.test_analysis_audio import music, write_audio

pytestmark = pytest.mark.anyio

WHOLE = AnalysisConfig(excerpt=False, max_seconds=600.0)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pool")
    short = [write_audio(folder / f"s{i}.flac", music(seconds=5, tempo=90 + 10 * i, seed=i), 22050) for i in range(5)]
    long = write_audio(folder / "long.flac", music(seconds=600, tempo=100), 22050)
    return [str(p) for p in short], str(long)


async def run_pool(pool, paths, on_outcome=None):
    outcomes, produced, in_flight = [], 0, []

    async def jobs():
        nonlocal produced
        for i, p in enumerate(paths):
            produced += 1
            in_flight.append(produced - len(outcomes))
            yield Job(i, p)

    async def handle(outcome):
        outcomes.append(outcome)
        if on_outcome:
            await on_outcome(outcome)

    stats = await pool.run(jobs(), handle)
    return stats, sorted(outcomes, key=lambda o: o.job.track_id), max(in_flight or [0])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive either
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
async def test_every_file_gets_an_outcome_and_a_worker_warms_up_once(files):
    short, _ = files
    pool = AnalysisPool(1, AnalysisConfig(), timeout=60, max_tasks=100)
    stats, outcomes, in_flight = await run_pool(pool, [*short, "/nonexistent/x.flac"])
    assert [o.error for o in outcomes[:5]] == [None] * 5
    assert [round(o.features.tempo) for o in outcomes[:5]] == [90, 100, 110, 120, 130]
    assert outcomes[5].features is None and "file is gone" in outcomes[5].error
    assert stats.workers_started == 1 and stats.crashed == 0
    assert in_flight <= 2  # one job in the worker, one being handed over: never the whole list
    assert 0 < stats.peak_rss_mb < 400


@pytest.mark.slow
async def test_workers_are_recycled_after_max_tasks(files):
    short, _ = files
    pool = AnalysisPool(1, AnalysisConfig(), timeout=60, max_tasks=2)
    seen = set()

    async def note(outcome):
        seen.update(pool.pids)

    stats, outcomes, _ = await run_pool(pool, short, note)
    assert all(o.features is not None for o in outcomes)
    assert stats.workers_started == 3 and stats.recycled == 2
    assert len(seen) == 3 and not any(alive(pid) for pid in seen)


@pytest.mark.slow
async def test_a_killed_worker_costs_only_its_file(files):
    short, long = files
    pool = AnalysisPool(1, WHOLE, timeout=60, max_tasks=100)
    task = asyncio.create_task(run_pool(pool, [long, *short]))
    while not pool.pids:
        await asyncio.sleep(0.01)
    victim = next(iter(pool.pids))
    await asyncio.sleep(0.02)  # the job went out with the pid: it is busy with the 10-minute file
    os.kill(victim, signal.SIGKILL)
    stats, outcomes, _ = await task
    assert outcomes[0].features is None and outcomes[0].crashed
    assert "died on this file (SIGKILL)" in outcomes[0].error
    assert all(o.features is not None for o in outcomes[1:])
    assert stats.crashed == 1 and stats.workers_started == 2


@pytest.mark.slow
async def test_a_file_over_the_time_limit_is_stopped(files):
    _short, long = files
    pool = AnalysisPool(1, WHOLE, timeout=0.2, max_tasks=100)
    stats, outcomes, _ = await run_pool(pool, [long])
    assert outcomes[0].features is None and "took longer than 0.2 s" in outcomes[0].error
    assert stats.timed_out == 1


@pytest.mark.slow
async def test_cancelling_the_run_kills_busy_workers(files):
    _short, long = files
    pool = AnalysisPool(2, WHOLE, timeout=60, max_tasks=100)
    task = asyncio.create_task(run_pool(pool, [long, long, long]))
    while len(pool.pids) < 2:
        await asyncio.sleep(0.01)
    pids = set(pool.pids)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(alive(pid) for pid in pids)


@pytest.mark.slow
async def test_two_workers_share_the_work(files):
    short, _ = files
    pool = AnalysisPool(2, AnalysisConfig(), timeout=60, max_tasks=100)
    stats, outcomes, in_flight = await run_pool(pool, short * 2)
    assert len(outcomes) == 10 and all(o.features is not None for o in outcomes)
    assert stats.workers_started == 2 and in_flight <= 3
