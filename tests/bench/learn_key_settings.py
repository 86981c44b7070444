"""Chooses the key estimator's settings on the rendered corpus, and scores them held out.

The settings (enrich/analysis/pitch.py ``TREBLE_MAX``, enrich/analysis/key.py
``BASS_WEIGHT`` and ``MINOR_PRIORS["enrich"]``) are picked from a small grid by the
MIREX weighted key score over the corpus's pitched clips. So that the figure is not
flattered by the choice, the grid is also searched on the even-numbered clips only and
scored on the odd ones, and the reverse: the mean of those two is the held-out figure.
Drums-only clips are checked too (they must still get no key).

    python tests/bench/learn_key_settings.py [--corpus DIR] [--jobs 2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from enrich.analysis.decode import decode
from enrich.analysis.key import BASS_WEIGHT, MINOR_PRIORS, estimate_key
from enrich.analysis.pitch import TREBLE_MAX, estimate_tuning, pitch_profile, spectral_peaks
from enrich.analysis.settings import AnalysisConfig
from enrich.analysis.spectrum import Spectrum
from tests.corpus.build import MANIFEST, default_folder
from tests.corpus.scoring import key_score

TREBLE_MAXES = (1000.0, 2000.0, 5000.0)
BASS_WEIGHTS = (0.1, 0.2, 0.3, 0.45)
MINOR_PRIOR_GRID = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05)
Setting = tuple[float, float, float]  # treble_max, bass_weight, minor_prior
GRID: list[Setting] = list(itertools.product(TREBLE_MAXES, BASS_WEIGHTS, MINOR_PRIOR_GRID))


def clip_scores(job: tuple[dict, str]) -> tuple[str, dict[Setting, float]]:
    """One clip's key score under every setting of the grid (1.0 for a drums-only clip given no key)."""
    clip, path = job
    settings = AnalysisConfig()
    audio = decode(path, sr=settings.sample_rate, excerpt=settings.excerpt, windows=settings.excerpt_windows,
                   seconds=settings.excerpt_seconds, max_seconds=settings.max_seconds)
    spectrum = Spectrum.of(audio.mono(), audio.sr)
    peaks = spectral_peaks(spectrum.power, spectrum.sr, spectrum.n_fft)
    tuning = estimate_tuning(peaks)
    out: dict[Setting, float] = {}
    for treble_max in TREBLE_MAXES:
        evidence = pitch_profile(peaks, tuning, treble_max=treble_max)
        for bass_weight, prior in itertools.product(BASS_WEIGHTS, MINOR_PRIOR_GRID):
            key = estimate_key(evidence, bass_weight=bass_weight, minor_prior=prior)
            if clip["pitched"]:
                value = key_score(key.pc, key.mode, clip["tonic"], clip["mode"])
            else:
                value = 1.0 if key.pc is None else 0.0
            out[(treble_max, bass_weight, prior)] = value
    return clip["id"], out


def mean_score(scores: dict[str, dict[Setting, float]], ids: list[str], setting: Setting) -> float:
    return statistics.fmean(scores[i][setting] for i in ids)


def best(scores: dict[str, dict[Setting, float]], ids: list[str]) -> Setting:
    # a tie goes to the first in GRID's order (the smaller values)
    return max(GRID, key=lambda s: mean_score(scores, ids, s))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    folder = args.corpus or default_folder()
    clips = json.loads((folder / MANIFEST).read_text())["clips"]
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        scores = dict(pool.map(clip_scores, [(c, str(folder / c["path"])) for c in clips]))
    pitched = [c["id"] for c in clips if c["pitched"] and c["tonic"] is not None]
    drums = [c["id"] for c in clips if not c["pitched"]]
    even = [i for i in pitched if int(i.split("-")[0]) % 2 == 0]
    odd = [i for i in pitched if int(i.split("-")[0]) % 2 == 1]
    current = (TREBLE_MAX, BASS_WEIGHT, MINOR_PRIORS["enrich"])

    def show(label: str, setting: Setting) -> None:
        no_key = f"  drums-only no key {mean_score(scores, drums, setting):.0%}" if drums else ""
        print(f"  {label:34s} treble_max {setting[0]:6.0f}  bass_weight {setting[1]:.2f}  minor_prior "
              f"{setting[2]:.2f}  | all {mean_score(scores, pitched, setting):.3f}  even "
              f"{mean_score(scores, even, setting):.3f}  odd {mean_score(scores, odd, setting):.3f}{no_key}")

    on_even, on_odd, on_all = best(scores, even), best(scores, odd), best(scores, pitched)
    held_out = (mean_score(scores, odd, on_even) + mean_score(scores, even, on_odd)) / 2
    print(f"{len(pitched)} pitched clips ({len(even)} even, {len(odd)} odd), {len(drums)} drums-only; "
          f"MIREX weighted key score")
    show("in key.py / pitch.py now", current)
    show("chosen on the even clips", on_even)
    show("chosen on the odd clips", on_odd)
    show("chosen on all clips", on_all)
    print(f"held out: chosen on even, scored on odd {mean_score(scores, odd, on_even):.3f}; chosen on odd, "
          f"scored on even {mean_score(scores, even, on_odd):.3f}; mean {held_out:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
