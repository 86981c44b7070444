"""Which clips a corpus holds: a deterministic plan drawn from one seed."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace

from tests.corpus.arrange import Piece
from tests.corpus.encode import FORMATS
from tests.corpus.styles import STYLES

A4 = 440.0


@dataclass(frozen=True)
class ClipSpec:
    id: str
    style: str
    bpm: float
    meter: int
    tonic: int | None
    mode: str | None
    cents: float  # detuning of every pitched part; tuning_hz = 440 * 2**(cents/1200)
    seconds: float
    format: str
    seed: int
    lead_in: float  # seconds of silence before the first note

    @property
    def path(self) -> str:
        return f"clips/{self.id}.{self.format}"

    @property
    def tuning_hz(self) -> float:
        return round(A4 * 2 ** (self.cents / 1200), 3)

    def piece(self) -> Piece:
        return Piece(self.style, self.bpm, self.tonic, self.mode, self.seconds + self.lead_in, self.seed)

    def manifest_entry(self) -> dict:
        style = STYLES[self.style]
        return {
            "id": self.id, "path": self.path, "style": self.style, "bpm": self.bpm,
            "meter": self.meter, "tonic": self.tonic, "mode": self.mode, "tuning_hz": self.tuning_hz,
            "has_drums": bool(style.grooves), "pitched": style.pitched, "seconds": self.seconds,
            "format": self.format,
        }

    def to_json(self) -> dict:
        return asdict(self)


# (share of clips, shortest, longest) in seconds
LENGTHS = ((0.04, 1.0, 3.0), (0.18, 4.0, 15.0), (0.58, 15.0, 60.0), (0.15, 60.0, 180.0), (0.05, 180.0, 360.0))
FORMAT_WEIGHTS = {"mp3": 0.3, "ogg": 0.25, "flac": 0.2, "m4a": 0.25}
# detuning in cents that keeps A4 within 430..452 Hz
FLAT_CENTS, SHARP_CENTS = (10.0, 39.5), (10.0, 46.0)


def detuning(rng: random.Random) -> float:
    if rng.random() < 0.5:
        return -round(rng.uniform(*FLAT_CENTS), 1)
    return round(rng.uniform(*SHARP_CENTS), 1)


def clip(index: int, style_name: str, rng: random.Random, *, seconds: float | None = None,
         detuned: bool | None = None, fmt: str | None = None, bpm: float | None = None) -> ClipSpec:
    style = STYLES[style_name]
    if bpm is None:
        bpm = round(rng.uniform(*style.bpm), 1)
    if seconds is None:
        share = rng.random()
        for weight, low, high in LENGTHS:
            if share < weight:
                seconds = round(rng.uniform(low, high), 1)
                break
            share -= weight
        else:
            seconds = 30.0
    if style.pitched:
        tonic: int | None = rng.randrange(12)
        mode: str | None = "minor" if rng.random() < style.minor_share else "major"
    else:
        tonic, mode = None, None
    if detuned is None:
        detuned = rng.random() < 1 / 3
    cents = detuning(rng) if detuned and style.pitched else 0.0
    if fmt is None:
        fmt = rng.choices(list(FORMAT_WEIGHTS), weights=list(FORMAT_WEIGHTS.values()))[0]
    assert fmt in FORMATS
    return ClipSpec(id=f"{index:03d}-{style_name}", style=style_name, bpm=bpm, meter=style.meter,
                    tonic=tonic, mode=mode, cents=cents, seconds=seconds, format=fmt,
                    seed=rng.randrange(2**31), lead_in=round(rng.uniform(0.0, 0.4), 3))


def full_plan(seed: int = 9, per_style: int = 22) -> list[ClipSpec]:
    """The benchmark's corpus: ``per_style`` clips of every style, lengths 1 s to 6 min."""
    rng = random.Random(seed)
    names = list(STYLES)
    specs = []
    for i in range(per_style * len(names)):
        style = names[i % len(names)]
        seconds = {0: 1.0, 1: 360.0, 2: 2.0, 3: 300.0}.get(i)  # make sure both ends are there
        specs.append(clip(i, style, rng, seconds=seconds))
    return specs


def slice_plan(seed: int = 4) -> list[ClipSpec]:
    """The default test run's slice: every style, short clips, some detuned, every format."""
    rng = random.Random(seed)
    names = list(STYLES)
    formats = ("mp3", "ogg", "flac", "m4a")
    specs = []
    for i in range(2 * len(names)):
        style = names[i % len(names)]
        seconds = 1.5 if i == 3 else round(rng.uniform(10.0, 14.0), 1)
        spec = clip(i, style, rng, seconds=seconds, detuned=i % 3 == 1, fmt=formats[i % 4])
        specs.append(replace(spec, id=f"slice-{spec.id}"))  # never mistaken for a full-plan clip
    return specs
