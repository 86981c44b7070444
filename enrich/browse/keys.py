"""Musical keys by name and on the Camelot wheel, without numpy.

``enrich.analysis.key.camelot`` computes the code from a pitch class during
analysis; this module turns what a user types ("A minor", "Am", "8A") into
Camelot codes and back, and knows a code's neighbours on the wheel.
"""

from __future__ import annotations

import re

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLATS = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10, "Cb": 11, "Fb": 4, "E#": 5, "B#": 0}

_CODE = re.compile(r"^(1[0-2]|[1-9])([AaBb])$")
_NAME = re.compile(r"^([A-Ga-g])([#♯b♭]?)\s*(m|min|minor|maj|major)?$")


def camelot(pc: int, mode: str) -> str:
    """C major is 8B, A minor 8A; one step round the wheel is a fifth."""
    if mode == "major":
        return f"{(7 * pc + 7) % 12 + 1}B"
    return f"{(7 * pc + 4) % 12 + 1}A"


def key_name(pc: int | None, mode: str | None) -> str | None:
    """'A minor', 'C# major'; None when unknown."""
    if pc is None or mode not in ("major", "minor"):
        return None
    return f"{PITCH_CLASSES[int(pc) % 12]} {mode}"


def parse_key(text: str) -> str | None:
    """The Camelot code of '8A', 'A minor', 'Am', 'C#', 'Bbm', 'f# min'; None if it is not a key."""
    text = text.strip()
    code = _CODE.match(text)
    if code:
        return f"{code.group(1)}{code.group(2).upper()}"
    name = _NAME.match(text)
    if not name:
        return None
    letter, accidental, quality = name.groups()
    note = letter.upper() + accidental.replace("♯", "#").replace("♭", "b")
    pc = FLATS.get(note, PITCH_CLASSES.index(note) if note in PITCH_CLASSES else None)
    if pc is None:
        return None
    return camelot(pc, "minor" if quality in ("m", "min", "minor") else "major")


def compatible(code: str) -> tuple[str, ...]:
    """The code itself, its two neighbours on the wheel and its relative major/minor."""
    number, letter = int(code[:-1]), code[-1]
    down, up = (number - 2) % 12 + 1, number % 12 + 1
    other = "B" if letter == "A" else "A"
    return (code, f"{down}{letter}", f"{up}{letter}", f"{number}{other}")
