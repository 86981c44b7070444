"""The feature set's names and version, apart from the code that computes them.

``VERSION`` names the feature set. Raise it whenever a feature's meaning or
computation changes (or ``NAMES`` changes): `enrich analyze` then redoes every
track analysed with an older version.

This module imports nothing heavy: the analysis parent (and the playlists)
need the names and receive ``Features`` from the workers (plain floats, so
unpickling them loads no numpy); only the workers load numpy and scipy.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
N_MFCC = 13

VERSION = 3

NAMES: tuple[str, ...] = (
    "tempo", "tempo_confidence",
    # Key on the circle of fifths (Camelot order), so neighbouring keys are near.
    "key_fifths_cos", "key_fifths_sin", "mode_major", "key_confidence",
    "loudness", "energy",
    "centroid_mean", "centroid_std", "rolloff_mean", "rolloff_std",
    "flatness_mean", "flatness_std", "zcr_mean", "zcr_std",
    *(f"mfcc{i}_mean" for i in range(1, N_MFCC + 1)),
    *(f"mfcc{i}_std" for i in range(1, N_MFCC + 1)),
    *(f"chroma_{pc}" for pc in PITCH_CLASSES),
)


@dataclass(frozen=True)
class Features:
    tempo: float | None
    tempo_confidence: float
    key_pc: int | None
    mode: str | None
    key_confidence: float
    camelot: str | None
    loudness: float | None  # LUFS
    energy: float  # 0..1
    centroid: tuple[float, float]  # mean, std (Hz)
    rolloff: tuple[float, float]
    flatness: tuple[float, float]
    zcr: tuple[float, float]
    mfcc_mean: tuple[float, ...]
    mfcc_std: tuple[float, ...]
    chroma: tuple[float, ...]  # 12 bins, C..B, sum 1
    seconds: float  # audio analysed
    tuning_hz: float | None = None  # estimated A4 reference
    key_strength: float | None = None  # 0..1, how clearly the audio sits in a key
    tempo_alt: float | None = None  # second-best tempo candidate, BPM

    def vector(self) -> bytes:
        """The little-endian float32 vector whose elements ``NAMES`` names, as stored."""
        if self.key_pc is None:
            fifths = (0.0, 0.0)
        else:
            angle = 2 * math.pi * ((7 * self.key_pc) % 12) / 12
            fifths = (math.cos(angle), math.sin(angle))
        values = [
            self.tempo or 0.0, self.tempo_confidence,
            *fifths, 1.0 if self.mode == "major" else 0.0, self.key_confidence,
            self.loudness if self.loudness is not None else -70.0, self.energy,
            *self.centroid, *self.rolloff, *self.flatness, *self.zcr,
            *self.mfcc_mean, *self.mfcc_std, *self.chroma,
        ]
        return struct.pack(f"<{len(values)}f", *values)
