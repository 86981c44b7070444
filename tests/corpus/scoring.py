"""How estimates are scored against the corpus truth, the same way for every tool.

Tempo: within 4 % of the truth, and octave-tolerant (also x2, x1/2, x3, x1/3 within 4 %).
Key: the MIREX weighted score: 1 exact, 0.5 a perfect fifth above or below in the same
mode, 0.3 relative major/minor, 0.2 parallel, else 0. MIREX's own evaluation credits a
fifth either way (mir_eval does so with ``allow_descending_fifths=True``; its default
credits only the fifth above).
Drums-only clips should get no key at all. Tuning: error in cents of the A4 reference,
taken modulo a semitone (a reference is only defined up to one).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

TEMPO_TOLERANCE = 0.04
OCTAVE_FACTORS = (1.0, 2.0, 0.5, 3.0, 1 / 3)
TEMPO_MIN_SECONDS = 5.0  # shorter clips are not asked for a tempo
TUNING_TOLERANCE_CENTS = 5.0
DETUNED_CENTS = 9.0  # clips detuned at least this much count for the tuning figure


@dataclass(frozen=True)
class Estimate:
    """One tool's answer for one clip; ``error`` is set when the tool gave nothing."""
    clip_id: str
    bpm: float | None = None
    tonic: int | None = None
    mode: str | None = None
    tuning_hz: float | None = None
    cpu_seconds: float | None = None
    error: str | None = None
    tempo_confidence: float | None = None  # the tool's own 0..1 confidence in ``bpm``, where it gives one


def tempo_ok(estimate: float | None, truth: float, tolerance: float = TEMPO_TOLERANCE) -> bool:
    return estimate is not None and estimate > 0 and abs(estimate / truth - 1) <= tolerance


def tempo_octave_ok(estimate: float | None, truth: float, tolerance: float = TEMPO_TOLERANCE) -> bool:
    return any(tempo_ok(estimate, truth * f, tolerance) for f in OCTAVE_FACTORS)


def key_score(tonic: int | None, mode: str | None, true_tonic: int, true_mode: str) -> float:
    if tonic is None or mode is None:
        return 0.0
    interval = (tonic - true_tonic) % 12
    if mode == true_mode:
        return 1.0 if interval == 0 else 0.5 if interval in (5, 7) else 0.0
    if interval == 0:
        return 0.2
    relative = 9 if true_mode == "major" else 3
    return 0.3 if interval == relative else 0.0


def cents_between(estimate_hz: float, truth_hz: float) -> float:
    """Signed error in cents, folded into -50..50."""
    cents = 1200 * math.log2(estimate_hz / truth_hz)
    return (cents + 50) % 100 - 50


def tuning_cents(tuning_hz: float) -> float:
    return 1200 * math.log2(tuning_hz / 440.0)


def tempo_scored(clip: dict) -> bool:
    return clip["seconds"] >= TEMPO_MIN_SECONDS


def key_scored(clip: dict) -> bool:
    return bool(clip["pitched"]) and clip["tonic"] is not None


def summarise(clips: Iterable[dict], estimates: dict[str, Estimate]) -> dict:
    """The figures for these clips: fractions in 0..1, or None where no clip counts."""
    clips = [c for c in clips if c["id"] in estimates]
    tempo = [c for c in clips if tempo_scored(c)]
    keyed = [c for c in clips if key_scored(c)]
    drums_only = [c for c in clips if not c["pitched"]]
    detuned = [c for c in clips if c["pitched"] and abs(tuning_cents(c["tuning_hz"])) >= DETUNED_CENTS]
    tuned = [c for c in clips if c["pitched"] and estimates[c["id"]].tuning_hz]
    cpu = [e.cpu_seconds for c in clips if (e := estimates[c["id"]]).cpu_seconds is not None]

    def share(items: list[dict], ok) -> float | None:
        return sum(1 for c in items if ok(c, estimates[c["id"]])) / len(items) if items else None

    return {
        "clips": len(clips),
        "failed": sum(1 for c in clips if estimates[c["id"]].error),
        "tempo_clips": len(tempo),
        "tempo_4pct": share(tempo, lambda c, e: tempo_ok(e.bpm, c["bpm"])),
        "tempo_octave": share(tempo, lambda c, e: tempo_octave_ok(e.bpm, c["bpm"])),
        "key_clips": len(keyed),
        "key_mirex": (statistics.fmean(key_score(estimates[c["id"]].tonic, estimates[c["id"]].mode,
                                                 c["tonic"], c["mode"]) for c in keyed) if keyed else None),
        "key_exact": share(keyed, lambda c, e: key_score(e.tonic, e.mode, c["tonic"], c["mode"]) == 1.0),
        "drums_only_clips": len(drums_only),
        "drums_only_no_key": share(drums_only, lambda c, e: e.tonic is None and not e.error),
        "detuned_clips": len(detuned),
        "tuning_5c": share(detuned, lambda c, e: e.tuning_hz is not None
                           and abs(cents_between(e.tuning_hz, c["tuning_hz"])) <= TUNING_TOLERANCE_CENTS),
        "tuning_median_abs_cents": (statistics.median(abs(cents_between(estimates[c["id"]].tuning_hz, c["tuning_hz"]))
                                                      for c in tuned) if tuned else None),
        "tempo_confidence_right": _mean_confidence(tempo, estimates, right=True),
        "tempo_confidence_wrong": _mean_confidence(tempo, estimates, right=False),
        "cpu_median_s": statistics.median(cpu) if cpu else None,
        "cpu_mean_s": statistics.fmean(cpu) if cpu else None,
    }


def _mean_confidence(clips: list[dict], estimates: dict[str, Estimate], *, right: bool) -> float | None:
    """Mean tempo confidence of the answers within 4 % (``right``) or not: a useful confidence
    is higher on the first."""
    values = [e.tempo_confidence for c in clips if (e := estimates[c["id"]]).tempo_confidence is not None
              and tempo_ok(e.bpm, c["bpm"]) == right]
    return statistics.fmean(values) if values else None


def by_style(clips: list[dict], estimates: dict[str, Estimate]) -> dict[str, dict]:
    styles = sorted({c["style"] for c in clips})
    return {s: summarise([c for c in clips if c["style"] == s], estimates) for s in styles}
