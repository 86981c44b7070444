"""What one track's analysis yields, and its versioned vector (its names and version: ``featureset``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enrich.analysis.decode import Audio
from enrich.analysis.featureset import N_MFCC
from enrich.analysis.key import tonality
from enrich.analysis.loudness import integrated_loudness
from enrich.analysis.spectral import centroid, flatness, mean_std, mfcc, rms_db, rolloff, zero_crossing_rates
from enrich.analysis.spectrum import HOP, N_FFT, Spectrum
from enrich.analysis.tempo import estimate_tempo

SILENCE_DB = -90.0  # mono RMS below this is digital silence (or next to it)


@dataclass(frozen=True)
class Features:
    tempo: float | None
    tempo_confidence: float
    key_pc: int | None
    mode: str | None
    key_confidence: float
    camelot: str | None
    loudness: float | None  # LUFS
    energy: float  # 0..1
    centroid: tuple[float, float]  # mean, std (Hz)
    rolloff: tuple[float, float]
    flatness: tuple[float, float]
    zcr: tuple[float, float]
    mfcc_mean: tuple[float, ...]
    mfcc_std: tuple[float, ...]
    chroma: tuple[float, ...]  # 12 bins, C..B, sum 1
    seconds: float  # audio analysed
    tuning_hz: float | None = None  # estimated A4 reference
    key_strength: float | None = None  # 0..1, how clearly the audio sits in a key
    tempo_alt: float | None = None  # second-best tempo candidate, BPM

    def vector(self) -> np.ndarray:
        """The float32 vector whose elements ``NAMES`` names."""
        if self.key_pc is None:
            fifths = (0.0, 0.0)
        else:
            angle = 2 * np.pi * ((7 * self.key_pc) % 12) / 12
            fifths = (float(np.cos(angle)), float(np.sin(angle)))
        values = [
            self.tempo or 0.0, self.tempo_confidence,
            *fifths, 1.0 if self.mode == "major" else 0.0, self.key_confidence,
            self.loudness if self.loudness is not None else -70.0, self.energy,
            *self.centroid, *self.rolloff, *self.flatness, *self.zcr,
            *self.mfcc_mean, *self.mfcc_std, *self.chroma,
        ]
        return np.asarray(values, dtype="<f4")


def energy_of(loudness: float | None, onset_strength: float, brightness_hz: float) -> float:
    """A 0..1 intensity heuristic: mostly loudness, then how busy and how bright the sound is."""
    loud = 0.0 if loudness is None else np.clip((loudness + 40.0) / 35.0, 0.0, 1.0)
    busy = np.clip(onset_strength / 3.0, 0.0, 1.0)
    bright = np.clip(brightness_hz / 4000.0, 0.0, 1.0)
    return round(float(0.6 * loud + 0.25 * busy + 0.15 * bright), 4)


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
        tempo=tempo.bpm,
        tempo_confidence=tempo.confidence,
        key_pc=key.pc,
        mode=key.mode,
        key_confidence=key.confidence,
        camelot=key.camelot,
        loudness=loudness,
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
        tuning_hz=tonal.tuning_hz,
        key_strength=key.strength,
        tempo_alt=tempo.alternative,
    )
