"""The canonical genre tree, reduced at this edge to what similarity uses.

Similarity only needs child -> parent; enrich/genres owns the tree itself.
Without it (a partial install) genres are still compared, as a flat list.
"""

from __future__ import annotations

from collections.abc import Callable

from enrich.playlists.titles import fold


def flat_lookup(name: str) -> str | None:
    return None


def load_tree() -> tuple[dict[str, str], Callable[[str], str | None]]:
    """(child -> parent, a lookup from any spelling or alias to the canonical genre)."""
    try:
        from enrich.genres.normalise import fold as genre_fold
        from enrich.genres.vocabulary import load_vocabulary
    except ImportError:
        return {}, flat_lookup
    vocabulary = load_vocabulary()
    parents = {g: p for g, p in vocabulary.parent.items() if p}
    return parents, lambda name: vocabulary.keys.get(genre_fold(name))


def same_spelling(a: str, b: str) -> bool:
    return fold(a).replace(" ", "") == fold(b).replace(" ", "")
