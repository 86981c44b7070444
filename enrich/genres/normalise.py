"""Turning a raw tag into the forms it is compared in.

``normalise`` gives a readable form (lower case, no accents, "and" for "&",
single spaces): ignore patterns run on it. ``fold`` removes the spaces too,
so "hip-hop", "Hip Hop" and "hiphop" meet on the same key.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_AND = re.compile(r"\s*&\s*|\s+'?n'?\s+|'n'")
_SEPARATORS = re.compile(r"[-_/.,+;:|~]+")
_DROP = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


# Letters that do not decompose into a base letter plus an accent.
_LETTERS = str.maketrans({"ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "æ": "ae", "Æ": "Ae", "ø": "o", "Ø": "O",
                          "ß": "ss", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "œ": "oe", "Œ": "Oe"})


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Tags repeat across a library (a few thousand distinct among millions of votes): remember them.
@functools.lru_cache(maxsize=65536)
def normalise(tag: str) -> str:
    """'Drum & Bass' -> 'drum and bass'; 'Hip-Hop' -> 'hip hop'; ' Oi! ' -> 'oi'."""
    text = strip_accents(unicodedata.normalize("NFKC", tag)).casefold()
    text = _AND.sub(" and ", text)
    text = _SEPARATORS.sub(" ", text)
    text = _DROP.sub("", text)
    return _SPACES.sub(" ", text).strip()


@functools.lru_cache(maxsize=65536)
def fold(tag: str) -> str:
    """The matching key: the normalised tag without spaces ('hip hop' -> 'hiphop')."""
    return normalise(tag).replace(" ", "")
