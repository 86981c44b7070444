"""Just enough music theory to write plausible parts: scales, chords, voicings."""

from __future__ import annotations

import random
from dataclasses import dataclass

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "dom7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "hdim7": (0, 3, 6, 10),
    "sus4": (0, 5, 7),
}


@dataclass(frozen=True)
class Chord:
    root: int  # semitones above the tonic
    quality: str

    def pitch_classes(self, tonic: int) -> list[int]:
        return [(tonic + self.root + i) % 12 for i in QUALITIES[self.quality]]

    def is_dominant_of_minor(self) -> bool:
        """V or V7 in a minor key: its third is the raised leading tone (harmonic minor)."""
        return self.root == 7 and self.quality in ("maj", "dom7")


def _chords(*spec: str) -> tuple[Chord, ...]:
    out = []
    for item in spec:
        root, quality = item.split(":")
        out.append(Chord(int(root), quality))
    return tuple(out)


# Progressions in semitones above the tonic. The minor ones lean on V/V7 with the
# raised leading tone, as most tonal minor-key music does.
MAJOR_PROGRESSIONS: tuple[tuple[Chord, ...], ...] = (
    _chords("0:maj", "7:maj", "9:min", "5:maj"),          # I V vi IV
    _chords("0:maj", "5:maj", "7:maj", "0:maj"),          # I IV V I
    _chords("0:maj", "9:min", "5:maj", "7:maj"),          # I vi IV V
    _chords("2:min7", "7:dom7", "0:maj7", "9:min7"),      # ii7 V7 Imaj7 vi7
    _chords("0:maj", "4:min", "5:maj", "7:dom7"),         # I iii IV V7
    _chords("5:maj", "0:maj", "7:maj", "9:min"),          # IV I V vi
    _chords("0:maj7", "5:maj7", "2:min7", "7:dom7"),      # Imaj7 IVmaj7 ii7 V7
    _chords("0:maj", "5:maj", "0:maj", "7:maj"),          # I IV I V
)
MINOR_PROGRESSIONS: tuple[tuple[Chord, ...], ...] = (
    _chords("0:min", "5:min", "7:dom7", "0:min"),         # i iv V7 i
    _chords("0:min", "8:maj", "3:maj", "10:maj"),         # i VI III VII
    _chords("0:min", "8:maj", "5:min", "7:dom7"),         # i VI iv V7
    _chords("0:min", "10:maj", "8:maj", "7:maj"),         # i VII VI V (andalusian)
    _chords("2:hdim7", "7:dom7", "0:min7", "0:min7"),     # iiø7 V7 i7
    _chords("0:min", "5:min", "10:maj", "3:maj"),         # i iv VII III
    _chords("0:min", "7:dom7", "8:maj", "5:min"),         # i V7 VI iv
    _chords("0:min7", "5:min7", "0:min7", "7:dom7"),      # i7 iv7 i7 V7
)


def progression(mode: str, rng: random.Random) -> tuple[Chord, ...]:
    return rng.choice(MAJOR_PROGRESSIONS if mode == "major" else MINOR_PROGRESSIONS)


def scale_for(mode: str, chord: Chord) -> tuple[int, ...]:
    """The scale a melody uses over ``chord``: harmonic minor over a minor key's dominant."""
    if mode == "major":
        return MAJOR_SCALE
    return HARMONIC_MINOR_SCALE if chord.is_dominant_of_minor() else NATURAL_MINOR_SCALE


def pitches_in_range(pitch_classes: list[int] | tuple[int, ...], low: int, high: int) -> list[int]:
    wanted = {pc % 12 for pc in pitch_classes}
    return [p for p in range(low, high + 1) if p % 12 in wanted]


def voicing(chord: Chord, tonic: int, previous: list[int] | None, low: int, high: int,
            rng: random.Random, spread: bool = False) -> list[int]:
    """A close (or spread) voicing of ``chord`` within [low, high], nearest the previous one."""
    pcs = chord.pitch_classes(tonic)
    candidates: list[list[int]] = []
    for bottom in range(low, high - 6):
        if bottom % 12 not in pcs:
            continue
        # stack the remaining chord tones upwards from this bottom note
        order = pcs[pcs.index(bottom % 12):] + pcs[:pcs.index(bottom % 12)]
        notes = [bottom]
        for pc in order[1:]:
            nxt = notes[-1] + 1
            while nxt % 12 != pc:
                nxt += 1
            notes.append(nxt + (12 if spread and len(notes) == 1 else 0))
        if notes[-1] <= high:
            candidates.append(notes)
    if not candidates:
        raise ValueError(f"no voicing of {chord} in {low}..{high}")
    if previous is None:
        return rng.choice(candidates)
    centre = sum(previous) / len(previous)
    return min(candidates, key=lambda c: (abs(sum(c) / len(c) - centre), rng.random()))


def bass_note(pc: int, low: int = 28, high: int = 47) -> int:
    """The bass register's instance of pitch class ``pc`` (lowest in range)."""
    return next(p for p in range(low, high + 1) if p % 12 == pc % 12)
