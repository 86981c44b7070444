"""The fit behind tempo.py's LEVEL_WEIGHTS and SOFTMAX_SCALE (tests/corpus/level_fit.py),
checked on synthetic clips whose right candidate is drawn from a softmax of known weights."""

from __future__ import annotations

import numpy as np
import pytest

from tests.corpus.level_fit import (
    Choice,
    Padded,
    cosine,
    fit_scale,
    fit_weights,
    hit_rate,
    log_loss,
    objective,
    reliability,
    winner_share,
)

TRUE_WEIGHTS = np.array([4.0, 1.0, -2.0, 1.5, 2.5, 2.5, -3.0])


def synthetic(rng: np.random.Generator, clips: int, weights: np.ndarray, scale: float = 1.0) -> list[Choice]:
    """Clips of 2-9 candidates with random evidence; the right one drawn from softmax(scale * evidence @ weights)."""
    out = []
    for _ in range(clips):
        evidence = rng.normal(size=(int(rng.integers(2, 10)), len(weights)))
        logits = scale * evidence @ weights
        p = np.exp(logits - logits.max())
        correct = np.zeros(len(evidence), dtype=bool)
        correct[rng.choice(len(evidence), p=p / p.sum())] = True
        out.append(Choice(evidence, correct))
    return out


def test_the_fit_recovers_the_weights_direction_and_predicts_better_than_chance() -> None:
    rng = np.random.default_rng(9)
    train, test = synthetic(rng, 400, TRUE_WEIGHTS), synthetic(rng, 400, TRUE_WEIGHTS)
    fitted = fit_weights(train)
    assert cosine(fitted, TRUE_WEIGHTS) > 0.95
    chance = float(np.mean([1 / len(c.evidence) for c in test]))
    assert hit_rate(test, fitted) > chance + 0.3
    # as good as the weights that made the data, give or take the noise of 400 clips
    assert hit_rate(test, fitted) > hit_rate(test, TRUE_WEIGHTS) - 0.05


def test_clips_with_two_right_candidates_count_both_and_clips_with_none_are_left_out() -> None:
    rng = np.random.default_rng(3)
    train = synthetic(rng, 300, TRUE_WEIGHTS)
    # a duplicate of each right candidate, also right: the fit must not be thrown by it
    doubled = [Choice(np.vstack([c.evidence, c.evidence[c.correct]]), np.append(c.correct, True)) for c in train]
    nothing_right = [Choice(c.evidence, np.zeros(len(c.evidence), dtype=bool)) for c in synthetic(rng, 50, TRUE_WEIGHTS)]
    fitted = fit_weights(doubled + nothing_right)
    assert cosine(fitted, TRUE_WEIGHTS) > 0.95
    with pytest.raises(ValueError):
        fit_weights(nothing_right)


def test_the_gradient_is_the_objectives() -> None:
    rng = np.random.default_rng(5)
    padded = Padded.of(synthetic(rng, 40, TRUE_WEIGHTS))
    weights = rng.normal(size=len(TRUE_WEIGHTS))
    _, gradient = objective(weights, padded, l2=0.01)
    step = 1e-6
    numeric = np.array([(objective(weights + step * e, padded, l2=0.01)[0]
                         - objective(weights - step * e, padded, l2=0.01)[0]) / (2 * step)
                        for e in np.eye(len(weights))])
    assert np.allclose(gradient, numeric, rtol=1e-4, atol=1e-6)


def test_the_penalty_shrinks_the_weights() -> None:
    rng = np.random.default_rng(7)
    train = synthetic(rng, 200, TRUE_WEIGHTS)
    assert np.linalg.norm(fit_weights(train, l2=0.1)) < 0.7 * np.linalg.norm(fit_weights(train, l2=1e-4))


def test_the_scale_is_calibrated_so_the_winners_share_predicts_being_right() -> None:
    """Scores that are half the true logits: the winner is right as often as its share at scale 2 says."""
    rng = np.random.default_rng(11)
    direction = TRUE_WEIGHTS / 6.0
    clips = synthetic(rng, 600, direction, scale=2.0)
    scores = [c.evidence @ direction for c in clips]
    right = [bool(c.correct[int(np.argmax(s))]) for c, s in zip(clips, scores, strict=True)]
    scale = fit_scale(scores, right)
    assert 1.6 < scale < 2.5
    calibrated = [winner_share(s, scale) for s in scores]
    assert log_loss(np.array(calibrated), np.array(right)) < log_loss(
        np.array([winner_share(s, 1.0) for s in scores]), np.array(right))
    table = reliability(calibrated, right, bins=5)
    assert sum(b.count for b in table) == len(clips)
    for b in table:
        if b.count >= 50:
            assert abs(b.predicted - b.observed) < 0.12
            assert b.low <= b.predicted <= b.high
