"""Matching MusicBrainz artist search results back to the names asked (pure).

One search asks for several names at once and returns one list ranked by
score, so results are matched by normalised name, sort name ("Beatles, The")
and aliases, never by position. A wrong artist is worse than none: a name
with two equally good different candidates gets no match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from enrich.genres.normalise import fold


@dataclass(frozen=True)
class ArtistMatch:
    name: str                  # the name asked
    id: str
    matched_by: str            # name, sort-name or alias
    score: int                 # the search score, 0-100
    tags: tuple[tuple[str, int], ...] = ()


def spellings(name: str) -> set[str]:
    """Folded forms of a name, with and without a leading 'the'."""
    key = fold(name)
    forms = {key}
    if key.startswith("the") and len(key) > 3:
        forms.add(key[3:])
    else:
        forms.add("the" + key)
    return forms


def sort_name_forms(sort_name: str) -> set[str]:
    """'Beatles, The' -> also 'The Beatles'; 'Bowie, David' -> also 'David Bowie'."""
    forms = {fold(sort_name)}
    if ", " in sort_name:
        last, _, first = sort_name.partition(", ")
        forms.add(fold(f"{first} {last}"))
    return forms - {""}


def how_matched(name: str, candidate: dict[str, Any]) -> str | None:
    wanted = spellings(name)
    if fold(candidate.get("name", "")) in wanted:
        return "name"
    if sort_name_forms(candidate.get("sort_name", "")) & wanted:
        return "sort-name"
    if any(fold(alias) in wanted for alias in candidate.get("aliases", ())):
        return "alias"
    return None


def match_artists(names: list[str], results: list[dict[str, Any]], min_score: int) -> dict[str, ArtistMatch | None]:
    """Each name -> its artist, or None when nothing (or nothing unambiguous) matches."""
    matched: dict[str, ArtistMatch | None] = {}
    for name in names:
        candidates = []
        for cand in results:
            how = how_matched(name, cand)
            if how and cand.get("score", 0) >= min_score and cand.get("id"):
                rank = {"name": 0, "sort-name": 1, "alias": 2}[how]
                candidates.append((rank, -cand["score"], cand, how))
        candidates.sort(key=lambda c: (c[0], c[1]))
        if not candidates:
            matched[name] = None
            continue
        best = candidates[0]
        rivals = [c for c in candidates[1:] if c[:2] == best[:2] and c[2]["id"] != best[2]["id"]]
        if rivals:
            matched[name] = None   # two artists answer equally well: do not guess
            continue
        cand = best[2]
        matched[name] = ArtistMatch(name, cand["id"], best[3], int(cand["score"]), tuple(cand.get("tags", ())))
    return matched
