"""Pitch evidence in a mixture: spectral peaks, the tuning, and pitch-class profiles.

Everything is read from the shared STFT power (``Spectrum``). A bin is 10.8 Hz
wide at 22.05 kHz, far too coarse to name a note below ~300 Hz, so pitch comes
from *peaks*: local maxima whose true frequency is found by fitting a parabola
to the log power of the peak bin and its neighbours (a Hann window's main lobe
is close to a Gaussian, whose log is a parabola).

Tuning: real recordings are not all at A = 440 Hz. Each peak's offset from the
nearest equal-tempered semitone, in cents, votes (weighted by its level) on a
circular histogram; the mode of that histogram is the tuning.

Pitch classes: each peak votes for the semitone it sits on, measured from the
estimated tuning, and less for the fundamentals it may be an overtone of
(harmonic weighting), so that an instrument's overtones do not read as a fifth
and a third above every note. Bass (the lowest octaves) and treble are kept
apart: the bass line names the tonic more often, the treble names the scale.

Evidence that there is a key at all: how much of each frame's peak energy sits
on the semitone grid (``tonal``: drums and noise put peaks anywhere) and how
much of it agrees on one tuning (``clarity``: a speaking voice glides, so its
offsets from the grid are spread evenly).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

A4 = 440.0
FMIN = 50.0  # below this a peak in a 10.8 Hz grid says nothing about pitch
FMAX = 2500.0  # above this partials are mostly cymbals, sibilance and stretched overtones; no use reads them
BASS_MAX = 250.0  # peaks under this feed the bass profile
# Peaks above this do not vote for pitch classes: there a mixture's peaks are mostly
# high overtones, cymbals and sibilance (chosen on the rendered corpus, with a held-out
# check: tests/bench/learn_key_settings.py).
TREBLE_MAX = 2000.0
FLOOR_DB = 50.0  # peaks more than this below their frame's loudest are ignored
FRAME_STEP = 2  # pitch changes slower than 46 ms: every other frame is enough
TUNING_MIN_HZ = 140.0  # below this a peak's frequency is too uncertain in cents
TUNING_MAX_HZ = 2500.0  # above this inharmonic (stretched) partials pull sharp
# A peak may be overtone 1..5 of a note: the 2nd and 4th repeat its pitch class,
# the 3rd is a fifth above it, the 5th a major third. Each peak also votes, less,
# for the notes it may be an overtone of (weights chosen on the rendered corpus).
HARMONICS = (1, 2, 3, 4, 5)
HARMONIC_WEIGHTS = (1.0, 0.8, 0.6, 0.4, 0.3)
# The share of a frame's peaks between TUNING_MIN_HZ and TONAL_MAX_HZ (where
# notes' fundamentals and first overtones are, and hats and cymbals are weaker)
# on the semitone grid is its tonality; the excerpt's is this percentile of its
# frames': pitched music with loud drums still has tonal frames between the hits.
TONAL_MAX_HZ = 1200.0
TONAL_PERCENTILE = 75.0


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks of the sampled frames: frequency (Hz), amplitude and frame, flat arrays."""

    freq: np.ndarray
    amp: np.ndarray
    frame: np.ndarray
    frames: int  # how many frames were searched

    @functools.cached_property
    def level(self) -> np.ndarray:
        """Amplitude relative to the loudest peak of the same frame (0..1): quiet passages count too."""
        if self.frame.size == 0:
            return np.zeros(0)
        if np.all(self.frame[1:] >= self.frame[:-1]):  # as spectral_peaks lists them: one frame after another
            starts = np.flatnonzero(np.r_[True, self.frame[1:] != self.frame[:-1]])
            loudest = np.repeat(np.maximum.reduceat(self.amp, starts), np.diff(np.r_[starts, self.frame.size]))
        else:
            per_frame = np.zeros(self.frames, dtype=self.amp.dtype)
            np.maximum.at(per_frame, self.frame, self.amp)
            loudest = per_frame[self.frame]
        return np.asarray((self.amp / np.maximum(loudest, 1e-12)).astype(np.float64))


def spectral_peaks(power: np.ndarray, sr: int, n_fft: int, *, step: int = FRAME_STEP) -> Peaks:
    """Interpolated local maxima of ``power`` (bins x frames) between FMIN and FMAX."""
    bin_hz = sr / n_fft
    lo = max(1, int(FMIN / bin_hz))
    hi = min(power.shape[0] - 1, int(FMAX / bin_hz) + 1)
    frames = power[:, ::step]
    n_frames = frames.shape[1]
    if hi - lo < 3 or n_frames == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Peaks(empty, empty, np.zeros(0, dtype=np.int64), n_frames)
    band = frames[lo - 1:hi + 1]
    db = 10.0 * np.log10(np.maximum(band, 1e-12))
    centre = db[1:-1]
    loudest = centre.max(axis=0)
    is_peak = (centre > db[:-2]) & (centre >= db[2:]) & (centre > loudest - FLOOR_DB)
    t, k = np.nonzero(is_peak.T)  # frame by frame (Peaks.level relies on it)
    a, b, c = db[k, t], db[k + 1, t], db[k + 2, t]
    curve = a - 2.0 * b + c
    offset = np.where(curve < 0, 0.5 * (a - c) / np.where(curve < 0, curve, -1.0), 0.0)
    offset = np.clip(offset, -0.5, 0.5)
    peak_db = b - 0.25 * (a - c) * offset
    freq = (k + lo + offset) * bin_hz
    amp = 10.0 ** (peak_db / 20.0)
    return Peaks(freq.astype(np.float32), amp.astype(np.float32), t, n_frames)


@dataclass(frozen=True)
class Tuning:
    hz: float  # the reference A4
    cents: float  # its offset from 440 Hz
    clarity: float  # 0..1, how much of the evidence agrees with it


def estimate_tuning(peaks: Peaks) -> Tuning:
    """The A4 reference the music is tuned to, from the peaks' offsets off the 440 Hz grid.

    ``clarity`` is the share of the peaks below TONAL_MAX_HZ within 15 cents of
    it: ~0.3 when offsets are anywhere (drums, noise, a speaking voice that
    glides), 0.45 and more for music played on a tuned grid.
    """
    use = (peaks.freq >= TUNING_MIN_HZ) & (peaks.freq <= TUNING_MAX_HZ)
    if use.sum() < 20:
        return Tuning(A4, 0.0, 0.0)
    cents = 1200.0 * np.log2(peaks.freq[use] / A4)
    deviation = np.mod(cents + 50.0, 100.0) - 50.0
    weight = peaks.amp[use].astype(np.float64)  # loud partials: the most precise frequencies
    # 1-cent circular histogram, smoothed over +-3 cents, then the mode refined
    # by the circular mean of the votes within 15 cents of it.
    hist = np.bincount(np.mod(np.round(deviation).astype(np.int64) + 50, 100), weights=weight, minlength=100)
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 3.0) ** 2)
    smooth = np.convolve(np.concatenate([hist[-6:], hist, hist[:6]]), kernel, mode="valid")
    mode = int(np.argmax(smooth)) - 50
    near = np.mod(deviation - mode + 50.0, 100.0) - 50.0
    close = np.abs(near) <= 15.0
    if not close.any():
        return Tuning(A4, 0.0, 0.0)
    refined = mode + float(np.average(near[close], weights=weight[close]))
    refined = float(np.mod(refined + 50.0, 100.0) - 50.0)
    low = peaks.freq[use] < TONAL_MAX_HZ
    level = peaks.level[use]  # each frame alike, as for the pitch classes
    clarity = float(level[close & low].sum() / max(level[low].sum(), 1e-12))
    return Tuning(round(A4 * 2.0 ** (refined / 1200.0), 2), round(refined, 1), round(clarity, 3))


@dataclass(frozen=True)
class PitchProfile:
    treble: np.ndarray  # 12 bins, C..B, sum 1 (or all zero)
    bass: np.ndarray  # 12 bins, C..B, sum 1 (or all zero)
    tonal: float  # ~0.5 for noise and drums (peaks anywhere), towards 1 when the peaks sit on semitones
    clarity: float  # the tuning's: ~0.3 when no tuning grid is there (drums, noise, speech)


def pitch_profile(peaks: Peaks, tuning: Tuning, *, treble_max: float = TREBLE_MAX) -> PitchProfile:
    """Tuning-corrected, harmonically weighted pitch-class profiles of the whole excerpt.

    Each frame's peaks are scaled to the frame's loudest, so quiet passages
    count as much as loud ones; a frame then adds its votes to the summary.
    """
    zero = np.zeros(12)
    if peaks.freq.size == 0:
        return PitchProfile(zero, zero, 0.0, 0.0)
    midi = 69.0 + 12.0 * np.log2(peaks.freq.astype(np.float64) / tuning.hz)
    amp = peaks.level
    nearest = np.round(midi)
    # Cosine-squared vote over +-0.5 semitone: a peak right on a note counts fully.
    on_note = np.cos(np.pi * np.clip(midi - nearest, -0.5, 0.5)) ** 2
    vote = amp * on_note
    pcs = nearest.astype(np.int64) % 12
    bass_sel = peaks.freq < BASS_MAX
    bass = np.bincount(pcs[bass_sel], weights=vote[bass_sel], minlength=12)
    treble = np.zeros(12)
    tre = ~bass_sel & (peaks.freq < treble_max)
    for h, w in zip(HARMONICS, HARMONIC_WEIGHTS, strict=True):
        shift = round(12.0 * np.log2(h))
        treble += w * np.bincount((pcs[tre] - shift) % 12, weights=vote[tre], minlength=12)
    return PitchProfile(_unit(treble), _unit(bass), round(_tonality(peaks, amp, vote), 3), tuning.clarity)


def _tonality(peaks: Peaks, amp: np.ndarray, vote: np.ndarray) -> float:
    precise = (peaks.freq >= TUNING_MIN_HZ) & (peaks.freq < TONAL_MAX_HZ)
    on = np.bincount(peaks.frame[precise], weights=vote[precise], minlength=peaks.frames)
    total = np.bincount(peaks.frame[precise], weights=amp[precise], minlength=peaks.frames)
    voiced = total > 0
    if not voiced.any():
        return 0.0
    return float(np.percentile(on[voiced] / total[voiced], TONAL_PERCENTILE))


def _unit(v: np.ndarray) -> np.ndarray:
    s = float(v.sum())
    return v / s if s > 0 else np.zeros(12)
