"""The name key of a song for finding copies (pure).

The title loses its version notes exactly as playlists take them off
(``enrich.playlists.titles``: remaster, edit, mono, feat. ...), but the notes
that make another recording of the song (live, acoustic, demo, unplugged,
instrumental) are kept in the key, so a live take never matches the studio one.
A live album ("Live at Budokan", "... (Live)") marks its tracks live too.
A track whose tags lack artist or title takes them from its file name
(``enrich.library.names``, as the scan does).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from enrich.library.names import parse_stem, readable
from enrich.playlists.titles import BRACKETED, DASH_NOTE, NON_WORD, fold, main_artist, song_title

OTHER_TAKE = re.compile(r"\b(live|unplugged|acoustic|demo|instrumental|a cappella|acapella|karaoke)\b", re.I)
LIVE_ALBUM = re.compile(r"\blive\s+(?:at|in|from|on)\b|[\(\[]\s*live\b|\bunplugged\b|\bin concert\b", re.I)
# What any version note needs (a bracket, " - ", feat.): titles without one have none to take off.
NOTE_HINT = re.compile(r"[\(\[]|\s-\s|\s(?:feat|ft|featuring)\b", re.I)


def quick_fold(text: str) -> str:
    """``titles.fold``, without the accent pass for plain ASCII (most names; the same answer)."""
    if text.isascii():
        return " ".join(NON_WORD.sub(" ", text.casefold().replace("&", " and ")).split())
    return fold(text)


@lru_cache(maxsize=1 << 16)
def artist_key(artist: str) -> str:
    return main_artist(artist)  # artists repeat: one fold each


def title_key(title: str) -> str:
    return song_title(title) if NOTE_HINT.search(title) else quick_fold(title)


def takes(title: str, album: str = "") -> tuple[str, ...]:
    """The kinds of other recording the title's notes (or the album's name) announce, sorted."""
    if not NOTE_HINT.search(title):
        return ("live",) if album and LIVE_ALBUM.search(album) else ()
    notes = [m.group(0) for m in BRACKETED.finditer(title)]
    rest = BRACKETED.sub("", title)
    dash = DASH_NOTE.search(rest)
    if dash:
        notes.append(dash.group(0))
    found = {m.group(1).lower().replace("acapella", "a cappella") for n in notes for m in OTHER_TAKE.finditer(n)}
    if album and LIVE_ALBUM.search(album):
        found.add("live")
    return tuple(sorted(found))


def artist_title(artist: str, title: str, path: str) -> tuple[str, str]:
    """The artist and title to match on: the tags, or what the file name says where they are empty."""
    if artist and title:
        return artist, title
    stem = os.path.splitext(readable(os.path.basename(path)))[0]
    named = parse_stem(stem)
    return artist or named.artist or "", title or named.title or ""


def song_key(artist: str, title: str, album: str, path: str) -> str | None:
    """Tracks with one key are the same song in the same kind of take; None when there is too little to say."""
    artist, title = artist_title(artist, title, path)
    who, what = artist_key(artist), title_key(title)
    if not who or not what:
        return None
    return "\x1f".join((who, what, *takes(title, album)))
