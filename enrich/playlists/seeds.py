"""Finding the track a user means: a path, "artist - title", or a title alone.

Ambiguous and unknown names are errors that list what the user may have meant.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Sequence
from pathlib import Path

from enrich.errors import PlaylistError
from enrich.playlists.titles import fold, main_artist, song_title
from enrich.store.library_view import LibraryView

SHOWN = 8  # candidates listed in an error


def describe(view: LibraryView, i: int) -> str:
    return f"{view.artists[i] or '?'} - {view.titles[i] or '?'} ({view.paths[i]})"


def resolve_seed(view: LibraryView, text: str) -> int:
    """The library row ``text`` names, or a PlaylistError saying what it could have meant."""
    text = text.strip()
    if not text:
        raise PlaylistError("an empty seed was given; use --seed PATH or --seed \"Artist - Title\"")
    by_path = path_match(view, text)
    if by_path is not None:
        return by_path
    looks_like_path = os.sep in text or Path(text).suffix.lower().lstrip(".") in AUDIO_ENDINGS
    if looks_like_path and " - " not in text:
        where = "is not in the database; run `enrich scan` on its folder" if Path(text).exists() else \
            "is neither a file nor a track in the database"
        raise PlaylistError(f"seed {text}: {where}")
    found: list[int] = []
    for artist, title in splits(text):
        found = name_matches(view, artist, title)
        if found:
            break
    if not found:
        found = title_matches(view, text)
    if len(found) == 1:
        return found[0]
    if found:
        listed = "; ".join(describe(view, i) for i in found[:SHOWN])
        more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        raise PlaylistError(f"seed '{text}' is ambiguous: {len(found)} tracks match: {listed}{more}; "
                            "give the path instead")
    close = close_matches(view, text)
    hint = ("; close matches: " + "; ".join(close)) if close else "; nothing close either"
    raise PlaylistError(f"seed '{text}' matches no track in the database{hint}")


AUDIO_ENDINGS = {"mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "wav", "aif", "aiff", "wma", "ape", "wv"}


def path_match(view: LibraryView, text: str) -> int | None:
    candidates = {text, os.path.abspath(os.path.expanduser(text))}
    with contextlib.suppress(OSError):
        candidates.add(str(Path(text).expanduser().resolve()))
    rows = [row_of(view.paths, c) for c in candidates]
    found = [r for r in rows if r is not None]
    if found:
        return min(found)
    for i, p in view.fs_paths.items():
        if p in candidates:
            return i
    return None


def row_of(column: Sequence[str], text: str) -> int | None:
    """The first row of ``column`` equal to ``text`` (a snapshot's column finds it without decoding all)."""
    try:
        return column.index(text)
    except ValueError:
        return None


def splits(text: str) -> list[tuple[str, str]]:
    """Every way to read ``text`` as "artist - title" (artists may contain " - " too)."""
    parts = text.split(" - ")
    return [(" - ".join(parts[:k]), " - ".join(parts[k:])) for k in range(1, len(parts))]


def name_matches(view: LibraryView, artist: str, title: str) -> list[int]:
    wanted = artist.casefold().strip()
    rows = [i for i, a in enumerate(view.artists) if a.casefold().strip() == wanted]
    if not rows:
        folded = main_artist(artist)
        rows = [i for i, a in enumerate(view.artists) if main_artist(a) == folded]
    exact = [i for i in rows if view.titles[i].casefold().strip() == title.casefold().strip()]
    if exact:
        return exact
    song = song_title(title)
    return [i for i in rows if song_title(view.titles[i]) == song]


def title_matches(view: LibraryView, title: str) -> list[int]:
    wanted = title.casefold().strip()
    return [i for i, t in enumerate(view.titles) if t.casefold().strip() == wanted]


def close_matches(view: LibraryView, text: str) -> list[str]:
    """Up to SHOWN "artist - title" names near ``text``: the artist first, then the title."""
    names = sorted({a for a in view.artists if a})
    folded = {fold(a): a for a in names}
    guesses: list[str] = []
    for artist, title in splits(text) or [("", text)]:
        near_artists = [folded[f] for f in difflib.get_close_matches(fold(artist), list(folded), n=3, cutoff=0.6)]
        for a in near_artists:
            rows = [i for i, x in enumerate(view.artists) if x == a]
            titles = {fold(view.titles[i]): i for i in rows}
            near = difflib.get_close_matches(fold(title), list(titles), n=3, cutoff=0.3) or list(titles)[:2]
            guesses += [f"{view.artists[titles[t]]} - {view.titles[titles[t]]}" for t in near]
    if not guesses:
        all_titles = {fold(t): i for i, t in enumerate(view.titles) if t}
        near = difflib.get_close_matches(fold(text.split(" - ")[-1]), list(all_titles), n=SHOWN, cutoff=0.6)
        guesses = [f"{view.artists[all_titles[t]]} - {view.titles[all_titles[t]]}" for t in near]
    return list(dict.fromkeys(guesses))[:SHOWN]
