"""Derives the "enrich" key profiles (enrich/analysis/key.py) from rendered music.

A training corpus is rendered with the corpus generator (tests/corpus) from seeds
of its own, so the evaluation corpus (tests/bench/bench_accuracy.py) stays unseen:
every style, 30 s clips, a third detuned. Each pitched clip's treble and bass
pitch-class profiles (as `enrich analyze` computes them) are rotated to its
tonic and averaged per mode; the result is printed as the literal key.py holds.

    python tests/bench/learn_key_profile.py [--out DIR] [--seeds 12345 777] [--clips 120]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from enrich.analysis.decode import decode
from enrich.analysis.pitch import estimate_tuning, pitch_profile, spectral_peaks
from enrich.analysis.settings import AnalysisConfig
from enrich.analysis.spectrum import Spectrum
from tests.corpus.build import build
from tests.corpus.plan import ClipSpec, clip
from tests.corpus.styles import STYLES


def training_plan(seed: int, count: int) -> list[ClipSpec]:
    rng = random.Random(seed)
    names = list(STYLES)
    return [clip(i, names[i % len(names)], rng, seconds=round(rng.uniform(20, 40), 1)) for i in range(count)]


def learn(folder: Path, specs: list[ClipSpec]) -> tuple[np.ndarray, np.ndarray]:
    """Summed (treble, bass), each (2, 12): [major, minor] x scale degree from the tonic."""
    settings = AnalysisConfig()
    treble, bass = np.zeros((2, 12)), np.zeros((2, 12))
    for spec in specs:
        if spec.tonic is None or spec.mode is None:
            continue
        audio = decode(str(folder / spec.path), sr=settings.sample_rate, excerpt=settings.excerpt,
                       windows=settings.excerpt_windows, seconds=settings.excerpt_seconds,
                       max_seconds=settings.max_seconds)
        spectrum = Spectrum.of(audio.mono(), audio.sr)
        peaks = spectral_peaks(spectrum.power, spectrum.sr, spectrum.n_fft)
        evidence = pitch_profile(peaks, estimate_tuning(peaks))
        row = int(spec.mode == "minor")
        treble[row] += np.roll(evidence.treble, -spec.tonic)
        bass[row] += np.roll(evidence.bass, -spec.tonic)
    return treble, bass


def literal(name: str, table: np.ndarray) -> str:
    rows = ",\n".join("        (" + ", ".join(f"{v:.4f}" for v in row) + ")" for row in table)
    return f'    "{name}": (\n{rows},\n    ),'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "enrich" / "key-training")
    parser.add_argument("--seeds", type=int, nargs="+", default=[12345, 777])
    parser.add_argument("--clips", type=int, default=120, help="clips per seed")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folders, plans = [], []
    for seed in args.seeds:
        folder = args.out / f"seed-{seed}"
        specs = training_plan(seed, args.clips)
        build(folder, specs, workers=args.workers)
        folders.append(folder)
        plans.append(specs)
    treble, bass = np.zeros((2, 12)), np.zeros((2, 12))
    for folder, specs in zip(folders, plans, strict=True):
        t, b = learn(folder, specs)
        treble += t
        bass += b
    treble /= treble.sum(axis=1, keepdims=True)
    bass /= bass.sum(axis=1, keepdims=True)
    print("# PROFILES (treble)")
    print(literal("enrich", treble))
    print("# BASS_PROFILES")
    print(literal("enrich", bass))
    return 0


if __name__ == "__main__":
    sys.exit(main())
