"""Drum grooves and fills on the General MIDI percussion map, one bar at a time."""

from __future__ import annotations

import random

KICK, RIM, SNARE, CLAP = 36, 37, 38, 39
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
CRASH, RIDE, RIDE_BELL = 49, 51, 53
TAMBOURINE, COWBELL, CABASA, MARACAS, CLAVES = 54, 56, 69, 70, 75
CONGA_SLAP, CONGA_OPEN, CONGA_LOW = 62, 63, 64
TOMS = (50, 48, 47, 45, 43, 41)  # high to low

Hit = tuple[float, int, float]  # (beat within the bar, drum key, velocity)

GROOVES = ("four_on_floor", "rock", "half_time", "trap", "swing", "shuffle", "waltz", "bossa",
           "tumbao", "funk", "dnb")


def _every(step: float, beats: int, key: int, velocity: float, accent: float = 0.0) -> list[Hit]:
    count = round(beats / step)
    return [(i * step, key, velocity + (accent if (i * step) % 1 == 0 else 0.0)) for i in range(count)]


def groove(name: str, meter: int, bar: int, rng: random.Random, busy: bool) -> list[Hit]:
    """One bar of the named groove; ``bar`` lets two-bar patterns alternate, ``busy`` adds 16ths."""
    hits: list[Hit] = []
    if name == "four_on_floor":
        hits += [(b, KICK, 112) for b in range(meter)]
        hits += [(1.0, CLAP, 100), (3.0, CLAP, 100)]
        hits += [(b + 0.5, OPEN_HAT, 80) for b in range(meter)]
        if busy:
            hits += [(i / 4, CLOSED_HAT, 48) for i in range(4 * meter) if i % 2 == 1 and i % 4 != 2]
            hits += _every(0.25, meter, MARACAS, 40, accent=10)
    elif name == "rock":
        hits += [(0.0, KICK, 110), (2.0, KICK, 105)]
        if busy or bar % 2:
            hits += [(2.5, KICK, 95)]
        hits += [(1.0, SNARE, 112), (3.0, SNARE, 115)]
        cymbal = RIDE if bar // 8 % 2 and busy else CLOSED_HAT
        hits += _every(0.5, meter, cymbal, 70, accent=18)
    elif name == "half_time":  # dubstep-like: kick on 1, snare on 3
        hits += [(0.0, KICK, 120), (2.0, SNARE, 122), (2.0, CLAP, 90)]
        if bar % 2:
            hits += [(3.5, KICK, 100)] if busy else [(1.5, KICK, 95)]
        hits += _every(0.5, meter, CLOSED_HAT, 62, accent=14)
    elif name == "trap":  # kick on 1, snare/clap on 3, rolling hats with triplet bursts
        hits += [(0.0, KICK, 120), (0.75, KICK, 95), (2.0, SNARE, 118), (2.0, CLAP, 105)]
        if bar % 2:
            hits += [(3.25, KICK, 100)]
        hits += _every(0.25 if busy else 0.5, meter, CLOSED_HAT, 60, accent=16)
        if rng.random() < 0.5:  # a hat roll into the next bar
            hits += [(3.0 + i / 6, CLOSED_HAT, 55 + 5 * i) for i in range(6)]
    elif name == "swing":  # jazz: spang-a-lang ride, hat on 2 and 4, feathered kick
        for b in range(meter):
            hits.append((b, RIDE, 85 if b % 2 else 75))
            if b % 2:
                hits.append((b + 2 / 3, RIDE, 62))
                hits.append((b, PEDAL_HAT, 75))
            hits.append((b, KICK, 38))
        for _ in range(2 if busy else 1):  # snare comping on a swung eighth
            hits.append((rng.randrange(meter) + rng.choice((0.0, 2 / 3)), SNARE, rng.uniform(40, 70)))
    elif name == "shuffle":  # blues/rock shuffle: triplet hats, backbeat
        hits += [(0.0, KICK, 108), (2.0, KICK, 100), (1.0, SNARE, 110), (3.0, SNARE, 112)]
        for b in range(meter):
            hits += [(b, CLOSED_HAT, 82), (b + 2 / 3, CLOSED_HAT, 64)]
        if busy:
            hits += [(2 + 2 / 3, KICK, 85)]
    elif name == "waltz":  # 3/4
        hits += [(0.0, KICK, 105), (1.0, SNARE, 70), (2.0, SNARE, 74)]
        hits += _every(0.5 if busy else 1.0, meter, CLOSED_HAT if busy else RIDE, 60, accent=12)
        if bar % 4 == 3:
            hits += [(2.5, KICK, 80)]
    elif name == "bossa":  # bossa nova: dotted kick, cross-stick clave, shaker
        hits += [(0.0, KICK, 90), (1.5, KICK, 72), (2.0, KICK, 88), (3.5, KICK, 72)]
        clave = (0.0, 1.5, 3.0) if bar % 2 == 0 else (1.0, 2.5)
        hits += [(c, RIM, 92) for c in clave]
        hits += _every(0.25 if busy else 0.5, meter, MARACAS if busy else CLOSED_HAT, 45, accent=15)
    elif name == "tumbao":  # latin: congas' tumbao, cowbell, kick on the "and" of 2 and on 4
        hits += [(1.5, KICK, 92), (3.0, KICK, 96)]
        hits += [(1.0, CONGA_SLAP, 90), (3.0, CONGA_OPEN, 95), (3.5, CONGA_OPEN, 90), (2.0, CONGA_LOW, 70)]
        hits += [(b, COWBELL, 78 if b % 2 == 0 else 66) for b in range(meter)]
        hits += [(0.0, CLAVES, 80), (1.5, CLAVES, 80), (3.0, CLAVES, 80)] if bar % 2 == 0 else \
            [(1.0, CLAVES, 80), (2.0, CLAVES, 80)]
        if busy:
            hits += _every(0.25, meter, CABASA, 42, accent=12)
    elif name == "funk":  # syncopated kick, backbeat with ghost notes, 16th hats
        hits += [(0.0, KICK, 112), (0.75, KICK, 92), (2.5, KICK, 100), (3.25, KICK, 90)]
        hits += [(1.0, SNARE, 115), (3.0, SNARE, 115), (1.75, SNARE, 34), (2.25, SNARE, 32), (3.75, SNARE, 38)]
        hits += _every(0.25, meter, CLOSED_HAT, 55, accent=20)
        if bar % 4 == 3:
            hits += [(3.5, OPEN_HAT, 80)]
    elif name == "dnb":  # drum and bass two-step
        hits += [(0.0, KICK, 118), (2.5, KICK, 108), (1.0, SNARE, 120), (3.0, SNARE, 118)]
        if busy:
            hits += [(1.75, SNARE, 45), (3.5, SNARE, 40)]
        hits += _every(0.5, meter, CLOSED_HAT, 60, accent=10)
        hits += [(b, RIDE, 55) for b in range(meter)] if bar % 8 >= 4 else []
    else:
        raise ValueError(f"unknown groove {name!r}")
    return [h for h in hits if h[0] < meter]


def fill(meter: int, beats: int, rng: random.Random) -> list[Hit]:
    """A fill over the last ``beats`` beats of a bar: 16ths (or triplets) down the toms."""
    division = rng.choice((4, 4, 3))
    count = beats * division
    start = meter - beats
    toms = [TOMS[min(len(TOMS) - 1, i * len(TOMS) // count)] for i in range(count - count // 3)]
    drums = [SNARE] * (count // 3) + toms
    hits: list[Hit] = []
    for i in range(count):
        if rng.random() < 0.15:
            continue
        hits.append((start + i / division, drums[i], 75 + 40 * i / count))
    hits.append((start, KICK, 100))
    return hits
