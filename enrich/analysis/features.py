"""What one track's analysis yields, and its versioned vector (its names and version: ``featureset``)."""

from __future__ import annotations

import numpy as np

from enrich.analysis.decode import Audio
from enrich.analysis.featureset import N_MFCC, Features
from enrich.analysis.key import tonality
from enrich.analysis.loudness import integrated_loudness
from enrich.analysis.spectral import centroid, flatness, mean_std, mfcc, rms_db, rolloff, zero_crossing_rates
from enrich.analysis.spectrum import HOP, N_FFT, Spectrum
from enrich.analysis.tempo import estimate_tempo

SILENCE_DB = -90.0  # mono RMS below this is digital silence (or next to it)


def energy_of(loudness: float | None, onset_strength: float, brightness_hz: float) -> float:
    """A 0..1 intensity heuristic: mostly loudness, then how busy and how bright the sound is."""
    loud = 0.0 if loudness is None else np.clip((loudness + 40.0) / 35.0, 0.0, 1.0)
    busy = np.clip(onset_strength / 3.0, 0.0, 1.0)
    bright = np.clip(brightness_hz / 4000.0, 0.0, 1.0)
    return round(float(0.6 * loud + 0.25 * busy + 0.15 * bright), 4)


def plain(value: float | None) -> float | None:
    """A Python float (or None): replies reach the parent pickled, and a numpy scalar would import numpy there."""
    return None if value is None else float(value)


def silence(audio: Audio) -> Features:
    """Digital silence is a fact about the file, not a failure: no tempo, no key, no loudness."""
    return Features(
        tempo=None, tempo_confidence=0.0, key_pc=None, mode=None, key_confidence=0.0, camelot=None,
        loudness=None, energy=0.0, centroid=(0.0, 0.0), rolloff=(0.0, 0.0), flatness=(0.0, 0.0), zcr=(0.0, 0.0),
        mfcc_mean=(0.0,) * N_MFCC, mfcc_std=(0.0,) * N_MFCC, chroma=(0.0,) * 12, seconds=round(audio.seconds, 2),
    )


def extract(audio: Audio, *, item: str, key_profile: str = "enrich") -> Features:
    """All features of decoded audio, from one shared spectrum; silence gives the empty row of ``silence``."""
    mono = audio.mono()
    if rms_db(mono) < SILENCE_DB:
        return silence(audio)
    spectrum = Spectrum.of(mono, audio.sr)
    envelopes = spectrum.onset_envelopes()
    tempo = estimate_tempo(spectrum)
    tonal = tonality(spectrum, key_profile)
    key, chroma = tonal.key, tonal.evidence.treble
    loudness = integrated_loudness(audio.segments, audio.sr)
    cen = mean_std(centroid(spectrum))
    coefficients = mfcc(spectrum)
    onset_mean = float(np.mean(np.concatenate(envelopes))) if envelopes else 0.0
    return Features(
        tempo=plain(tempo.bpm),
        tempo_confidence=float(tempo.confidence),
        key_pc=key.pc,
        mode=key.mode,
        key_confidence=float(key.confidence),
        camelot=key.camelot,
        loudness=plain(loudness),
        energy=energy_of(loudness, onset_mean, cen[0]),
        centroid=cen,
        rolloff=mean_std(rolloff(spectrum)),
        flatness=mean_std(flatness(spectrum)),
        zcr=mean_std(zero_crossing_rates(mono, N_FFT, HOP)),
        mfcc_mean=(tuple(float(v) for v in coefficients.mean(axis=1)) if coefficients.size
                   else (0.0,) * len(coefficients)),
        mfcc_std=tuple(float(v) for v in coefficients.std(axis=1)) if coefficients.size else (0.0,) * len(coefficients),
        chroma=tuple(float(v) for v in chroma),
        seconds=round(audio.seconds, 2),
        tuning_hz=plain(tonal.tuning_hz),
        key_strength=plain(key.strength),
        tempo_alt=plain(tempo.alternative),
    )
