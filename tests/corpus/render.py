"""Renders a score through a General MIDI soundfont (tinysoundfont), then a room and a master."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
from scipy.signal import oaconvolve

from tests.corpus.score import Score

SAMPLE_RATE = 44100

# Debian's fluid-soundfont-gm (FluidR3_GM, MIT licence); .ci/run installs it when missing.
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)


class NoSoundfont(RuntimeError):
    """No General MIDI soundfont on this machine."""


def find_soundfont() -> Path:
    """The soundfont to render with: $ENRICH_SOUNDFONT, else FluidR3_GM where Debian puts it."""
    chosen = os.environ.get("ENRICH_SOUNDFONT")
    for candidate in ((chosen,) if chosen else SOUNDFONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise NoSoundfont("no General MIDI soundfont: `apt-get install fluid-soundfont-gm` "
                      "(or set ENRICH_SOUNDFONT to an .sf2 file)")


class Renderer:
    """One loaded soundfont (loading takes about a second), reused for many scores."""

    def __init__(self, soundfont: Path | None = None, sample_rate: int = SAMPLE_RATE):
        import tinysoundfont._tinysoundfont as tsf  # a test dependency only

        self._tsf = tsf
        self.sample_rate = sample_rate
        self.font = tsf.SoundFont(str(soundfont or find_soundfont()))
        self.font.set_output(tsf.OutputMode.StereoInterleaved, sample_rate, -8.0)
        self.font.set_max_voices(256)

    def _silence(self) -> None:
        """Ends every voice of the previous score: reset() alone leaves them sounding."""
        scratch = np.zeros((self.sample_rate // 10, 2), dtype=np.float32)
        for _ in range(100):
            for channel in range(16):
                self.font.channel_sounds_off(channel)
            self.font.render(memoryview(scratch).cast("B"), False)
            if not scratch.any():
                break
        self.font.reset()

    def render(self, score: Score, seconds: float, cents: float, lead_in: float) -> np.ndarray:
        """The score's first ``seconds`` (after ``lead_in`` s of silence) as float32 stereo, dry.

        ``cents`` detunes every pitched channel, so A4 sounds at 440 * 2**(cents/1200) Hz
        while the tempo stays exactly the score's.
        """
        font = self.font
        self._silence()
        for part in score.parts:
            if part.is_drums:
                font.channel_set_bank(part.channel, 128)
                font.channel_set_preset_number(part.channel, part.program, True)
            else:
                font.channel_set_bank(part.channel, 0)
                font.channel_set_preset_number(part.channel, part.program, False)
                font.channel_set_tuning(part.channel, cents / 100.0)
            font.channel_set_volume(part.channel, part.volume)
            font.channel_set_pan(part.channel, part.pan)
        spb = score.seconds_per_beat()
        total = round(seconds * self.sample_rate)
        events: list[tuple[int, int, int, int, float]] = []  # (frame, order, channel, key, velocity)
        for note in score.notes:
            on = round((lead_in + note.start * spb) * self.sample_rate)
            if on >= total:
                continue
            events.append((on, 1, note.channel, note.pitch, note.velocity / 127.0))
            if note.channel != 9:  # drum samples play out by themselves
                off = round((lead_in + (note.start + note.length) * spb) * self.sample_rate)
                events.append((max(off, on + 1), 0, note.channel, note.pitch, 0.0))
        events.sort()
        out = np.zeros((total, 2), dtype=np.float32)
        position = 0
        for frame, order, channel, key, velocity in events:
            if frame >= total:
                break
            if frame > position:
                font.render(memoryview(out[position:frame]).cast("B"), False)
                position = frame
            if order:
                font.channel_note_on(channel, key, velocity)
            else:
                font.channel_note_off(channel, key)
        if position < total:
            font.render(memoryview(out[position:total]).cast("B"), False)
        return out


def room(audio: np.ndarray, sample_rate: int, rng: random.Random) -> np.ndarray:
    """Adds a synthetic room (decaying noise), then levels and soft-limits like a master."""
    decay = rng.uniform(0.4, 1.6)  # RT60 in seconds
    wet = rng.uniform(0.06, 0.25)
    n = int(decay * sample_rate)
    noise_rng = np.random.default_rng(rng.randrange(2**32))
    envelope = np.exp(-6.9 * np.arange(n) / n).astype(np.float32)
    ir = noise_rng.standard_normal((n, 2)).astype(np.float32) * envelope[:, None]
    ir /= np.sqrt((ir ** 2).sum(axis=0, keepdims=True))
    tail = np.stack([oaconvolve(audio[:, c], ir[:, c])[: len(audio)] for c in range(2)], axis=1)
    mixed = (1 - wet) * audio + wet * tail.astype(np.float32)
    rms = float(np.sqrt(np.mean(mixed ** 2))) or 1.0
    target = 10 ** (rng.uniform(-20.0, -13.0) / 20)
    mixed *= target / rms
    return np.tanh(mixed * 1.1) / np.tanh(1.1)  # gentle limiting keeps peaks below full scale


def fade(audio: np.ndarray, sample_rate: int, seconds: float = 0.05) -> np.ndarray:
    n = min(len(audio), int(seconds * sample_rate))
    if n:
        audio[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]
    return audio
