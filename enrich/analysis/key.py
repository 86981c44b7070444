"""Key and mode: the track's chroma summary correlated with 24 rotated key profiles.

Three published profile sets are kept so they can be compared on the fixtures
(tests/test_analysis_accuracy.py prints the comparison); the setting
``analysis.key_profile`` picks one. Profiles are data, weights per scale
degree starting at the tonic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # Krumhansl & Kessler (1982), probe-tone ratings.
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    # Temperley (1999), "What's key for key?".
    "temperley": (
        (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
        (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0),
    ),
    # Faraldo et al. (2016), EDMA: derived from electronic dance music.
    "edma": (
        (0.16519551, 0.04749026, 0.08293076, 0.06687112, 0.09994645, 0.09274123,
         0.05294487, 0.13159476, 0.05218986, 0.07443653, 0.06940723, 0.0642515),
        (0.17235348, 0.05336489, 0.0761009, 0.10043649, 0.05621498, 0.08527853,
         0.0497915, 0.13451001, 0.07458916, 0.05003023, 0.09187879, 0.05545106),
    ),
}


@dataclass(frozen=True)
class Key:
    pc: int | None  # pitch class of the tonic, 0 = C
    mode: str | None  # "major" | "minor"
    confidence: float

    @property
    def name(self) -> str | None:
        return None if self.pc is None else f"{PITCH_CLASSES[self.pc]} {self.mode}"

    @property
    def camelot(self) -> str | None:
        return None if self.pc is None else camelot(self.pc, self.mode)


def camelot(pc: int, mode: str) -> str:
    """Camelot wheel code: C major is 8B, A minor 8A; a step round the wheel is a fifth."""
    if mode == "major":
        return f"{(7 * pc + 7) % 12 + 1}B"
    return f"{(7 * pc + 4) % 12 + 1}A"


def key_scores(chroma: np.ndarray, profile: str) -> np.ndarray:
    """Pearson correlation of a 12-bin chroma with each key: shape (2, 12), [major, minor] x tonic."""
    chroma = np.asarray(chroma, dtype=np.float64)
    scores = np.zeros((2, 12))
    c = chroma - chroma.mean()
    c_norm = np.linalg.norm(c)
    for m, weights in enumerate(PROFILES[profile]):
        w = np.asarray(weights) - np.mean(weights)
        w /= np.linalg.norm(w)
        for tonic in range(12):
            scores[m, tonic] = np.dot(c, np.roll(w, tonic)) / c_norm if c_norm > 0 else 0.0
    return scores


def estimate_key(chroma: np.ndarray, profile: str = "temperley") -> Key:
    """The best-correlating key; confidence grows with its correlation and its lead over the runner-up."""
    chroma = np.asarray(chroma, dtype=np.float64)
    if chroma.shape != (12,) or not np.all(np.isfinite(chroma)) or chroma.max() - chroma.min() <= 1e-12:
        return Key(None, None, 0.0)
    scores = key_scores(chroma, profile)
    order = np.argsort(scores, axis=None)[::-1]
    best, second = scores.flat[order[0]], scores.flat[order[1]]
    mode_index, pc = divmod(int(order[0]), 12)
    lead = min(1.0, (best - second) / 0.1)
    confidence = float(np.clip(best, 0.0, 1.0) * (0.5 + 0.5 * lead))
    return Key(pc, ("major", "minor")[mode_index], round(confidence, 3))


def chroma_summary(chroma_frames: np.ndarray) -> np.ndarray:
    """One 12-bin profile for the track: each frame scaled to its loudest bin, then averaged,
    so quiet passages count as much as loud ones; normalised to sum 1."""
    if chroma_frames.size == 0:
        return np.zeros(12)
    peak = chroma_frames.max(axis=0)
    voiced = peak > peak.max() * 1e-3 if peak.max() > 0 else np.zeros_like(peak, dtype=bool)
    if not voiced.any():
        return np.zeros(12)
    frames = chroma_frames[:, voiced] / peak[voiced]
    summary = frames.mean(axis=1)
    return summary / summary.sum()
