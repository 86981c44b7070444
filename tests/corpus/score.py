"""A score: timed notes on General MIDI channels, with the truth it was written to."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Note:
    start: float  # beats from the start of the score
    length: float  # beats
    pitch: int  # MIDI key
    velocity: int  # 1..127
    channel: int


@dataclass(frozen=True)
class Part:
    channel: int
    program: int  # General MIDI program, 0-based; ignored for drums
    volume: float  # 0..1 channel gain
    pan: float  # 0 left .. 1 right

    @property
    def is_drums(self) -> bool:
        return self.channel == DRUM_CHANNEL


@dataclass
class Score:
    bpm: float
    meter: int
    parts: list[Part] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm

    def add(self, channel: int, start: float, length: float, pitch: int, velocity: float) -> None:
        self.notes.append(Note(start, length, pitch, int(min(127, max(1, round(velocity)))), channel))


class Performer:
    """Adds a player's looseness: timing jitter (in milliseconds) and velocity spread."""

    def __init__(self, score: Score, rng: random.Random, jitter_ms: float, velocity_spread: float):
        self.score = score
        self.rng = rng
        self.jitter_beats = jitter_ms / 1000.0 / score.seconds_per_beat()
        self.velocity_spread = velocity_spread

    def play(self, channel: int, start: float, length: float, pitch: int, velocity: float) -> None:
        start = max(0.0, start + self.rng.gauss(0.0, self.jitter_beats))
        velocity = velocity + self.rng.gauss(0.0, self.velocity_spread)
        self.score.add(channel, start, length, pitch, velocity)
