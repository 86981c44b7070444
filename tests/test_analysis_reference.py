"""Our one-spectrum features agree with librosa's reference implementations.

enrich computes its features with numpy from one shared STFT (for speed); this
checks that the numbers mean what librosa's well-known functions mean, on the
same synthesised audio with the same frame sizes.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from enrich.analysis.key import PITCH_CLASSES
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


def test_chroma_profile_matches_librosa(clip):
    y, _, _ = clip
    ours = Spectrum.of([y], SR).chroma.sum(axis=1)
    ref = librosa.feature.chroma_stft(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP).sum(axis=1)
    # Our strongest pitch class is one of librosa's two strongest (tonic and
    # dominant can nearly tie), and the whole profile has the same shape.
    ref_top = {PITCH_CLASSES[i] for i in np.argsort(ref)[-2:]}
    assert PITCH_CLASSES[int(np.argmax(ours))] in ref_top
    assert np.corrcoef(ours, ref)[0, 1] > 0.9
