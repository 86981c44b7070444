"""The feature set's names and version, apart from the code that computes them.

``VERSION`` names the feature set. Raise it whenever a feature's meaning or
computation changes (or ``NAMES`` changes): `enrich analyze` then redoes every
track analysed with an older version.

This module imports nothing heavy: the analysis parent (and the playlists)
need the names, not numpy or scipy, which only the workers load.
"""

from __future__ import annotations

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
N_MFCC = 13

VERSION = 2

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
