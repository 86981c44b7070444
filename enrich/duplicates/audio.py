"""Same audio: stored feature vectors that differ by no more than an encoder's noise (pure).

Each compared feature has a tolerance, set from copies of 32 rendered songs
(the tests' synthesiser, at 22.05 and 44.1 kHz) encoded as FLAC, MP3, Vorbis,
AAC, Opus and WMA down to 32-48 kbit/s, and re-levelled and tilted like a light
remaster: the largest difference between two copies of one song is under 2
tolerances in every feature, and the root mean square over all of them under
0.6; songs of another tempo or key were 2.6 or more apart. Compared: tempo, the
spectral centroid and roll-off means, MFCCs 2-13 (means and spreads) and
chroma. Left out: what a low bitrate's low-pass moves (flatness, zero
crossings, the spreads of centroid and roll-off), what a level change moves
(loudness, energy, the first MFCC), and what jumps between neighbouring
answers (key, confidences).

Two tracks have the same audio when their durations are within ``seconds``,
the root mean square of their differences, each divided by its tolerance, is
at most ``tolerance``, and no single difference is more than ``OUTLIER`` times
that (so one element far off, a tempo 5 BPM away, is not averaged away by
forty that agree).

A feature set whose names are not in the table (another version) gets, for
each element, a tenth of the spread of that element over the library.

Finding the pairs: rows sorted by duration, taken in blocks; each block is
compared (one matrix product) only with the rows whose duration is within
``seconds`` of it, so the work grows with the library times the number of
tracks of nearly the same length, never with all pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from enrich.numeric import medians

BLOCK = 256
SAMPLE = 5000  # rows the spread of an unknown feature is measured on
UNKNOWN_SHARE = 0.1
OUTLIER = 3.0

TOLERANCES: dict[str, float] = {
    "tempo": 1.0, "centroid_mean": 250.0, "rolloff_mean": 600.0,
    **{f"mfcc{i}_mean": 8.0 for i in range(2, 14)},
    **{f"mfcc{i}_std": 5.0 for i in range(2, 14)},
    **{f"chroma_{pc}": 0.012 for pc in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")},
}
LEFT_OUT = frozenset({"tempo_confidence", "key_fifths_cos", "key_fifths_sin", "mode_major", "key_confidence",
                      "loudness", "energy", "mfcc1_mean"})


@dataclass(frozen=True)
class Scale:
    """Which vector elements are compared, and the tolerance of each."""

    columns: np.ndarray  # int indices into the stored vector
    tolerance: np.ndarray  # float64, one per column

    def fingerprint(self, vectors: np.ndarray, rows: np.ndarray | None = None,
                    dtype: type[np.floating] = np.float64) -> np.ndarray:
        """The compared elements of ``rows`` (default all) in units of their tolerance."""
        picked = vectors[:, self.columns] if rows is None else vectors[np.ix_(rows, self.columns)]
        out = picked.astype(dtype)
        out /= self.tolerance.astype(dtype)
        return out


def scale_for(names: Sequence[str], vectors: np.ndarray, usable: np.ndarray) -> Scale:
    """The tolerances of a feature set: from the table, or from the library's spread for unknown names."""
    known = [i for i, n in enumerate(names) if n in TOLERANCES]
    if known:
        return Scale(np.array(known, dtype=np.intp), np.array([TOLERANCES[names[i]] for i in known]))
    columns = np.array([i for i, n in enumerate(names) if n not in LEFT_OUT], dtype=np.intp)
    rows = np.flatnonzero(usable)
    if len(rows) > SAMPLE:  # an even spread of rows: the same answer every time
        rows = rows[np.linspace(0, len(rows) - 1, SAMPLE).astype(np.intp)]
    sample = np.asarray(vectors[np.ix_(rows, columns)], dtype=np.float64)
    if len(sample) == 0:
        return Scale(columns, np.ones(len(columns)))
    middle = medians(sample)
    spread = 1.4826 * medians(np.abs(sample - middle))
    floor = np.maximum(np.abs(middle) * 1e-3, 1e-6)
    return Scale(columns, UNKNOWN_SHARE * np.maximum(spread, floor))


def same(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    """Two fingerprints within ``tolerance`` (as ``pairs`` decides, for one pair)."""
    if not len(a):
        return False
    diff = np.abs(a - b)
    return bool(np.sqrt(np.mean(diff * diff)) <= tolerance and diff.max() <= OUTLIER * tolerance)


def pairs(duration: np.ndarray, vectors: np.ndarray, scale: Scale, usable: np.ndarray, *, seconds: float,
          tolerance: float) -> list[tuple[int, int]]:
    """(i, j), i < j, of usable rows with durations within ``seconds`` and fingerprints within ``tolerance``."""
    rows = np.flatnonzero(usable & np.isfinite(duration))
    if len(rows) < 2 or len(scale.columns) == 0:
        return []
    order = rows[np.argsort(duration[rows], kind="stable")]
    d = duration[order]
    # Centred before the products, so float32 keeps the small differences that matter.
    x = scale.fingerprint(vectors, order, np.float32)
    x -= x.mean(axis=0, dtype=np.float64).astype(np.float32)
    norms = np.einsum("ij,ij->i", x, x)
    limit = np.float32(tolerance * tolerance * x.shape[1] * (1 + 1e-3))  # float32 rounding: confirmed below
    found: list[tuple[int, int]] = []
    for start in range(0, len(order), BLOCK):
        stop = min(start + BLOCK, len(order))
        end = int(np.searchsorted(d, d[stop - 1] + seconds, side="right"))
        # Squared distances of the block to itself and to the rows after it that may be near in length.
        sq = x[start:stop] @ x[start:end].T
        sq *= -2.0
        sq += norms[start:stop, None]
        sq += norms[None, start:end]
        a, b = np.nonzero(sq <= limit)
        a, b = a + start, b + start
        keep = (b > a) & (d[b] - d[a] <= seconds)
        found += confirm(order[a[keep]], order[b[keep]], duration, vectors, scale, tolerance)
    return found


def confirm(a: np.ndarray, b: np.ndarray, duration: np.ndarray, vectors: np.ndarray, scale: Scale,
            tolerance: float) -> list[tuple[int, int]]:
    """The candidate pairs that hold when measured exactly (float64): RMS and largest difference."""
    if not len(a):
        return []
    diff = np.abs(scale.fingerprint(vectors, a) - scale.fingerprint(vectors, b))
    ok = (np.sqrt(np.mean(diff * diff, axis=1)) <= tolerance) & (diff.max(axis=1) <= OUTLIER * tolerance)
    return [(min(i, j), max(i, j)) for i, j in zip(a[ok].tolist(), b[ok].tolist(), strict=True)]


class Taken:
    """The tracks taken so far (a playlist's), and whether a new one is a copy of one of them by its audio.

    For a few dozen taken tracks checked one candidate at a time; the whole
    library is never compared. Rows without usable features (or with a vector of
    zeros, which says nothing) are copies of nothing.
    """

    def __init__(self, vectors: np.ndarray, names: Sequence[str], duration: np.ndarray, usable: np.ndarray,
                 *, seconds: float = 1.0, tolerance: float = 1.0) -> None:
        self.vectors, self.duration, self.usable = vectors, duration, usable
        self.seconds, self.tolerance = seconds, tolerance
        self.scale = scale_for(names, vectors, usable)
        self.rows: list[int] = []
        self.prints = np.zeros((0, len(self.scale.columns)))

    def comparable(self, row: int) -> bool:
        return bool(self.usable[row] and np.isfinite(self.duration[row]) and self.vectors[row].any())

    def add(self, row: int) -> None:
        if self.comparable(row):
            self.rows.append(row)
            self.prints = np.vstack([self.prints, self.scale.fingerprint(self.vectors, np.array([row]))])

    def copy_of(self, row: int) -> int | None:
        """The taken row ``row`` is a copy of, if any."""
        if not self.rows or not self.comparable(row):
            return None
        near = np.abs(self.duration[self.rows] - self.duration[row]) <= self.seconds
        if not near.any():
            return None
        mine = self.scale.fingerprint(self.vectors, np.array([row]))[0]
        for k in np.flatnonzero(near).tolist():
            if same(self.prints[k], mine, self.tolerance):
                return self.rows[k]
        return None
