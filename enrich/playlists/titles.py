"""Normalised names: the same song under its remaster, live, edit and feat. variants."""

from __future__ import annotations

import re
import unicodedata

# Bracketed or dash-separated version notes that do not make a different song.
VERSION_WORDS = (
    r"remaster(?:ed)?|re-?master(?:ed)?|live|radio edit|single edit|edit|radio version|single version"
    r"|album version|mono|stereo|explicit|clean|deluxe|bonus track|original mix|demo|acoustic version"
    r"|\d{4} (?:remaster(?:ed)?|mix|version)"
)
BRACKETED = re.compile(r"[\(\[][^\)\]]*?(?:" + VERSION_WORDS + r"|feat\.?|ft\.?|featuring|with )[^\)\]]*[\)\]]", re.I)
DASH_NOTE = re.compile(r"\s+-\s+(?:[^-]*?\b(?:" + VERSION_WORDS + r")\b[^-]*)$", re.I)
FEAT = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+.*$", re.I)
NON_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    text = text or ""
    if not text.isascii():  # ASCII has nothing to decompose: skip the per-character pass
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold().replace("&", " and ")
    return " ".join(NON_WORD.sub(" ", text).split())


def song_title(title: str) -> str:
    """The title without version notes: 'Song (2011 Remaster) [feat. X]' -> 'song'."""
    text = title or ""
    for _ in range(3):
        before = text
        text = BRACKETED.sub("", text)
        text = DASH_NOTE.sub("", text)
        text = FEAT.sub("", text)
        if text == before:
            break
    return fold(text) or fold(title)


def main_artist(artist: str) -> str:
    """'A feat. B' and 'A ft B' are A."""
    return fold(FEAT.sub("", artist or "")) or fold(artist)


def artist_key(artist: str, path: str) -> str:
    """The artist rules' key; a track without an artist is an artist of its own (its path)."""
    return main_artist(artist) or f"\x1f{path}"


def song_key(artist: str, title: str, path: str = "") -> str:
    """Tracks with one key are one song; a track without a title is a song of its own (its path)."""
    if not song_title(title):
        return f"\x1f\x1f{path}"
    return f"{main_artist(artist)}\x1f{song_title(title)}"
