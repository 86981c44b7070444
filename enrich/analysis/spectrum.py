"""The one time-frequency representation every spectral feature reads.

One STFT per decoded window; the mel bands and onset envelope are derived
from its power, once, on first use (pitch is read from its peaks: pitch.py). Frames of all windows are stacked
side by side; ``bounds`` tells where each window starts so that time-based
features (the onset envelope) never run across the seam between two windows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

N_FFT = 2048
HOP = 512
N_MELS = 64
T = TypeVar("T")
EPS = 1e-10
ONSET_COMPRESSION = 100.0
SUMMARY_STEP = 2
LOW_HZ = 200.0  # onset bands: kick and bass below, cymbals and noise above HIGH_HZ
HIGH_HZ = 4000.0
# The "tonal" onset envelope: flux of the STFT bins themselves (10.8 Hz apart, not mel
# bands) between these, compressed hard, so a legato chord change or a soft new note
# counts even where no band grows louder (ballads without drums).
TONAL_FLUX_HZ = (50.0, 2000.0)
TONAL_COMPRESSION = 10000.0


def hz_to_mel(f: float | np.ndarray) -> np.ndarray:
    return np.asarray(2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0))


def mel_to_hz(m: float | np.ndarray) -> np.ndarray:
    return np.asarray(700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0))


@functools.lru_cache(maxsize=8)
def mel_basis(sr: int, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular mel filters (HTK scale, 30 Hz..min(11 kHz, Nyquist)), each of unit area."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(30.0), hz_to_mel(min(11000.0, sr / 2)), n_mels + 2))
    basis = np.zeros((n_mels, len(freqs)), dtype=np.float32)
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rising = (freqs - lo) / (mid - lo)
        falling = (hi - freqs) / (hi - mid)
        basis[i] = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (hi - lo))
    return basis


@functools.lru_cache(maxsize=8)
def sparse_operator(kind: str, sr: int) -> Any:  # a scipy sparse matrix (scipy is not annotated)
    """The mel basis as a sparse matrix: each band touches few bins,
    so this is ~30x less work than the dense product."""
    from scipy import sparse

    return sparse.csr_matrix(mel_basis(sr))


@functools.lru_cache(maxsize=8)
def fft_window(n_fft: int = N_FFT) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def stft_power(y: np.ndarray, n_fft: int = N_FFT, hop: int = HOP, block: int = 256) -> np.ndarray:
    """|STFT|^2 (bins x frames) of a mono signal, frames centred (reflect-padded).

    Computed ``block`` frames at a time into one float32 array: cache-friendly,
    and no track-sized complex intermediate.
    """
    from scipy import fft

    pad = n_fft // 2
    if len(y) <= pad:
        y = np.pad(y, (0, pad + 1 - len(y)))
    padded = np.pad(y.astype(np.float32, copy=False), (pad, pad), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    window = fft_window(n_fft)
    power = np.empty((n_fft // 2 + 1, len(frames)), dtype=np.float32)
    for start in range(0, len(frames), block):
        spec = fft.rfft(frames[start:start + block] * window, axis=1)
        power[:, start:start + block] = (spec.real * spec.real + spec.imag * spec.imag).T
    return power


@dataclass
class Spectrum:
    sr: int
    power: np.ndarray  # (bins, frames), all windows side by side
    bounds: list[int]  # first frame of each window, plus the end
    hop: int = HOP
    n_fft: int = N_FFT
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, segments: list[np.ndarray], sr: int) -> Spectrum:
        powers = [stft_power(np.asarray(s, dtype=np.float32)) for s in segments]
        bounds = [0]
        for p in powers:
            bounds.append(bounds[-1] + p.shape[1])
        return cls(sr, np.concatenate(powers, axis=1), bounds)

    @property
    def frame_rate(self) -> float:
        return self.sr / self.hop

    @property
    def freqs(self) -> np.ndarray:
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.sr).astype(np.float32)

    def _cached(self, name: str, make: Callable[[], T]) -> T:
        if name not in self._cache:
            self._cache[name] = make()
        value: T = self._cache[name]
        return value

    # Summary statistics (spectral shape, timbre) read every SUMMARY_STEP-th
    # frame: a mean and a spread over thousands of frames do not need them all.
    @property
    def sampled_power(self) -> np.ndarray:
        return self.power[:, ::SUMMARY_STEP]

    @property
    def sampled_log_mel(self) -> np.ndarray:
        return self.log_mel[:, ::SUMMARY_STEP]

    @property
    def magnitude(self) -> np.ndarray:
        """Magnitude of the sampled frames."""
        return self._cached("magnitude", lambda: np.asarray(np.sqrt(self.sampled_power)))

    @property
    def mel(self) -> np.ndarray:
        return self._cached("mel", lambda: np.asarray(sparse_operator("mel", self.sr) @ self.power))

    @property
    def log_mel(self) -> np.ndarray:
        """Mel power in dB, floored 80 dB below the loudest cell."""
        def make() -> np.ndarray:
            db = 10.0 * np.log10(np.maximum(self.mel, EPS))
            return np.asarray(np.maximum(db, db.max() - 80.0))
        return self._cached("log_mel", make)

    @property
    def frame_energy(self) -> np.ndarray:
        """Energy of the sampled frames."""
        return self._cached("frame_energy", lambda: np.asarray(self.sampled_power.sum(axis=0)))

    def onset_envelopes(self) -> list[np.ndarray]:
        """Spectral flux of all the compressed mel bands, one envelope per window."""
        return self.onset_bands()["broad"]

    def onset_bands(self) -> dict[str, list[np.ndarray]]:
        """Spectral flux of the compressed mel bands, one envelope per window, for
        all bands ("broad"), the bass and kick below 200 Hz ("low") and the cymbals
        and noise above 4 kHz ("high"); and the flux of the STFT bins of 50 Hz-2 kHz
        ("tonal"), where a change of notes shows even without a louder band.

        The compression is log(1 + 100 x), not decibels: dB would make a soft
        off-beat hat rise as far out of silence as a kick, and double the tempo.
        """
        def make() -> dict[str, list[np.ndarray]]:
            centres = mel_to_hz(np.linspace(hz_to_mel(30.0), hz_to_mel(min(11000.0, self.sr / 2)), N_MELS + 2))[1:-1]
            groups: dict[str, Any] = {"broad": slice(None), "low": centres < LOW_HZ, "high": centres > HIGH_HZ}
            out: dict[str, list[np.ndarray]] = {name: [] for name in (*groups, "tonal")}
            peak = float(self.mel.max()) or 1.0
            compressed = np.log1p(ONSET_COMPRESSION / peak * self.mel)
            bin_hz = self.sr / self.n_fft
            bins = self.power[int(TONAL_FLUX_HZ[0] / bin_hz):int(TONAL_FLUX_HZ[1] / bin_hz) + 1]
            tonal = np.log1p(np.float32(TONAL_COMPRESSION / (float(bins.max()) or 1.0)) * bins)
            for a, b in zip(self.bounds, self.bounds[1:], strict=False):
                part = compressed[:, a:b]
                if part.shape[1] < 2:
                    for name in out:
                        out[name].append(np.zeros(part.shape[1], dtype=np.float32))
                    continue
                flux = np.maximum(0.0, np.diff(part, axis=1))
                for name, rows in groups.items():
                    band = flux[rows]
                    env = band.mean(axis=0) if band.shape[0] else np.zeros(flux.shape[1])
                    out[name].append(np.concatenate([[0.0], env]).astype(np.float32))
                rise = np.maximum(0.0, np.diff(tonal[:, a:b], axis=1)).mean(axis=0)
                out["tonal"].append(np.concatenate([[0.0], rise]).astype(np.float32))
            return out
        return self._cached("onsets", make)
