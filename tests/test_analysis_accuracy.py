"""Accuracy on synthesised music with known tempo and key; fails if it regresses.

28 clips of 16 s, written as FLAC and analysed through the real decoder:
tempi 70..180 BPM, every key, major and minor, with drums and without.
Run with -s to see the figures. Sines are easy: the key profile is chosen on the
rendered corpus (tests/bench/bench_accuracy.py), not here.
"""

from __future__ import annotations

import pytest

from enrich.analysis.key import PITCH_CLASSES
from enrich.analysis.settings import AnalysisConfig
from enrich.analysis.worker import analyse
from fixtures.synth import KEYS
from tests.test_analysis_audio import music, write_audio

TEMPI = [70, 78, 85, 92, 100, 108, 115, 124, 132, 140, 150, 160, 170, 180]
OCTAVES = (0.5, 2.0, 1 / 3, 3.0)


def cases():
    out = []
    for _i, tempo in enumerate(TEMPI):
        for drums in (True, False):
            n = len(out)
            out.append(dict(tempo=float(tempo), key=KEYS[(5 * n) % 12], mode=("major", "minor")[(n // 2 + n) % 2],
                            drums=drums, seed=n))
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("accuracy")
    settings = AnalysisConfig()
    found = []
    for n, case in enumerate(cases()):
        path = write_audio(folder / f"{n:02d}.flac", music(seconds=16, sr=44100, stereo=True, **case), 44100)
        found.append((case, analyse(str(path), settings)))
    return found


def within(got, want, tolerance=0.02):
    return got is not None and abs(got / want - 1) <= tolerance


def test_the_clips_cover_the_ground():
    c = cases()
    assert len(c) == 28 and {x["mode"] for x in c} == {"major", "minor"}
    assert len({x["key"] for x in c}) == 12 and sum(x["drums"] for x in c) == 14
    assert min(x["tempo"] for x in c) == 70 and max(x["tempo"] for x in c) == 180


def test_tempo_and_key_accuracy(results):
    n = len(results)
    tempo_ok = sum(within(f.tempo, c["tempo"]) for c, f in results)
    octave = sum(not within(f.tempo, c["tempo"]) and any(within(f.tempo, c["tempo"] * r) for r in OCTAVES)
                 for c, f in results)
    key_ok = sum(f.key_pc == KEYS.index(c["key"]) and f.mode == c["mode"] for c, f in results)
    misses = [(c["tempo"], c["key"], c["mode"], c["drums"], f.tempo, f.key_pc and PITCH_CLASSES[f.key_pc], f.mode)
              for c, f in results if not within(f.tempo, c["tempo"]) or f.key_pc != KEYS.index(c["key"])
              or f.mode != c["mode"]]
    print(f"\ntempo within 2 %: {tempo_ok}/{n} ({100 * tempo_ok / n:.0f} %); octave errors: {octave}")
    print(f"key exactly right: {key_ok}/{n} ({100 * key_ok / n:.0f} %)")
    for miss in misses:
        print("  miss:", miss)
    assert tempo_ok / n >= 0.95, misses
    assert key_ok / n >= 0.90, misses
