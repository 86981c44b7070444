"""Pure feature functions over plain arrays: tempo, key, Camelot, loudness, spectral shape, the vector."""

from __future__ import annotations

import numpy as np
import pytest

from enrich.analysis.decode import Audio
from enrich.analysis.features import extract
from enrich.analysis.featureset import NAMES, VERSION
from enrich.analysis.key import (
    BASS_PROFILES,
    PITCH_CLASSES,
    PROFILES,
    camelot,
    estimate_key,
    tonality,
)
from enrich.analysis.loudness import integrated_loudness
from enrich.analysis.pitch import (
    Peaks,
    PitchProfile,
    Tuning,
    estimate_tuning,
    pitch_profile,
    spectral_peaks,
)
from enrich.analysis.spectral import centroid, flatness, rolloff, zero_crossing_rates
from enrich.analysis.spectrum import N_FFT, Spectrum
from enrich.analysis.tempo import estimate_tempo
from tests.test_analysis_audio import music

SR = 22050


def tone(freq, seconds=3.0, amp=0.5, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def clicks(bpm, seconds=20.0, sr=SR, accent_every=0, offbeat=0.0):
    """A click on every beat (optionally accented bars, optional off-beat clicks)."""
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    period = 60.0 / bpm
    burst = np.hanning(64).astype(np.float32) * np.sin(np.arange(64) * 0.7).astype(np.float32)
    for i, t in enumerate(np.arange(0, seconds - 0.1, period)):
        gain = 1.0 if not accent_every or i % accent_every else 1.5
        s = int(t * sr)
        y[s:s + 64] += gain * burst
        if offbeat:
            o = int((t + period / 2) * sr)
            y[o:o + 64] += offbeat * burst[: len(y[o:o + 64])]
    return y


# ---------------------------------------------------------------- Camelot

@pytest.mark.parametrize("pc, mode, code", [
    (0, "major", "8B"), (9, "minor", "8A"), (7, "major", "9B"), (4, "minor", "9A"), (11, "major", "1B"),
    (8, "minor", "1A"), (6, "major", "2B"), (1, "minor", "12A"), (4, "major", "12B"), (2, "major", "10B"),
    (0, "minor", "5A"), (5, "major", "7B"),
])
def test_camelot(pc, mode, code):
    assert camelot(pc, mode) == code


def test_camelot_neighbours_are_a_fifth_apart():
    for pc in range(12):
        here, up = int(camelot(pc, "major")[:-1]), int(camelot((pc + 7) % 12, "major")[:-1])
        assert (here % 12) + 1 == up
        assert camelot(pc, "major")[:-1] == camelot((pc + 9) % 12, "minor")[:-1]  # relative minor shares the number


# ---------------------------------------------------------------- key

def evidence(treble, bass=None, tonal=0.9, clarity=0.8):
    bass = np.zeros(12) if bass is None else np.asarray(bass, float)
    return PitchProfile(np.asarray(treble, dtype=float), bass, tonal, clarity)


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("tonic", [0, 3, 7, 10])
@pytest.mark.parametrize("mode", ["major", "minor"])
def test_each_profile_finds_its_own_key(profile, tonic, mode):
    weights = np.roll(PROFILES[profile][mode == "minor"], tonic)
    bass = np.roll(BASS_PROFILES.get(profile, PROFILES[profile])[mode == "minor"], tonic)
    key = estimate_key(evidence(weights, bass), profile)
    assert (key.pc, key.mode) == (tonic, mode) and key.confidence > 0.5 and key.strength == pytest.approx(1.0)


@pytest.mark.parametrize("chroma", [np.zeros(12), np.ones(12), np.full(12, np.nan), np.ones(5)])
def test_no_key_without_pitch_content(chroma):
    key = estimate_key(evidence(chroma))
    assert key.pc is None and key.camelot is None and key.confidence == 0.0 and key.strength is None


@pytest.mark.parametrize("tonal, clarity", [(0.52, 0.8), (0.9, 0.3)])
def test_no_key_when_the_peaks_are_off_the_semitone_grid(tonal, clarity):
    # A perfect C major profile, but from peaks scattered like noise's, or not on
    # one tuning (a gliding voice): no key, yet a strength.
    key = estimate_key(evidence(np.asarray(PROFILES["edma"][0]), tonal=tonal, clarity=clarity), "edma")
    assert key.pc is None and key.mode is None and key.strength == pytest.approx(1.0)


def test_no_key_when_no_profile_fits():
    chroma = np.zeros(12)
    chroma[[0, 2, 4, 6, 8, 10]] = 1.0  # a whole-tone scale: every note equally far from every key
    key = estimate_key(evidence(chroma), "edma")
    assert key.pc is None and key.strength is not None and key.strength < 0.3


def test_the_bass_decides_between_relative_keys():
    # The treble holds C major / A minor's seven notes evenly; the bass sits on A.
    treble = np.zeros(12)
    treble[[0, 2, 4, 5, 7, 9, 11]] = 1.0
    bass = np.zeros(12)
    bass[[9, 4]] = (3.0, 1.0)
    key = estimate_key(evidence(treble / 7, bass / 4))
    assert (PITCH_CLASSES[key.pc], key.mode) == ("A", "minor")


def test_pitch_profile_weights_quiet_and_loud_frames_alike():
    # Frame 0: a loud C5; frame 1: a quiet G5, 40 dB down. Both count alike.
    peaks = Peaks(np.array([523.25, 783.99], dtype=np.float32), np.array([1.0, 0.01], dtype=np.float32),
                  np.array([0, 1]), 2)
    summary = pitch_profile(peaks, Tuning(440.0, 0.0, 1.0)).treble
    assert summary.sum() == pytest.approx(1.0)
    assert summary[0] > 0.3 and summary[7] > 0.3


def test_a_triad_played_as_tones_names_its_key():
    # C major triad with a bass C: the key read from the shared spectrum must say C major.
    y = tone(261.63) + tone(329.63) + tone(392.0) + tone(130.81, amp=0.7)
    key = tonality(Spectrum.of([y], SR)).key
    assert PITCH_CLASSES[key.pc] == "C" and key.mode == "major"


def harmonic_chord(a4, seconds=6.0, notes=(45, 57, 60, 64, 69, 72, 76), sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(0)
    y = np.zeros_like(t)
    for n in notes:
        f = a4 * 2 ** ((n - 69) / 12)
        for h in range(1, 7):
            y += 0.2 / h * np.sin(2 * np.pi * f * h * t + rng.uniform(0, 6))
    return (y + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("a4", [430.0, 436.5, 440.0, 444.0, 448.2, 452.0])
def test_tuning_of_harmonic_tones(a4):
    spectrum = Spectrum.of([harmonic_chord(a4)], SR)
    tuning = estimate_tuning(spectral_peaks(spectrum.power, SR, N_FFT))
    assert abs(1200 * np.log2(tuning.hz / a4)) < 2.0 and tuning.clarity > 0.5


def test_a_chord_a_quarter_tone_sharp_keeps_its_name():
    # A minor at A = 452 Hz: half-way to B flat, yet still A minor, with the tuning reported.
    tonal = tonality(Spectrum.of([harmonic_chord(452.0)], SR))
    assert (PITCH_CLASSES[tonal.key.pc], tonal.key.mode) == ("A", "minor")
    assert tonal.tuning_hz == pytest.approx(452.0, abs=1.3)


def test_noise_has_no_key_and_no_tuning():
    noise = np.random.default_rng(1).standard_normal(6 * SR).astype(np.float32) * 0.1
    tonal = tonality(Spectrum.of([noise], SR))
    assert tonal.key.pc is None and tonal.tuning_hz is None


def speech_like(seconds=8.0, sr=SR, seed=2):
    """A voice: harmonics of a pitch that glides (intonation), in syllables, through three formants."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    knots = rng.uniform(95.0, 210.0, int(seconds * 4) + 2)
    f0 = np.interp(np.arange(n) / sr, np.arange(len(knots)) * 0.25, knots)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(h * phase) / h for h in range(1, 30) if h * f0.max() < sr / 2)
    syllables = np.repeat(rng.uniform(0, 1, int(seconds * 5) + 1) > 0.25, int(sr / 5))[:n]
    y = y * np.convolve(syllables, np.hanning(int(0.05 * sr)) / (0.025 * sr), mode="same")
    for formant, width in ((700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0)):
        r = np.exp(-np.pi * width / sr)
        y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * formant / sr), r * r], y)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def test_speech_has_no_key():
    tonal = tonality(Spectrum.of([speech_like()], SR))
    assert tonal.key.pc is None and tonal.key.camelot is None and tonal.tuning_hz is None


# ---------------------------------------------------------------- tempo

@pytest.mark.parametrize("bpm", [62, 75, 96, 120, 133, 150, 175, 198])
def test_tempo_of_a_click_track(bpm):
    spectrum = Spectrum.of([clicks(bpm)], SR)
    tempo = estimate_tempo(spectrum)
    assert tempo.bpm == pytest.approx(bpm, rel=0.02)
    assert tempo.confidence > 0.5


@pytest.mark.parametrize("bpm", [70, 90])
def test_weak_off_beats_make_two_levels_answer_and_runner_up(bpm):
    """Accented beats with off-beats at a third of their strength: either level may be heard as the
    beat, so the answer is one of them and the runner-up (stored as tempo_alt) the other."""
    tempo = estimate_tempo(Spectrum.of([clicks(bpm, accent_every=4, offbeat=0.3)], SR))
    levels = sorted([tempo.bpm, tempo.alternative])
    assert levels == [pytest.approx(bpm, rel=0.02), pytest.approx(2 * bpm, rel=0.02)]


def test_a_slow_soft_pulse_is_less_certain_than_a_clear_one():
    """At 70 BPM the double tempo is a real contender; without drums more so. At 120 it is not."""
    found = {(bpm, drums): estimate_tempo(Spectrum.of([music(seconds=20, tempo=bpm, drums=drums, seed=1)], SR))
             for bpm in (70, 120) for drums in (True, False)}
    assert all(t.bpm == pytest.approx(bpm, rel=0.02) for (bpm, _), t in found.items())
    assert found[70, False].confidence < found[70, True].confidence < found[120, True].confidence
    assert found[70, False].alternative == pytest.approx(140, rel=0.02)


def test_confidence_drops_as_the_off_beats_grow():
    """From a plain click track to off-beats as loud as the beats (a pulse twice as fast): the
    confidence falls while the levels are ambiguous, and the answer ends at the faster pulse."""
    found = [estimate_tempo(Spectrum.of([clicks(80, offbeat=level)], SR)) for level in (0.0, 0.5, 1.0)]
    assert found[0].bpm == pytest.approx(80, rel=0.02) and found[-1].bpm == pytest.approx(160, rel=0.02)
    assert found[1].confidence < found[0].confidence and found[1].confidence < found[-1].confidence


def test_the_runner_up_is_another_metrical_level():
    tempo = estimate_tempo(Spectrum.of([clicks(128, accent_every=4)], SR))
    ratio = tempo.alternative / tempo.bpm
    assert tempo.bpm == pytest.approx(128, rel=0.02)
    assert any(ratio == pytest.approx(r, rel=0.03) for r in (0.5, 2.0, 2 / 3, 1.5, 1 / 3, 3.0))


@pytest.mark.parametrize("seconds, bpm, has_tempo", [(0.9, 60, False), (1.0, 150, True), (3.0, 80, True)])
def test_a_tempo_needs_two_of_its_beats(seconds, bpm, has_tempo):
    tempo = estimate_tempo(Spectrum.of([clicks(bpm, seconds=seconds)], SR))
    if has_tempo:
        assert tempo.bpm == pytest.approx(bpm, rel=0.03)
    else:
        assert tempo.bpm is None and tempo.alternative is None and tempo.confidence == 0.0


def test_tempo_reads_each_window_apart():
    """Two windows cut mid-beat: the seam between them must not blur the tempo."""
    y = clicks(128, seconds=30)
    spectrum = Spectrum.of([y[: 13 * SR + 777], y[16 * SR + 123:]], SR)
    assert estimate_tempo(spectrum).bpm == pytest.approx(128, rel=0.02)


def test_no_pulse_no_tempo():
    spectrum = Spectrum.of([tone(440.0, seconds=10)], SR)
    tempo = estimate_tempo(spectrum)
    assert tempo.bpm is None or tempo.confidence < 0.5


# ---------------------------------------------------------------- loudness (EBU Tech 3341 style cases)

def stereo(y):
    return np.stack([y, y])


@pytest.mark.parametrize("sr", [48000, 44100, 22050])
def test_minus_23_dbfs_stereo_sine_is_minus_23_lufs(sr):
    y = tone(1000.0, seconds=20, amp=10 ** (-23 / 20), sr=sr)
    assert integrated_loudness([stereo(y)], sr) == pytest.approx(-23.0, abs=0.1)


def test_relative_gate_ignores_quiet_passages():
    sr = 48000
    quiet = tone(1000.0, 10, 10 ** (-36 / 20), sr)
    loud = tone(1000.0, 60, 10 ** (-23 / 20), sr)
    y = np.concatenate([quiet, loud, quiet])
    assert integrated_loudness([stereo(y)], sr) == pytest.approx(-23.0, abs=0.1)


def test_mono_counts_one_channel_and_silence_has_no_loudness():
    y = tone(1000.0, 10, 10 ** (-23 / 20))
    assert integrated_loudness([y[None]], SR) == pytest.approx(-26.0, abs=0.1)
    assert integrated_loudness([np.zeros((2, SR * 5), dtype=np.float32)], SR) is None
    assert integrated_loudness([], SR) is None


def test_surround_channels_weigh_more_and_lfe_not_at_all():
    y = tone(1000.0, 10, 10 ** (-30 / 20))
    silent = np.zeros_like(y)
    front = integrated_loudness([np.stack([y, silent, silent, silent, silent, silent])], SR)
    surround = integrated_loudness([np.stack([silent, silent, silent, silent, y, silent])], SR)
    lfe_only = integrated_loudness([np.stack([silent, silent, silent, y, silent, silent])], SR)
    assert surround - front == pytest.approx(10 * np.log10(1.41), abs=0.05)
    assert lfe_only is None


# ---------------------------------------------------------------- spectral shape

def test_centroid_and_rolloff_of_a_sine_sit_at_its_frequency():
    spectrum = Spectrum.of([tone(1000.0)], SR)
    assert np.median(centroid(spectrum)) == pytest.approx(1000.0, rel=0.05)
    assert np.median(rolloff(spectrum)) == pytest.approx(1000.0, rel=0.05)


def test_flatness_tells_noise_from_tone():
    noise = np.random.default_rng(0).standard_normal(SR * 3).astype(np.float32) * 0.3
    assert np.median(flatness(Spectrum.of([noise], SR))) > 0.3
    assert np.median(flatness(Spectrum.of([tone(440.0)], SR))) < 0.01


def test_zero_crossing_rate_of_a_sine():
    rates = zero_crossing_rates([tone(1000.0)], 2048, 512)
    assert np.median(rates) == pytest.approx(2 * 1000 / SR, rel=0.02)


def test_shared_spectrum_is_computed_once():
    spectrum = Spectrum.of([tone(440.0)], SR)
    assert spectrum.mel is spectrum.mel
    assert spectrum.onset_envelopes() is spectrum.onset_envelopes()


# ---------------------------------------------------------------- the feature set

def test_vector_matches_names_and_round_trips_as_float32():
    y = clicks(120, seconds=10) + tone(440.0, seconds=10, amp=0.2)
    features = extract(Audio([np.stack([y, y])], SR, 10.0, SR, 2, "test"), item="x.wav")
    vector = np.frombuffer(features.vector(), dtype="<f4")
    assert len(vector) == len(NAMES) == len(set(NAMES))
    assert np.all(np.isfinite(vector))
    assert vector[NAMES.index("tempo")] == np.float32(features.tempo)
    assert vector[NAMES.index("chroma_B")] == np.float32(features.chroma[11])
    assert VERSION >= 1 and 0.0 <= features.energy <= 1.0


def test_silence_is_features_without_tempo_key_or_loudness():
    features = extract(Audio([np.zeros((1, SR * 5), dtype=np.float32)], SR, 5.0, SR, 1, "test"), item="quiet.flac")
    assert (features.tempo, features.tempo_alt, features.key_pc, features.loudness) == (None, None, None, None)
    vector = np.frombuffer(features.vector(), dtype="<f4")
    assert vector.shape == (len(NAMES),) and np.all(np.isfinite(vector))


def test_louder_and_busier_means_more_energy():
    soft = clicks(80, seconds=10) * 0.05
    hard = clicks(160, seconds=10, offbeat=1.0) * 0.9 + np.random.default_rng(1).standard_normal(SR * 10).astype(np.float32) * 0.1
    e_soft = extract(Audio([soft[None]], SR, 10, SR, 1, "t"), item="soft").energy
    e_hard = extract(Audio([hard[None]], SR, 10, SR, 1, "t"), item="hard").energy
    assert e_hard > e_soft + 0.2
