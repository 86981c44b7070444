"""Consensus: from votes of every source to a track's few ranked genres (pure).

For each evidence level (track, then album, then artist) the votes are mapped
into the vocabulary, each source's weights are scaled to its own strongest tag,
sources are combined by their configured weight, and a genre also lends a
share of its score to its parents. The first level that yields a genre above
the threshold decides; the top N are kept, most specific first unless the
settings say "score". Every kept genre carries the votes behind it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from enrich.genres.vocabulary import Vocabulary
from enrich.genres.votes import LEVELS, Vote


@dataclass(frozen=True)
class Settings:
    weights: Mapping[str, float]     # source -> weight; a source missing here counts 0
    threshold: float = 0.3           # minimum score (0..1) to keep a genre
    top_n: int = 3
    order: str = "specific"          # "specific": deepest first; "score": best first
    parent_share: float = 0.5        # share of a child's score its parent receives


@dataclass(frozen=True)
class Genre:
    genre: str
    score: float
    level: str
    provenance: tuple[dict[str, Any], ...] = ()   # votes behind it; "via" names the child genre it came through


@dataclass(frozen=True)
class Dropped:
    raw: str
    source: str
    level: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    genres: tuple[Genre, ...]
    dropped: tuple[Dropped, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)  # every candidate at the deciding level


def level_scores(votes: list[tuple[Vote, str]], vocab: Vocabulary,
                 settings: Settings) -> tuple[dict[str, float], dict[str, list[dict[str, Any]]]]:
    """Scores of every genre at one level, with the votes that made them."""
    strongest: dict[str, float] = defaultdict(float)
    best: dict[tuple[str, str], float] = {}
    evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for vote, _genre in votes:
        strongest[vote.source] = max(strongest[vote.source], vote.weight)
    for vote, genre in votes:
        if strongest[vote.source] <= 0:
            continue  # a source whose every vote weighs 0 (say, confidence 0) says nothing
        key = (vote.source, genre)
        best[key] = max(best.get(key, 0.0), vote.weight / strongest[vote.source])
        evidence[genre].append(vote.as_dict())
    total = sum(settings.weights.get(s, 0.0) for s, top in strongest.items() if top > 0)
    if total <= 0:
        return {}, evidence
    direct: dict[str, float] = defaultdict(float)
    for (source, genre), share in best.items():
        direct[genre] += settings.weights.get(source, 0.0) * share / total

    scores = dict(direct)
    if settings.parent_share > 0:
        # Deepest first, so a grandchild's support passes through its parent.
        for genre in sorted(direct, key=vocab.depth, reverse=True):
            lent = scores[genre] * settings.parent_share
            for _depth, parent in enumerate(vocab.ancestors(genre)):
                if lent <= scores.get(parent, 0.0):
                    break
                scores[parent] = lent
                evidence[parent].extend(dict(v, via=genre) for v in evidence[genre] if "via" not in v)
                lent *= settings.parent_share
    return scores, evidence


def rank(scores: Mapping[str, float], vocab: Vocabulary, settings: Settings) -> list[str]:
    kept = [g for g, s in scores.items() if s >= settings.threshold - 1e-9]
    kept.sort(key=lambda g: (-round(scores[g], 9), -vocab.depth(g), g))
    kept = kept[: settings.top_n]
    if settings.order == "specific":
        kept.sort(key=lambda g: (-vocab.depth(g), -round(scores[g], 9), g))
    return kept


def decide(votes: Iterable[Vote], vocab: Vocabulary, settings: Settings, artist: str | None = None) -> Outcome:
    """The track's genres from all its votes."""
    mapped: dict[str, list[tuple[Vote, str]]] = {level: [] for level in LEVELS}
    dropped = []
    for vote in votes:
        match = vocab.classify(vote.raw, artist)
        if match.genre is None:
            dropped.append(Dropped(vote.raw, vote.source, vote.level, match.reason))
        else:
            mapped.setdefault(vote.level, []).append((vote, match.genre))
    for level in LEVELS:
        if not mapped.get(level):
            continue
        scores, evidence = level_scores(mapped[level], vocab, settings)
        chosen = rank(scores, vocab, settings)
        if chosen:
            genres = tuple(Genre(g, round(scores[g], 4), level, tuple(evidence[g])) for g in chosen)
            return Outcome(genres, tuple(dropped), scores)
    return Outcome((), tuple(dropped), {})
