"""Fits the tempo estimator's level weights on the rendered corpus, and scores them held out.

enrich/analysis/tempo.py picks the beat among candidate metrical levels by a conditional
logit: each candidate's evidence (``level_evidence``) weighed by ``LEVEL_WEIGHTS``; the
answer's confidence is its softmax share at ``SOFTMAX_SCALE`` times the pulse's clarity.
This script measures every clip's periodicity once (as `enrich analyze` does: the same
decode, spectrum and onset envelopes), takes the candidates and their evidence from
tempo.py (``levels``), labels the candidates within 4 % of the true tempo, and fits:

  - the weights, maximising the mean log softmax probability of the right candidate(s)
    with a small L2 penalty (tests/corpus/level_fit.py), on the even-numbered clips and
    scored on the odd ones, and the reverse; the answer is what ``tempo.choose`` gives
    with those weights, scored for tempo within 4 % and octave-tolerant;
  - the softmax scale, so the winner's share predicts being right (the log loss of
    "right" given the share), with a reliability table of the held-out predictions.

It prints the current and re-fitted figures side by side, and the weights a developer
would paste into tempo.py (fitted on all clips). Nothing is written into the code.

    python tests/bench/learn_tempo_levels.py [--corpus DIR] [--jobs 2] [--refresh] [--l2 0.001]

The periodicities are cached in tests/bench/out/ (per corpus generator and version of the
code they come from), so a re-fit after the first run takes seconds.
"""

from __future__ import annotations

import os

# one thread per process, as the analysis pool runs (before numpy is first imported)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from enrich.analysis import decode as decode_module  # noqa: E402
from enrich.analysis import spectrum as spectrum_module  # noqa: E402
from enrich.analysis import tempo  # noqa: E402
from enrich.analysis.decode import decode  # noqa: E402
from enrich.analysis.features import SILENCE_DB  # noqa: E402
from enrich.analysis.settings import AnalysisConfig  # noqa: E402
from enrich.analysis.spectral import rms_db  # noqa: E402
from enrich.analysis.spectrum import Spectrum  # noqa: E402
from tests.corpus import GENERATOR_VERSION  # noqa: E402
from tests.corpus.build import MANIFEST, default_folder  # noqa: E402
from tests.corpus.level_fit import (  # noqa: E402
    L2,
    Choice,
    cosine,
    fit_scale,
    fit_weights,
    log_loss,
    reliability,
    winner_share,
)
from tests.corpus.scoring import tempo_octave_ok, tempo_ok, tempo_scored  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def periodicity_code_digest() -> str:
    """What the cached periodicities depend on: decoding, the spectrum, the analysis settings
    and tempo.py's periodicity functions and constants (not the level choice, which is re-run)."""
    parts = [inspect.getsource(decode_module), inspect.getsource(spectrum_module), repr(AnalysisConfig())]
    for function in (tempo.autocorrelation, tempo.salience, tempo.pulse_envelopes, tempo._unit_spread,
                     tempo.periodicity, tempo.onset_density, tempo.search_grid):
        parts.append(inspect.getsource(function))
    parts.append(repr((tempo.HORIZON, tempo.MIN_PERIODS, tempo.GRID_STEP, tempo.SEARCH_MIN_BPM,
                       tempo.SEARCH_MAX_BPM, tempo.MAX_MULTIPLES)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def measure(job: tuple[str, str]) -> tuple[str, tempo.Periodicity | None, tuple[float | None, float, float | None]]:
    """One clip's periodicity as `enrich analyze` computes it (None for digital silence), and the
    tempo the code gave when it was measured (bpm, confidence, runner-up)."""
    clip_id, path = job
    settings = AnalysisConfig()
    audio = decode(path, sr=settings.sample_rate, excerpt=settings.excerpt, windows=settings.excerpt_windows,
                   seconds=settings.excerpt_seconds, max_seconds=settings.max_seconds)
    mono = audio.mono()
    if rms_db(mono) < SILENCE_DB:
        return clip_id, None, (None, 0.0, None)
    spectrum = Spectrum.of(mono, audio.sr)
    found = tempo.estimate_tempo(spectrum)
    p = tempo.periodicity(spectrum.onset_bands(), spectrum.frame_rate)
    return clip_id, p, (found.bpm, found.confidence, found.alternative)


def load_periodicities(clips: list[dict], folder: Path, jobs: int, refresh: bool) -> dict:
    """{clip id: (periodicity, tempo when measured)}, from the cache when it is of this corpus and code."""
    cache = OUT / f"tempo-levels-g{GENERATOR_VERSION}-{periodicity_code_digest()}.pickle"
    stored: dict = {}
    if cache.exists() and not refresh:
        stored = pickle.loads(cache.read_bytes())
    missing = [c for c in clips if c["id"] not in stored]
    if missing:
        print(f"measuring the periodicity of {len(missing)} clips (cached in {cache.relative_to(OUT.parents[2])}) ...",
              flush=True)
        started = time.monotonic()
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for done, (clip_id, p, found) in enumerate(
                    pool.map(measure, [(c["id"], str(folder / c["path"])) for c in missing]), 1):
                stored[clip_id] = (p, found)
                if done % 20 == 0:
                    print(f"  {done}/{len(missing)} clips, {time.monotonic() - started:.0f} s", flush=True)
        OUT.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(stored))
    return {c["id"]: stored[c["id"]] for c in clips}


NAMES = list(tempo.LEVEL_WEIGHTS)  # the evidence's order in the vectors below


class Clip:
    """One clip's truth, periodicity and candidate levels (their evidence as a candidates x NAMES matrix)."""

    def __init__(self, manifest: dict, p: tempo.Periodicity | None):
        self.id, self.bpm, self.p = manifest["id"], float(manifest["bpm"]), p
        self.even = int(self.id.split("-")[0]) % 2 == 0
        found = tempo.levels(p) if p is not None else []
        self.evidence = np.array([[e[name] for name in NAMES] for _, e in found]).reshape(len(found), len(NAMES))
        periods = np.array([q for q, _ in found])
        self.correct = np.array([tempo_ok(60.0 * p.frame_rate / q, self.bpm) for q in periods], dtype=bool) \
            if p is not None else np.zeros(0, dtype=bool)

    def choice(self) -> Choice:
        return Choice(self.evidence, self.correct)

    def answer(self, weights: np.ndarray, scale: float) -> tempo.Tempo:
        """What tempo.py answers with these weights and softmax scale."""
        if self.p is None:
            return tempo.Tempo(None, 0.0)
        return tempo.choose(self.p, dict(zip(NAMES, map(float, weights), strict=True)), scale)


@dataclass(frozen=True)
class Scored:
    within: float  # share within 4 %
    octave: float  # share octave-tolerant
    confidence_right: float  # mean confidence of the answers within 4 %
    confidence_wrong: float


def score(clips: list[Clip], weights: np.ndarray, scale: float) -> Scored:
    answers = [(c, c.answer(weights, scale)) for c in clips]
    right = [a.confidence for c, a in answers if tempo_ok(a.bpm, c.bpm)]
    wrong = [a.confidence for c, a in answers if not tempo_ok(a.bpm, c.bpm)]
    return Scored(sum(tempo_ok(a.bpm, c.bpm) for c, a in answers) / len(clips),
                  sum(tempo_octave_ok(a.bpm, c.bpm) for c, a in answers) / len(clips),
                  float(np.mean(right)) if right else float("nan"), float(np.mean(wrong)) if wrong else float("nan"))


def shares_and_right(clips: list[Clip], weights: np.ndarray, scale: float) -> tuple[list[np.ndarray], list[bool]]:
    """Each clip's candidate scores and whether the answer tempo.py gives with them is within 4 %."""
    usable = [c for c in clips if len(c.evidence)]
    return ([c.evidence @ weights for c in usable],
            [tempo_ok(c.answer(weights, scale).bpm, c.bpm) for c in usable])


def calibrate(clips: list[Clip], weights: np.ndarray) -> float:
    scores, right = shares_and_right(clips, weights, tempo.SOFTMAX_SCALE)
    return fit_scale(scores, right)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--refresh", action="store_true", help="measure every clip again, ignoring the cache")
    parser.add_argument("--l2", type=float, default=L2, help=f"penalty on the squared weights (default {L2})")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    folder = args.corpus or default_folder()
    manifest = [c for c in json.loads((folder / MANIFEST).read_text())["clips"] if tempo_scored(c)]
    measured = load_periodicities(manifest, folder, args.jobs, args.refresh)
    clips = [Clip(c, measured[c["id"]][0]) for c in manifest]
    even, odd = [c for c in clips if c.even], [c for c in clips if not c.even]
    current = np.array([tempo.LEVEL_WEIGHTS[n] for n in NAMES])

    same = sum(c.answer(current, tempo.SOFTMAX_SCALE) == tempo.Tempo(*measured[c.id][1]) for c in clips)
    counts = [len(c.evidence) for c in clips]
    print(f"{len(clips)} clips of 5 s or more ({len(even)} even, {len(odd)} odd); {min(counts)}-{max(counts)} "
          f"candidate levels a clip (mean {np.mean(counts):.1f}); a candidate within 4 % of the truth on "
          f"{sum(bool(c.correct.any()) for c in clips)}, two on {sum(int(c.correct.sum()) > 1 for c in clips)}")
    print(f"tempo.choose with the weights in tempo.py gives the answer of the code the periodicities were "
          f"measured with on {same} of {len(clips)} clips")

    fitted = {"even": fit_weights([c.choice() for c in even], args.l2),
              "odd": fit_weights([c.choice() for c in odd], args.l2),
              "all": fit_weights([c.choice() for c in clips], args.l2)}
    scales = {name: calibrate({"even": even, "odd": odd, "all": clips}[name], w) for name, w in fitted.items()}
    current_scales = {name: calibrate(part, current) for name, part in (("even", even), ("odd", odd), ("all", clips))}

    print(f"\ntempo within 4 % / octave-tolerant (mean confidence right / wrong); l2 {args.l2:g}")
    print(f"  {'weights':28s} {'even clips':>28s} {'odd clips':>28s} {'all clips':>28s}")

    def row(label: str, weights: np.ndarray, scale: float, trained_on: str | None) -> dict[str, Scored]:
        out = {name: score(part, weights, scale) for name, part in (("even", even), ("odd", odd), ("all", clips))}
        cells = [f"{s.within:6.1%} / {s.octave:6.1%} ({s.confidence_right:.2f}/{s.confidence_wrong:.2f})"
                 + ("*" if trained_on is not None and (trained_on == "all" or name in (trained_on, "all")) else " ")
                 for name, s in out.items()]
        print(f"  {label:28s} {cells[0]:>28s} {cells[1]:>28s} {cells[2]:>28s}")
        return out

    now = row("in tempo.py now", current, tempo.SOFTMAX_SCALE, None)
    on_even = row("fitted on the even clips", fitted["even"], scales["even"], "even")
    on_odd = row("fitted on the odd clips", fitted["odd"], scales["odd"], "odd")
    row("fitted on all clips", fitted["all"], scales["all"], "all")
    print("  (* the clips fitted on; tempo.py's weights were fitted on the even clips among others)")
    print(f"held out: fitted on even, scored on odd {on_even['odd'].within:.1%} / {on_even['odd'].octave:.1%} "
          f"(tempo.py now {now['odd'].within:.1%} / {now['odd'].octave:.1%}); fitted on odd, scored on even "
          f"{on_odd['even'].within:.1%} / {on_odd['even'].octave:.1%} (tempo.py now {now['even'].within:.1%} / "
          f"{now['even'].octave:.1%})")
    better = on_even["odd"].within > now["odd"].within and on_odd["even"].within > now["even"].within
    print(f"the re-fit is {'better' if better else 'NOT better'} than tempo.py's weights on both held-out halves")

    print(f"\n  {'evidence':14s} {'tempo.py':>9s} {'even':>9s} {'odd':>9s} {'all':>9s}")
    for i, name in enumerate(NAMES):
        print(f"  {name:14s} {current[i]:9.2f} " + " ".join(f"{w[i]:9.2f}" for w in fitted.values()))
    print(f"  {'cosine':14s} {1.0:9.3f} " + " ".join(f"{cosine(w, current):9.3f}" for w in fitted.values()))
    print(f"  {'SOFTMAX_SCALE':14s} {tempo.SOFTMAX_SCALE:9.2f} " + " ".join(f"{scales[n]:9.2f}" for n in fitted)
          + "   (each fitted with its weights, on their clips)")
    print(f"  {'  for tempo.py':14s} {'':9s} " + " ".join(f"{current_scales[n]:9.2f}" for n in fitted)
          + "   (the scale fitted for tempo.py's weights, on those clips)")

    # calibration, held out: the scale fitted on one half predicts on the other
    tables = {"tempo.py weights, scale in tempo.py": [], "tempo.py weights, scale fitted": [],
              "re-fitted weights and scale": []}
    for fitted_on, test in (("even", odd), ("odd", even)):
        scores, right = shares_and_right(test, current, tempo.SOFTMAX_SCALE)
        tables["tempo.py weights, scale in tempo.py"] += [(winner_share(s, tempo.SOFTMAX_SCALE), r)
                                                          for s, r in zip(scores, right, strict=True)]
        tables["tempo.py weights, scale fitted"] += [(winner_share(s, current_scales[fitted_on]), r)
                                                     for s, r in zip(scores, right, strict=True)]
        scores, right = shares_and_right(test, fitted[fitted_on], scales[fitted_on])
        tables["re-fitted weights and scale"] += [(winner_share(s, scales[fitted_on]), r)
                                                  for s, r in zip(scores, right, strict=True)]
    print("\nreliability, held out (fitted on one half, predicting the other): the winner's softmax share against")
    print("the share of answers within 4 %, as n clips, mean predicted -> observed")
    print(f"  {'share':9s} " + " ".join(f"{label:>36s}" for label in tables))
    binned = {label: reliability([p for p, _ in pairs], [r for _, r in pairs]) for label, pairs in tables.items()}
    for b in range(5):
        cells = []
        for label in tables:
            x = binned[label][b]
            cells.append(f"{x.count:3d}  {x.predicted:.2f} -> {x.observed:.2f}" if x.count else "  0")
        low, high = binned["re-fitted weights and scale"][b].low, binned["re-fitted weights and scale"][b].high
        print(f"  {low:.1f}-{high:.1f}   " + " ".join(f"{cell:>36s}" for cell in cells))
    print(f"  {'log loss':9s} " + " ".join(
        f"{log_loss(np.array([p for p, _ in pairs]), np.array([r for _, r in pairs])):>36.3f}"
        for pairs in tables.values()))

    print("\nto paste into enrich/analysis/tempo.py (fitted on all clips):")
    print("LEVEL_WEIGHTS = {\n" + "".join(f'    "{n}": {w:.2f},\n' for n, w in zip(NAMES, fitted["all"], strict=True))
          + "}")
    print(f"SOFTMAX_SCALE = {scales['all']:.2f}")
    print(f"(or keep the weights and set SOFTMAX_SCALE = {current_scales['all']:.2f})")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
