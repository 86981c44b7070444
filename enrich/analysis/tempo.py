"""Tempo from the onset envelope: autocorrelation read through a comb of beat multiples.

A beat period P is scored by the mean autocorrelation at P, 2P, 3P, ... (as
many multiples as fit in ``HORIZON`` seconds). The true beat and its slower
multiples (half tempo, a third) all score high, since every multiple of the
beat is also a multiple of theirs; double tempo scores low unless off-beats
are as strong as beats. So the *fastest* period scoring within ``TOLERANCE``
of the best is the beat: this is the half/double-tempo rule. Scoring on a
fine grid of fractional lags, with many multiples, gives sub-frame precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_BPM = 60.0
MAX_BPM = 200.0
HORIZON = 6.0  # seconds of lag the comb reaches
MAX_MULTIPLES = 8
TOLERANCE = 0.10  # a faster period within 10 % of the best score wins
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
    return total / total[0]


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
    best = float(scores.max())
    if best <= 0:
        return Tempo(None, 0.0)
    chosen = pick_period(periods, scores, best)
    baseline = float(np.median(scores))
    confidence = float(np.clip((scores[chosen] - baseline) / max(1e-9, 1.0 - baseline), 0.0, 1.0))
    return Tempo(round(float(60.0 * frame_rate / periods[chosen]), 2), round(confidence, 3))


def pick_period(periods: np.ndarray, scores: np.ndarray, best: float) -> int:
    """Index of the fastest local peak scoring within TOLERANCE of the best."""
    peaks = [i for i in range(1, len(scores) - 1) if scores[i] >= scores[i - 1] and scores[i] >= scores[i + 1]]
    if not peaks:
        return int(np.argmax(scores))
    for i in peaks:  # ascending period = descending tempo
        if scores[i] >= (1.0 - TOLERANCE) * best:
            return i
    return int(np.argmax(scores))
