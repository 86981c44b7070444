"""The evaluation corpus itself: its truth, its manifest, its determinism (tests/corpus)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace

import av
import numpy as np
import pytest
import soundfile as sf

from tests.corpus import GENERATOR_VERSION
from tests.corpus.arrange import COMP, MELODY, PAD, arrange
from tests.corpus.build import READY, build, is_ready, render_clip
from tests.corpus.music import HARMONIC_MINOR_SCALE, MAJOR_SCALE, NATURAL_MINOR_SCALE
from tests.corpus.plan import clip, full_plan, slice_plan
from tests.corpus.render import Renderer
from tests.corpus.scoring import (
    cents_between,
    key_score,
    tempo_octave_ok,
    tempo_ok,
    tuning_cents,
)

SR = 44100
MANIFEST_TYPES = {"id": str, "path": str, "style": str, "bpm": float, "meter": int, "tonic": (int, type(None)),
                  "mode": (str, type(None)), "tuning_hz": float, "has_drums": bool, "pitched": bool,
                  "seconds": float, "format": str}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _spec(style: str, seed: int, **overrides):
    return replace(clip(0, style, random.Random(seed)), **overrides)


def _decoded_seconds(path) -> float:
    if path.suffix == ".m4a":
        with av.open(str(path)) as container:
            return sum(f.samples for f in container.decode(audio=0)) / SR
    return sf.info(str(path)).duration


def test_the_manifest_has_the_agreed_schema_and_every_clip_decodes(tmp_path):
    specs = [_spec("latin", 1, id="000-latin", seconds=3.0, format="m4a", cents=25.0),
             _spec("drums_only", 2, id="001-drums_only", seconds=2.0, format="ogg"),
             _spec("waltz", 3, id="002-waltz", seconds=2.5, format="mp3"),
             _spec("ballad", 4, id="003-ballad", seconds=1.0, format="flac")]
    path = build(tmp_path, specs, workers=1)
    assert (tmp_path / READY).exists() and is_ready(tmp_path, specs)
    manifest = json.loads(path.read_text())
    assert manifest["generator"] == GENERATOR_VERSION
    assert [c["id"] for c in manifest["clips"]] == [s.id for s in specs]
    for entry, spec in zip(manifest["clips"], specs, strict=True):
        assert set(entry) == set(MANIFEST_TYPES)
        for key, kind in MANIFEST_TYPES.items():
            assert isinstance(entry[key], kind), (key, entry[key])
        assert entry["format"] == spec.format and entry["path"].endswith("." + spec.format)
        assert abs(_decoded_seconds(tmp_path / entry["path"]) - entry["seconds"]) < 0.1, entry["id"]
    latin, drums = manifest["clips"][0], manifest["clips"][1]
    assert latin["tuning_hz"] == pytest.approx(440 * 2 ** (25 / 1200), abs=1e-3) and latin["has_drums"]
    assert drums["tonic"] is None and drums["mode"] is None and not drums["pitched"] and drums["has_drums"]
    assert not manifest["clips"][3]["has_drums"]
    # a second build finds the corpus complete and renders nothing
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "clips").iterdir()}
    build(tmp_path, specs, workers=1)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "clips").iterdir()} == stamps


def test_the_full_plan_covers_what_the_issue_asks():
    specs = full_plan()
    assert len(specs) >= 200 and len({s.id for s in specs}) == len(specs)
    assert len({s.style for s in specs}) >= 8
    assert min(s.bpm for s in specs) < 66 and max(s.bpm for s in specs) > 184
    assert all(60 <= s.bpm <= 190 for s in specs if s.style != "ballad") and min(s.bpm for s in specs) >= 58
    assert min(s.seconds for s in specs) <= 1.0 and max(s.seconds for s in specs) >= 360.0
    assert {s.format for s in specs} == {"mp3", "ogg", "flac", "m4a"}
    pitched = [s for s in specs if s.tonic is not None]
    detuned = [s for s in pitched if s.cents]
    assert 0.25 < len(detuned) / len(pitched) < 0.42
    assert all(abs(s.cents) >= 10 and 430 <= s.tuning_hz <= 452 for s in detuned)
    assert {s.mode for s in pitched} == {"major", "minor"} and len({s.tonic for s in pitched}) == 12
    assert {s.meter for s in specs} == {3, 4}


def test_minor_keys_use_the_raised_leading_tone_of_harmonic_minor():
    minor = [s for s in full_plan() if s.mode == "minor" and s.seconds >= 10][:30]
    with_leading_tone = 0
    for spec in minor:
        notes = arrange(spec.piece()).notes
        # chords, melody and pad (the bass may pass chromatically, as walking bass does)
        classes = {(n.pitch - spec.tonic) % 12 for n in notes if n.channel in (COMP, MELODY, PAD)}
        assert classes <= set(NATURAL_MINOR_SCALE) | {11}, spec.id
        with_leading_tone += 11 in classes
    assert with_leading_tone / len(minor) > 0.5


def test_plans_scores_and_audio_are_deterministic(renderer):
    assert full_plan() == full_plan() and slice_plan() == slice_plan()
    assert full_plan(seed=1) != full_plan()
    spec = _spec("funk", 7, seconds=3.0, cents=-20.0)
    assert arrange(spec.piece()).notes == arrange(spec.piece()).notes
    first, second = render_clip(renderer, spec), render_clip(renderer, spec)
    assert first.shape == (round(3.0 * SR), 2) and np.array_equal(first, second)
    assert np.abs(first).max() < 1.0 and np.sqrt(np.mean(first ** 2)) > 0.03


def _onset_envelope(mono: np.ndarray, hop: int = 256, n_fft: int = 1024) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop] * np.hanning(n_fft)
    mag = np.log1p(100 * np.abs(np.fft.rfft(frames, axis=1)))
    return np.concatenate([[0.0], np.maximum(np.diff(mag, axis=0), 0).sum(axis=1)])


@pytest.mark.parametrize("style,seed", [("drums_only", 11), ("rock", 12), ("half_time", 13), ("swing", 14)])
def test_the_rendered_onsets_fall_where_the_score_puts_them(renderer, style, seed):
    spec = _spec(style, seed, seconds=8.0)
    score = arrange(spec.piece())
    audio = render_clip(renderer, spec).mean(axis=1)
    hop = 256
    env = _onset_envelope(audio, hop)

    def frame_of(t: float) -> int:  # the frame whose window centre reaches time t
        return round(t * SR / hop) - 2

    truth = sorted({spec.lead_in + n.start * 60 / spec.bpm for n in score.notes
                    if spec.lead_in + n.start * 60 / spec.bpm < spec.seconds - 0.1})
    # the strongest onsets in the audio: local maxima well above the median
    peaks = [i for i in range(1, len(env) - 1)
             if env[i] >= env[i - 1] and env[i] > env[i + 1] and env[i] > 4 * np.median(env)]
    strong = sorted(peaks, key=lambda i: -env[i])[: max(4, len(peaks) // 2)]
    near = [min(abs(i - frame_of(t)) for t in truth) <= 3 for i in strong]  # within 17 ms
    assert sum(near) / len(near) > 0.9, f"{style}: onsets in the audio that no score note explains"
    # and at the score's tempo, not a slightly different one: beat-grid energy beats a 2 % wrong grid
    def grid_energy(bpm: float) -> float:
        beats = np.arange(spec.lead_in, spec.seconds - 0.1, 60 / bpm)
        return float(np.mean([env[max(0, frame_of(b) - 2):frame_of(b) + 3].max() for b in beats]))
    assert grid_energy(spec.bpm) > 1.3 * max(grid_energy(spec.bpm * 1.02), grid_energy(spec.bpm * 0.98))


@pytest.mark.parametrize("tonic,mode,cents", [(9, "minor", 40.0), (2, "major", -30.0), (6, "minor", 0.0)])
def test_the_rendered_pitches_are_in_the_key_at_the_stated_tuning(renderer, tonic, mode, cents):
    spec = _spec("ballad", 20 + tonic, seconds=8.0, tonic=tonic, mode=mode, cents=cents)
    audio = render_clip(renderer, spec).mean(axis=1)
    n = 16384
    frames = np.lib.stride_tricks.sliding_window_view(audio, n)[:: n // 2] * np.hanning(n)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = (freqs > 150) & (freqs < 1500)  # above the bass, where neighbouring notes resolve
    peaks = [i for i in np.flatnonzero(band) if power[i] > power[i - 1] and power[i] >= power[i + 1]
             and power[i] > 1e-3 * power[band].max()]
    # parabolic interpolation for the peak frequencies
    def peak_hz(i: int) -> float:
        a, b, c = np.log(power[i - 1:i + 2])
        return float(freqs[i] + 0.5 * (a - c) / (a - 2 * b + c) * (freqs[1] - freqs[0]))
    hz = np.array([peak_hz(i) for i in peaks])
    weight = np.array([power[i] for i in peaks])
    tuning = 440 * 2 ** (cents / 1200)
    deviation = np.array([cents_between(f, tuning) for f in hz])
    off_440 = np.array([cents_between(f, 440.0) for f in hz])
    assert np.average(np.abs(deviation), weights=weight) < 8.0
    if cents:
        assert abs(np.average(off_440, weights=weight) - cents) < 8.0
    classes = np.round(12 * np.log2(hz / tuning)).astype(int) % 12
    scale = set(MAJOR_SCALE if mode == "major" else NATURAL_MINOR_SCALE + HARMONIC_MINOR_SCALE)
    # classes count from A (the tuning note); the scale from the tonic
    def share_in(key: int) -> float:
        return sum(w for pc, w in zip(classes, weight, strict=True) if (pc + 9 - key) % 12 in scale) / weight.sum()
    assert share_in(tonic) > 0.8 and share_in(tonic) >= max(share_in(k) for k in range(12)) - 1e-9


def test_scoring_follows_mirex_and_the_octave_rule():
    assert key_score(9, "minor", 9, "minor") == 1.0
    assert key_score(4, "minor", 9, "minor") == 0.5  # a fifth above
    # a fifth below too: MIREX's evaluation does not tell fifths from fourths (mir_eval's
    # allow_descending_fifths=True; its default credits only the fifth above)
    assert key_score(2, "minor", 9, "minor") == 0.5
    assert key_score(4, "major", 9, "minor") == 0.0 and key_score(11, "minor", 9, "minor") == 0.0
    assert key_score(0, "major", 9, "minor") == 0.3 and key_score(9, "minor", 0, "major") == 0.3
    assert key_score(9, "major", 9, "minor") == 0.2
    assert key_score(None, None, 9, "minor") == 0.0 and key_score(5, "major", 9, "minor") == 0.0
    assert tempo_ok(124.0, 120.0) and not tempo_ok(125.0, 120.0) and not tempo_ok(None, 120.0)
    assert tempo_octave_ok(70.0, 140.0) and tempo_octave_ok(42.0, 126.0) and tempo_octave_ok(236.0, 120.0)
    assert not tempo_octave_ok(90.0, 120.0)
    assert cents_between(452.0, 440.0) == pytest.approx(46.6, abs=0.1)
    assert cents_between(440.0 * 2 ** (60 / 1200), 440.0) == pytest.approx(-40.0)
    assert tuning_cents(430.0) == pytest.approx(1200 * math.log2(430 / 440))
