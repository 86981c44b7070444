"""The fixture synthesiser: deterministic, in range, and musically what it says."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.synth import KEYS, render


def test_same_arguments_same_samples_and_seed_changes_them():
    a = render(tempo=120, key="E", mode="minor", seconds=6, seed=3)
    b = render(tempo=120, key="E", mode="minor", seconds=6, seed=3)
    c = render(tempo=120, key="E", mode="minor", seconds=6, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("sr, seconds", [(22050, 5.0), (44100, 2.5), (8000, 3.0)])
def test_float32_mono_in_range_of_the_asked_length(sr, seconds):
    y = render(tempo=95, key="C", mode="major", seconds=seconds, sr=sr)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == round(seconds * sr)
    assert np.abs(y).max() <= 1.0 and np.abs(y).max() > 0.5


def test_drums_add_highs_and_a_kick():
    sr = 22050

    def share(y, lo, hi):
        power = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(y), 1 / sr)
        return power[(freqs >= lo) & (freqs < hi)].sum() / power.sum()

    with_drums = render(tempo=100, key="G", mode="major", seconds=5, sr=sr, drums=True)
    without = render(tempo=100, key="G", mode="major", seconds=5, sr=sr, drums=False)
    assert share(with_drums, 5000, 11025) > 10 * share(without, 5000, 11025)  # hats and snare
    assert share(with_drums, 40, 75) > 2 * share(without, 40, 75)  # the kick's falling sine


@pytest.mark.parametrize("key, mode, third", [("A", "minor", 0), ("C", "major", 4), ("F#", "minor", 9), ("D", "major", 6)])
def test_the_tonic_triad_dominates_the_pitch_content(key, mode, third):
    """Energy per pitch class: the tonic is the strongest class and the mode's third beats the other third."""
    sr = 22050
    y = render(tempo=110, key=key, mode=mode, seconds=10, sr=sr, drums=False).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    keep = (freqs > 50) & (freqs < 2000)
    pcs = np.round(69 + 12 * np.log2(freqs[keep] / 440.0)).astype(int) % 12
    energy = np.bincount(pcs, weights=spectrum[keep], minlength=12)
    tonic = KEYS.index(key)
    assert np.argmax(energy) == tonic
    major_third, minor_third = (tonic + 4) % 12, (tonic + 3) % 12
    if mode == "major":
        assert energy[major_third] > energy[minor_third]
    else:
        assert energy[minor_third] > energy[major_third]


def test_onsets_fall_on_the_beat():
    sr, tempo = 22050, 120
    y = render(tempo=tempo, key="C", mode="major", seconds=8, sr=sr, drums=True)
    frame = 256
    energy = np.add.reduceat(y.astype(np.float64) ** 2, np.arange(0, len(y), frame))
    rise = np.maximum(0, np.diff(energy))
    beat_frames = np.round(np.arange(1, 15) * 60 / tempo * sr / frame).astype(int)
    on_beat = rise[np.clip(beat_frames - 1, 0, len(rise) - 1)].mean()
    assert on_beat > 5 * np.median(rise)


@pytest.mark.parametrize("kwargs", [dict(key="H"), dict(mode="dorian"), dict(tempo=0), dict(seconds=0)])
def test_bad_arguments_are_refused(kwargs):
    args = dict(tempo=120, key="C", mode="major", seconds=1.0) | kwargs
    with pytest.raises(ValueError):
        render(**args)
