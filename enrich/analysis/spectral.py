"""Spectral shape and timbre from the shared spectrum's sampled frames, summarised as mean and spread."""

from __future__ import annotations

import numpy as np
from scipy.fft import dct

from enrich.analysis.featureset import N_MFCC
from enrich.analysis.spectrum import EPS, Spectrum

ROLLOFF = 0.85


def _voiced(spectrum: Spectrum) -> np.ndarray:
    """Frames with any sound: silent frames have no centroid, flatness or timbre."""
    energy = spectrum.frame_energy
    return energy > max(float(energy.max()) * 1e-6, EPS)


def mean_std(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, 0.0
    return float(values.mean()), float(values.std())


def centroid(spectrum: Spectrum) -> np.ndarray:
    """Magnitude-weighted mean frequency of each voiced frame, Hz."""
    mag = spectrum.magnitude[:, _voiced(spectrum)]
    return np.asarray((spectrum.freqs @ mag) / np.maximum(mag.sum(axis=0), EPS))


def rolloff(spectrum: Spectrum, share: float = ROLLOFF) -> np.ndarray:
    """Frequency below which ``share`` of each voiced frame's magnitude lies, Hz."""
    mag = spectrum.magnitude[:, _voiced(spectrum)]
    if mag.shape[1] == 0:
        return np.zeros(0)
    cumulative = np.cumsum(mag, axis=0)
    index = np.argmax(cumulative >= share * cumulative[-1], axis=0)
    return np.asarray(spectrum.freqs[index])


def flatness(spectrum: Spectrum) -> np.ndarray:
    """Geometric over arithmetic mean of each voiced frame's power: 1 for noise, near 0 for tones."""
    power = np.maximum(spectrum.sampled_power[:, _voiced(spectrum)], EPS)
    return np.asarray(np.exp(np.log(power).mean(axis=0)) / power.mean(axis=0))


def mfcc(spectrum: Spectrum, n: int = N_MFCC) -> np.ndarray:
    """Cepstral coefficients (n x voiced frames) of the log-mel bands."""
    log_mel = spectrum.sampled_log_mel[:, _voiced(spectrum)]
    return np.asarray(dct(log_mel, type=2, axis=0, norm="ortho")[:n])


def zero_crossing_rates(segments: list[np.ndarray], frame: int, hop: int) -> np.ndarray:
    """Share of sign changes per frame, over the mono time signal."""
    rates = []
    for y in segments:
        if len(y) < frame:
            continue
        # flips[i]: a sign change between samples i and i + 1; a frame of ``frame`` samples
        # starting at s holds flips[s:s + frame - 1]. The last is padded so every frame has one more.
        flips = np.append(np.signbit(y[1:]) != np.signbit(y[:-1]), False)
        starts = np.arange(0, len(y) - frame + 1, hop)
        if frame % hop == 0:  # a frame is whole hops: count each hop's flips once, then add them up
            per_hop = np.add.reduceat(flips, np.arange(0, len(flips), hop), dtype=np.int64)
            windows = np.lib.stride_tricks.sliding_window_view(per_hop, frame // hop)
            counts = windows[starts // hop].sum(axis=1) - flips[starts + frame - 1]
        else:
            changes = np.concatenate([[0], np.cumsum(flips)])
            counts = changes[starts + frame - 1] - changes[starts]
        rates.append(counts / frame)
    return np.concatenate(rates) if rates else np.zeros(0)


def rms_db(segments: list[np.ndarray]) -> float:
    """Root-mean-square level of the mono signal, dBFS (-120 for silence)."""
    total = sum(float(np.dot(y, y)) for y in segments)
    count = sum(len(y) for y in segments)
    return float(10 * np.log10(max(total / max(count, 1), 1e-12)))
