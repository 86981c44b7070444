"""When the Claude classifier is asked: a pure decision over a consensus outcome."""

from __future__ import annotations

from dataclasses import dataclass

from enrich.genres.consensus import Outcome
from enrich.genres.vocabulary import Vocabulary

MODES = ("never", "fallback", "always")
REASONS = ("empty", "weak", "conflict")


@dataclass(frozen=True)
class ClassifierPolicy:
    mode: str = "fallback"              # never | fallback (when the others leave it open) | always
    when: tuple[str, ...] = REASONS     # which open cases count, in fallback mode
    weak_below: float = 0.5             # best score under this is weak
    conflict_ratio: float = 0.85        # runner-up from another root this close to the best is a conflict


def classifier_reason(outcome: Outcome, vocab: Vocabulary, policy: ClassifierPolicy) -> str | None:
    """Why the classifier should see this track, or None when it should not."""
    if policy.mode == "never":
        return None
    if policy.mode == "always":
        return "always"
    genres = outcome.genres
    if not genres:
        return "empty" if "empty" in policy.when else None
    by_score = sorted(genres, key=lambda g: -g.score)
    if "weak" in policy.when and by_score[0].score < policy.weak_below:
        return "weak"
    if "conflict" in policy.when:
        best = by_score[0]
        for other in by_score[1:]:
            if vocab.root(other.genre) != vocab.root(best.genre) and other.score >= policy.conflict_ratio * best.score:
                return "conflict"
    return None
