"""Tempo from the onset envelope: autocorrelation read through combs of beat multiples.

1. The strongest periodicity: the period P whose multiples (P, 2P, 3P, ...
   as many as fit in ``HORIZON`` seconds) have the highest mean
   autocorrelation. This finds *a* metrical level (beat, two beats, a bar),
   not necessarily the beat, since every multiple of the beat is a multiple
   of those slower levels too.
2. Half/double (and third/triple) tempo: a faster pulse P/d is real when the
   multiples of P/d that are *not* multiples of P (the off-beats of P) carry
   at least ``PULSE_SHARE`` of P's score. Repeat while a faster pulse qualifies
   (and stays under ``MAX_BPM``).
3. The period is refined on a fine grid of fractional lags around the choice;
   many multiples give sub-frame precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_BPM = 60.0
MAX_BPM = 200.0
HORIZON = 6.0  # seconds of lag the comb reaches
MAX_MULTIPLES = 8
PULSE_SHARE = 0.48  # off-beats scoring this share of the beat's score make a faster pulse
GRID_STEP = 0.05  # frames


@dataclass(frozen=True)
class Tempo:
    bpm: float | None
    confidence: float


def autocorrelation(envelopes: list[np.ndarray], max_lag: int) -> np.ndarray:
    """Length-weighted mean of each envelope's unbiased autocorrelation, 1.0 at lag 0."""
    total = np.zeros(max_lag + 1)
    weight = 0
    kernel = np.exp(-0.5 * (np.arange(-3, 4) / 1.0) ** 2)
    kernel /= kernel.sum()
    for env in envelopes:
        if len(env) <= max_lag // 2 or not np.any(env):
            continue
        e = np.convolve(env.astype(np.float64), kernel, mode="same")
        e -= e.mean()
        n = len(e)
        spec = np.fft.rfft(e, 2 * n)
        ac = np.fft.irfft(spec * np.conj(spec))[: max_lag + 1]
        lags = min(max_lag + 1, n)
        ac = ac[:lags] / (n - np.arange(lags))
        total[:lags] += ac * n
        weight += n
    if weight == 0 or total[0] <= 0:
        return np.zeros(max_lag + 1)
    return np.asarray(total / total[0])


def comb_scores(ac: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Mean autocorrelation at the multiples of each (fractional) period."""
    lags = np.arange(len(ac))
    scores = np.zeros(len(periods))
    limit = len(ac) - 1
    for i, p in enumerate(periods):
        k = min(MAX_MULTIPLES, int(limit // p))
        if k < 1:
            continue
        scores[i] = np.interp(p * np.arange(1, k + 1), lags, ac).mean()
    return scores


def multiples_score(ac: np.ndarray, period: float, divisor: int = 1) -> float:
    """Mean autocorrelation at k * period / divisor for k not a multiple of divisor
    (divisor 1: every multiple of the period)."""
    step = period / divisor
    k = np.arange(1, min(MAX_MULTIPLES * divisor, int((len(ac) - 1) // step)) + 1)
    if divisor > 1:
        k = k[k % divisor != 0]
    if k.size == 0:
        return 0.0
    return float(np.interp(step * k, np.arange(len(ac)), ac).mean())


def estimate_tempo(envelopes: list[np.ndarray], frame_rate: float) -> Tempo:
    """Beats per minute and a 0..1 confidence; ``bpm`` is None when there is no pulse."""
    max_lag = int(HORIZON * frame_rate)
    ac = autocorrelation(envelopes, max_lag)
    if not np.any(ac):
        return Tempo(None, 0.0)
    shortest = 60.0 * frame_rate / MAX_BPM
    longest = 60.0 * frame_rate / MIN_BPM
    periods = np.arange(shortest, longest + GRID_STEP, GRID_STEP)
    scores = comb_scores(ac, periods)
    best = int(np.argmax(scores))
    if scores[best] <= 0:
        return Tempo(None, 0.0)
    period = faster_pulse(ac, float(periods[best]), shortest)
    period = refine(ac, period)
    baseline = float(np.median(scores))
    score = multiples_score(ac, period)
    confidence = float(np.clip((score - baseline) / max(1e-9, 1.0 - baseline), 0.0, 1.0))
    return Tempo(round(float(60.0 * frame_rate / period), 2), round(confidence, 3))


def faster_pulse(ac: np.ndarray, period: float, shortest: float) -> float:
    """Divide the period by 2 or 3 while the off-beats in between carry a real pulse."""
    while True:
        base = multiples_score(ac, period)
        options = [(d, multiples_score(ac, period, d)) for d in (2, 3) if period / d >= shortest * 0.98]
        options = [(d, s) for d, s in options if base > 0 and s >= PULSE_SHARE * base]
        if not options:
            return period
        divisor = max(options, key=lambda o: o[1])[0]
        period = refine(ac, period / divisor)


def refine(ac: np.ndarray, period: float, spread: float = 0.03) -> float:
    """The best-scoring period within +-spread of ``period``."""
    grid = np.arange(period * (1 - spread), period * (1 + spread), GRID_STEP / 2)
    return float(grid[np.argmax(comb_scores(ac, grid))])
