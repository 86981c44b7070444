"""Fitting the tempo estimator's choice between metrical levels: a conditional logit.

Each clip offers a few candidate levels, each with an evidence vector (enrich/analysis/
tempo.py ``level_evidence``); the estimator answers with the candidate of the highest
weighted evidence. ``fit_weights`` finds the weights that maximise the mean log softmax
probability of the right candidates (their summed probability, when two candidates are
within the tolerance of the truth) less a small L2 penalty; the problem is convex, so
the optimum does not depend on where the search starts. ``fit_scale`` then scales the
scores so that the winner's softmax share predicts how often it is right.

Used by tests/bench/learn_tempo_levels.py; enrich fits nothing at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, minimize_scalar

L2 = 1e-3  # penalty on the squared weights, against the mean log likelihood


@dataclass(frozen=True)
class Choice:
    """One clip's candidates: ``evidence`` is candidates x features, ``correct`` marks the right ones."""

    evidence: np.ndarray
    correct: np.ndarray


@dataclass(frozen=True)
class Padded:
    """Choices stacked into arrays, shorter candidate lists padded and masked out."""

    evidence: np.ndarray  # clips x candidates x features
    valid: np.ndarray  # clips x candidates
    correct: np.ndarray  # clips x candidates

    @classmethod
    def of(cls, choices: Sequence[Choice]) -> Padded:
        width = max(len(c.evidence) for c in choices)
        features = choices[0].evidence.shape[1]
        evidence = np.zeros((len(choices), width, features))
        valid = np.zeros((len(choices), width), dtype=bool)
        correct = np.zeros((len(choices), width), dtype=bool)
        for i, c in enumerate(choices):
            n = len(c.evidence)
            evidence[i, :n], valid[i, :n], correct[i, :n] = c.evidence, True, c.correct
        return cls(evidence, valid, correct)

    def probabilities(self, weights: np.ndarray) -> np.ndarray:
        """Softmax over each clip's candidates (0 for the padding)."""
        scores = np.where(self.valid, self.evidence @ weights, -np.inf)
        scores = scores - scores.max(axis=1, keepdims=True)
        odds = np.exp(scores)
        return np.asarray(odds / odds.sum(axis=1, keepdims=True))


def objective(weights: np.ndarray, padded: Padded, l2: float = L2) -> tuple[float, np.ndarray]:
    """Minus the mean log probability of the right candidates, plus the penalty; and its gradient."""
    p = padded.probabilities(weights)
    right = np.where(padded.correct, p, 0.0).sum(axis=1)
    value = -float(np.mean(np.log(np.maximum(right, 1e-300)))) + l2 * float(weights @ weights)
    # d(-log sum_right p)/dw = E_p[x] - E_{p restricted to the right ones}[x]
    shift = p - np.where(padded.correct, p, 0.0) / np.maximum(right, 1e-300)[:, None]
    gradient = np.einsum("ck,ckf->f", shift, padded.evidence) / len(right) + 2 * l2 * weights
    return value, gradient


def fit_weights(choices: Sequence[Choice], l2: float = L2) -> np.ndarray:
    """The weights of the conditional logit, fitted on the choices that have a right candidate."""
    usable = [c for c in choices if np.any(c.correct)]
    if not usable:
        raise ValueError("no choice has a right candidate to learn from")
    padded = Padded.of(usable)
    start = np.zeros(padded.evidence.shape[2])
    result = minimize(objective, start, args=(padded, l2), jac=True, method="L-BFGS-B")
    if not result.success:
        raise RuntimeError(f"the fit did not converge: {result.message}")
    return np.asarray(result.x)


def winners(choices: Sequence[Choice], weights: np.ndarray) -> list[int]:
    """The index of the best-scoring candidate of each choice."""
    return [int(np.argmax(c.evidence @ weights)) for c in choices]


def hit_rate(choices: Sequence[Choice], weights: np.ndarray) -> float:
    """The share of choices whose best-scoring candidate is a right one."""
    return float(np.mean([bool(c.correct[w]) for c, w in zip(choices, winners(choices, weights), strict=True)]))


def winner_share(scores: np.ndarray, scale: float) -> float:
    """The softmax share of the best score, the scores multiplied by ``scale``."""
    logits = scale * np.asarray(scores, dtype=np.float64)
    odds = np.exp(logits - logits.max())
    return float(odds.max() / odds.sum())


def log_loss(predicted: np.ndarray, right: np.ndarray) -> float:
    """Mean Bernoulli log loss of predicting ``right`` (booleans) with probabilities ``predicted``."""
    p = np.clip(np.asarray(predicted, dtype=np.float64), 1e-9, 1 - 1e-9)
    y = np.asarray(right, dtype=bool)
    return float(-np.mean(np.where(y, np.log(p), np.log(1 - p))))


def fit_scale(scores: Sequence[np.ndarray], right: Sequence[bool], bounds: tuple[float, float] = (0.01, 100.0)) -> float:
    """The scale whose winner shares best predict ``right`` (least log loss): the confidence calibration."""
    if not scores:
        raise ValueError("no scores to calibrate on")
    truth = np.asarray(right, dtype=bool)

    def loss(log_scale: float) -> float:
        scale = float(np.exp(log_scale))
        return log_loss(np.array([winner_share(s, scale) for s in scores]), truth)

    result = minimize_scalar(loss, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                             options={"xatol": 1e-4})
    return float(np.exp(result.x))


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    predicted: float  # mean predicted probability in the bin (nan when empty)
    observed: float  # share right in the bin (nan when empty)


def reliability(predicted: Sequence[float], right: Sequence[bool], bins: int = 5) -> list[Bin]:
    """Predicted probability against the observed share right, in ``bins`` equal-width bins of 0..1."""
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(right, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        out.append(Bin(float(edges[b]), float(edges[b + 1]), n,
                       float(p[inside].mean()) if n else float("nan"),
                       float(y[inside].mean()) if n else float("nan")))
    return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
