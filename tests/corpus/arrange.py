"""Writes a whole piece in a style: drums, bass, chords and melody over a chord loop."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tests.corpus import drums
from tests.corpus.music import (
    Chord,
    bass_note,
    pitches_in_range,
    progression,
    scale_for,
    voicing,
)
from tests.corpus.score import DRUM_CHANNEL, Part, Performer, Score
from tests.corpus.styles import STYLES, Style

BASS, COMP, MELODY, PAD = 0, 1, 2, 3


@dataclass(frozen=True)
class Piece:
    """What a clip is asked to be; the arrangement fills in the rest from ``seed``."""
    style: str
    bpm: float
    tonic: int | None
    mode: str | None
    seconds: float
    seed: int


def swung(position: float, swing: bool) -> float:
    """Delays off-beat eighths to the third triplet in a swing feel."""
    if swing and abs(position % 1 - 0.5) < 1e-9:
        return position - 0.5 + 2 / 3
    return position


def arrange(piece: Piece) -> Score:
    style = STYLES[piece.style]
    rng = random.Random(piece.seed)
    score = Score(bpm=piece.bpm, meter=style.meter)
    bars = math.ceil((piece.seconds + 0.5) * piece.bpm / 60 / style.meter) + 1
    long_form = piece.seconds >= 60
    intro = rng.choice((0, 2, 4)) if long_form and style.grooves and style.pitched else 0
    breakdown_every = rng.choice((16, 24, 32)) if long_form and style.grooves and style.pitched else 0

    def drums_play(bar: int) -> bool:
        if bar < intro:
            return False
        return not (breakdown_every and bar >= breakdown_every and bar % breakdown_every < 4)

    if style.grooves:
        _write_drums(score, style, rng, bars, drums_play)
    if style.pitched:
        assert piece.tonic is not None and piece.mode is not None
        _write_harmony(score, style, rng, bars, piece.tonic, piece.mode, melody_from=intro)
    return score


def _write_drums(score: Score, style: Style, rng: random.Random, bars: int, plays) -> None:
    groove = rng.choice(style.grooves)
    busy = rng.random() < 0.5
    kit = rng.choice((0, 0, 8, 16, 24, 25, 32, 40))  # GM2 kits: standard, room, power, electronic, TR-808, jazz, brush
    score.parts.append(Part(DRUM_CHANNEL, kit, rng.uniform(0.75, 0.95), 0.5))
    player = Performer(score, rng, style.jitter_ms, 6.0)
    phrase = rng.choice((4, 8))
    for bar in range(bars):
        if not plays(bar):
            continue
        hits = drums.groove(groove, style.meter, bar, rng, busy)
        if bar % phrase == phrase - 1 and rng.random() < 0.7 and plays(bar + 1):
            beats = rng.choice((1, 1, 2))
            hits = [h for h in hits if h[0] < style.meter - beats or (h[1] == drums.KICK and h[0] == 0)]
            hits += drums.fill(style.meter, beats, rng)
        if bar % phrase == 0 and (bar > 0 or rng.random() < 0.5) and rng.random() < 0.8:
            hits.append((0.0, drums.CRASH, 100))
        for position, key, velocity in hits:
            player.play(DRUM_CHANNEL, bar * style.meter + position, 0.25, key, velocity)


def _write_harmony(score: Score, style: Style, rng: random.Random, bars: int, tonic: int, mode: str,
                   melody_from: int) -> None:
    chords = progression(mode, rng)
    bars_per_chord = rng.choice((1, 1, 2)) if score.bpm < 150 else rng.choice((1, 2, 2))
    meter = style.meter
    bass_style, comp_style = rng.choice(style.bass), rng.choice(style.comp)
    score.parts.append(Part(BASS, rng.choice(style.bass_programs), rng.uniform(0.7, 0.9), 0.5))
    score.parts.append(Part(COMP, rng.choice(style.comp_programs), rng.uniform(0.45, 0.7), rng.uniform(0.3, 0.7)))
    with_melody = rng.random() < 0.8
    if with_melody:
        melody = Part(MELODY, rng.choice(style.melody_programs), rng.uniform(0.5, 0.75), rng.uniform(0.35, 0.65))
        score.parts.append(melody)
    with_pad = comp_style != "pad" and rng.random() < 0.3
    if with_pad:
        score.parts.append(Part(PAD, rng.choice((48, 49, 89, 91, 52)), rng.uniform(0.3, 0.45), 0.5))
    bass = Performer(score, rng, style.jitter_ms, 7.0)
    comp = Performer(score, rng, style.jitter_ms * 1.3, 8.0)
    lead = Performer(score, rng, style.jitter_ms * 1.5, 9.0)
    previous: list[int] | None = None
    melody_pitch = rng.randrange(64, 76)
    for bar in range(bars):
        chord = chords[(bar // bars_per_chord) % len(chords)]
        following = chords[((bar + 1) // bars_per_chord) % len(chords)]
        start = bar * meter
        previous = voicing(chord, tonic, previous, 52, 76, rng, spread=comp_style in ("pad", "arpeggio"))
        for pos, length, pitch, vel in bass_bar(bass_style, chord, following, tonic, mode, meter, rng):
            bass.play(BASS, start + swung(pos, style.swing), length, pitch, vel)
        chord_tones = previous
        if comp_style == "power_eighths":  # root, fifth and octave, from the chord's root
            root = bass_note(tonic + chord.root, 40, 51)
            chord_tones = [root, root + 7, root + 12]
        for pos, length, pitches, vel in comp_bar(comp_style, chord_tones, meter, rng):
            for pitch in pitches:
                comp.play(COMP, start + swung(pos, style.swing), length, pitch, vel)
        if with_pad:
            for pitch in previous:
                score.add(PAD, start, meter, pitch, 70)
        if with_melody and bar >= melody_from and (bar // 4) % 3 != 2:
            scale = [(tonic + s) % 12 for s in scale_for(mode, chord)]
            for pos, length, pitch, vel in melody_bar(melody_pitch, chord.pitch_classes(tonic), scale, meter, rng):
                lead.play(MELODY, start + swung(pos, style.swing), length, pitch, vel)
                melody_pitch = pitch


def bass_bar(name: str, chord: Chord, following: Chord, tonic: int, mode: str, meter: int,
             rng: random.Random) -> list[tuple[float, float, int, float]]:
    root = bass_note(tonic + chord.root)
    fifth = root + 7
    octave = root + 12
    if name == "offbeat":
        return [(b + 0.5, 0.4, root, 100) for b in range(meter)]
    if name == "octaves":
        return [(i / 2, 0.4, root if i % 2 == 0 else octave, 95) for i in range(2 * meter)]
    if name == "eighths":
        notes = [(i / 2, 0.45, root, 100 if i % 2 == 0 else 85) for i in range(2 * meter)]
        if rng.random() < 0.4:
            notes[-1] = (meter - 0.5, 0.45, bass_note(tonic + following.root) - 1, 90)
        return notes
    if name == "root_fifth":
        return [(b, 0.9, root if b % 2 == 0 else fifth, 100) for b in range(meter)]
    if name == "sub":
        return [(0.0, 2.5, root, 110), (2.5, 1.4, root, 95)]
    if name == "sub_slides":
        return [(0.0, 1.4, root, 112), (1.5, 1.0, octave, 90), (2.75, 1.2, root, 100)]
    if name == "walking":
        target = bass_note(tonic + following.root)
        tones = sorted(pitches_in_range(chord.pitch_classes(tonic), root, root + 12))
        line = [root, rng.choice(tones[1:3]), rng.choice(tones[1:])]
        line.append(target + rng.choice((-1, 1)))
        return [(b, 0.9, line[b], 95 if b % 2 == 0 else 85) for b in range(meter)]
    if name == "waltz":
        return [(0.0, 0.9, root, 100)] if rng.random() < 0.5 else [(0.0, 0.9, root, 100), (2.0, 0.9, fifth, 80)]
    if name == "bossa":
        return [(0.0, 1.4, root, 95), (1.5, 0.45, fifth - 12 if fifth - 12 >= 28 else fifth, 80),
                (2.0, 1.4, fifth - 12 if fifth - 12 >= 28 else fifth, 90), (3.5, 0.45, root, 80)]
    if name == "tumbao":  # anticipates the next chord on the "and" of 2 and on 4
        nxt = bass_note(tonic + following.root)
        return [(1.5, 1.4, nxt, 100), (3.0, 0.9, nxt + 7 if nxt + 7 <= 47 else nxt - 5, 90)]
    if name == "whole":
        return [(0.0, meter - 0.1, root, 85)]
    if name == "halves":
        return [(0.0, meter / 2 - 0.1, root, 85), (meter / 2, meter / 2 - 0.1, rng.choice((root, fifth)), 78)]
    if name == "funk16":
        cells = [(0.0, 0.2, root, 110), (0.75, 0.2, octave, 90), (1.5, 0.2, root, 95), (2.0, 0.2, root, 100),
                 (2.5, 0.2, fifth, 90), (3.0, 0.2, octave, 95), (3.5, 0.2, root + 10, 85), (3.75, 0.2, root, 90)]
        return [c for c in cells if c[0] == 0.0 or rng.random() < 0.85]
    raise ValueError(f"unknown bass pattern {name!r}")


def comp_bar(name: str, chord: list[int], meter: int,
             rng: random.Random) -> list[tuple[float, float, list[int], float]]:
    if name == "offbeat_stabs":
        return [(b + 0.5, 0.3, chord, 90) for b in range(meter)]
    if name == "chops":
        return [(p, 0.2, chord, 88) for p in (0.0, 0.75, 1.5, 2.5, 3.25) if p < meter]
    if name in ("pad", "block"):
        return [(0.0, meter - 0.05, chord, 75 if name == "pad" else 80)]
    if name == "power_eighths":
        return [(i / 2, 0.45, chord, 100 if i % 2 == 0 else 85) for i in range(2 * meter)]
    if name == "strum":
        out = []
        for pos in (0.0, 1.0, 1.5, 2.5, 3.0, 3.5):
            if pos < meter:
                # a strum: strings a few milliseconds apart
                for k, pitch in enumerate(chord):
                    out.append((pos + 0.02 * k, 0.45, [pitch], 90 if pos % 1 == 0 else 75))
        return out
    if name == "arp16":
        return [(i / 4, 0.24, [chord[i % len(chord)] + (12 if i % 8 >= len(chord) else 0)], 80)
                for i in range(4 * meter)]
    if name == "stabs_sparse":
        return [(0.0, 0.5, chord, 95), (1.5, 0.5, chord, 85)]
    if name == "charleston":
        hits = [(0.0, 0.6, chord, 80), (1.5, 0.4, chord, 75)]
        if rng.random() < 0.5:
            hits.append((3.0, 0.5, chord, 70))
        return hits
    if name == "four_to_bar":
        return [(b, 0.8, chord, 72 if b % 2 == 0 else 66) for b in range(meter)]
    if name == "oompah":
        return [(b, 0.7, chord, 70) for b in range(1, meter)]
    if name == "arpeggio":
        tones = [*chord, chord[0] + 12]
        order = tones + tones[-2:0:-1]
        return [(i / 2, 1.2, [order[i % len(order)]], 70) for i in range(2 * meter)]
    if name == "bossa_guitar":
        return [(p / 4, 0.45, chord, 72) for p in (0, 3, 6, 10, 13) if p / 4 < meter]
    if name == "montuno":
        return [(p / 2, 0.4, [chord[p % len(chord)], chord[p % len(chord)] + 12], 80) for p in range(2 * meter)]
    if name == "funk_stabs":
        return [(p, 0.15, chord, 95) for p in (0.5, 1.25, 2.5, 3.75) if rng.random() < 0.8]
    raise ValueError(f"unknown comping pattern {name!r}")


RHYTHMS_4 = ((0, 1, 2, 3), (0, 1.5, 2, 3), (0, 0.5, 1, 2, 3), (0, 2), (0, 1, 1.5, 2.5, 3),
             (0, 0.5, 1, 1.5, 2, 3), (1, 2, 2.5, 3), (0,))
RHYTHMS_3 = ((0, 1, 2), (0, 2), (0, 1.5, 2), (0,), (0, 0.5, 1, 2))


def melody_bar(last: int, chord_pcs: list[int], scale: list[int], meter: int,
               rng: random.Random) -> list[tuple[float, float, int, float]]:
    onsets = list(rng.choice(RHYTHMS_3 if meter == 3 else RHYTHMS_4))
    chord_tones = pitches_in_range(chord_pcs, 62, 84)
    scale_tones = pitches_in_range(scale, 60, 86)
    notes = []
    pitch = last
    for i, pos in enumerate(onsets):
        end = onsets[i + 1] if i + 1 < len(onsets) else meter
        if pos % 1 == 0:  # strong positions land on chord tones near the line
            pitch = min(chord_tones, key=lambda p: (abs(p - pitch - rng.choice((-3, -1, 0, 2, 4))), p))
        else:
            idx = min(range(len(scale_tones)), key=lambda k: abs(scale_tones[k] - pitch))
            idx = max(0, min(len(scale_tones) - 1, idx + rng.choice((-2, -1, 1, 1, 2))))
            pitch = scale_tones[idx]
        notes.append((float(pos), (end - pos) * 0.9, pitch, rng.uniform(78, 100)))
    return notes
