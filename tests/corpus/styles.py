"""The styles of the corpus: tempo range, meter, grooves and the instruments each uses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    name: str
    bpm: tuple[float, float]
    meter: int
    grooves: tuple[str, ...]  # empty: no drums
    pitched: bool = True
    bass: tuple[str, ...] = ()
    comp: tuple[str, ...] = ()
    bass_programs: tuple[int, ...] = ()
    comp_programs: tuple[int, ...] = ()
    melody_programs: tuple[int, ...] = ()
    swing: bool = False
    jitter_ms: float = 4.0
    minor_share: float = 0.5


STYLES: dict[str, Style] = {s.name: s for s in (
    Style("four_on_floor", (115, 132), 4, ("four_on_floor",),
          bass=("offbeat", "octaves"), comp=("offbeat_stabs", "pad", "chops"),
          bass_programs=(38, 39, 33), comp_programs=(4, 5, 81, 89, 90, 16, 0),
          melody_programs=(80, 81, 11, 0, 98), jitter_ms=1.5),
    Style("rock", (88, 172), 4, ("rock",),
          bass=("eighths", "root_fifth"), comp=("power_eighths", "strum", "block"),
          bass_programs=(33, 34, 32), comp_programs=(29, 30, 25, 27, 0, 1),
          melody_programs=(29, 30, 56, 65, 73, 81), jitter_ms=5.0),
    Style("half_time", (130, 152), 4, ("half_time", "trap"),
          bass=("sub", "sub_slides"), comp=("pad", "arp16", "stabs_sparse"),
          bass_programs=(38, 39, 87), comp_programs=(89, 90, 95, 81, 0, 88, 48),
          melody_programs=(80, 81, 10, 11, 46, 98), jitter_ms=1.5, minor_share=0.8),
    Style("swing", (96, 190), 4, ("swing", "shuffle"),
          bass=("walking",), comp=("charleston", "four_to_bar"),
          bass_programs=(32, 33), comp_programs=(0, 26, 4, 17, 11),
          melody_programs=(65, 66, 56, 73, 11, 64), swing=True, jitter_ms=8.0),
    Style("waltz", (84, 180), 3, ("waltz",),
          bass=("waltz",), comp=("oompah", "arpeggio"),
          bass_programs=(32, 33, 43), comp_programs=(0, 21, 48, 24, 46),
          melody_programs=(40, 73, 71, 21, 22, 68), jitter_ms=7.0),
    Style("latin", (108, 190), 4, ("bossa", "tumbao"),
          bass=("bossa", "tumbao"), comp=("bossa_guitar", "montuno"),
          bass_programs=(32, 33, 35), comp_programs=(24, 0, 4, 25),
          melody_programs=(73, 65, 11, 56, 22, 12), jitter_ms=5.0),
    Style("ballad", (58, 92), 4, (),
          bass=("whole", "halves"), comp=("arpeggio", "pad", "block"),
          bass_programs=(32, 42, 48, 0), comp_programs=(0, 1, 48, 49, 89, 46, 4),
          melody_programs=(40, 73, 68, 71, 0, 52, 42), jitter_ms=12.0),
    Style("funk", (88, 118), 4, ("funk",),
          bass=("funk16",), comp=("funk_stabs",),
          bass_programs=(36, 37, 33), comp_programs=(7, 27, 28, 4, 61),
          melody_programs=(61, 56, 65, 81), jitter_ms=3.0),
    Style("dnb", (164, 180), 4, ("dnb",),
          bass=("sub",), comp=("pad", "arp16"),
          bass_programs=(38, 39), comp_programs=(89, 90, 4, 95),
          melody_programs=(80, 81, 4), jitter_ms=1.5, minor_share=0.75),
    Style("drums_only", (60, 190), 4, ("four_on_floor", "rock", "half_time", "trap", "funk", "dnb",
                                       "bossa", "tumbao", "shuffle"),
          pitched=False, jitter_ms=3.0),
)}
