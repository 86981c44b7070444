"""Our one-spectrum features agree with librosa's reference implementations.

enrich computes its features with numpy from one shared STFT (for speed); this
checks that the numbers mean what librosa's well-known functions mean, on the
same synthesised audio with the same frame sizes.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from enrich.analysis.key import PITCH_CLASSES, correlations
from enrich.analysis.pitch import Tuning, estimate_tuning, pitch_profile, spectral_peaks
from enrich.analysis.spectral import centroid, rolloff
from enrich.analysis.spectrum import HOP, N_FFT, Spectrum
from fixtures.synth import render

SR = 22050


@pytest.fixture(scope="module", params=[("A", "minor", 96.0, True), ("E", "major", 128.0, False)],
                ids=["A-minor-drums", "E-major-no-drums"])
def clip(request):
    key, mode, tempo, drums = request.param
    y = render(tempo=tempo, key=key, mode=mode, seconds=12.0, sr=SR, drums=drums, seed=3)
    return y, key, tempo


def test_spectral_centroid_and_rolloff_match_librosa(clip):
    y, _, _ = clip
    ours = Spectrum.of([y], SR)
    ref_centroid = librosa.feature.spectral_centroid(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, center=False)
    ref_rolloff = librosa.feature.spectral_rolloff(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, center=False,
                                                   roll_percent=0.85)
    assert centroid(ours).mean() == pytest.approx(ref_centroid.mean(), rel=0.05)
    assert rolloff(ours).mean() == pytest.approx(ref_rolloff.mean(), rel=0.08)


def test_pitch_class_profile_matches_librosa_chroma(clip):
    y, _, _ = clip
    ours = pitch_profile(spectral_peaks(Spectrum.of([y], SR).power, SR, N_FFT), Tuning(440.0, 0.0, 1.0)).treble
    ref = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=HOP, tuning=0.0).sum(axis=1)
    # Ours votes also for the fundamentals of overtones and counts quiet frames as
    # much as loud ones, so the shapes differ in detail: the same key must fit both,
    # and our strongest pitch class is one of librosa's three strongest.
    ref_top = {PITCH_CLASSES[i] for i in np.argsort(ref)[-3:]}
    assert PITCH_CLASSES[int(np.argmax(ours))] in ref_top
    assert np.argmax(correlations(ours, "edma")) == np.argmax(correlations(ref, "edma"))
    assert np.corrcoef(ours, ref)[0, 1] > 0.5


@pytest.mark.parametrize("cents", [-35.0, 0.0, 20.0])
def test_tuning_matches_librosa(clip, cents):
    y, _, _ = clip
    # Detune by resampling: every pitch moves by the same number of cents.
    shifted = librosa.resample(y, orig_sr=SR, target_sr=SR / 2 ** (cents / 1200), res_type="soxr_hq")
    ours = estimate_tuning(spectral_peaks(Spectrum.of([shifted], SR).power, SR, N_FFT))
    ref = 100 * librosa.estimate_tuning(y=shifted, sr=SR, n_fft=N_FFT)
    assert ours.cents == pytest.approx(ref, abs=5.0)
    assert ours.cents == pytest.approx(cents, abs=3.0)
