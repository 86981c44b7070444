"""The canonical genre vocabulary: tree, aliases and ignore list from config/genres.

``Vocabulary.classify(raw, artist)`` says what a raw tag is: a canonical genre,
or dropped with the reason (ignored, the artist's own name, not a genre).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enrich.config import config_dir
from enrich.errors import ConfigError
from enrich.genres.normalise import fold, normalise

INDENT = 2


@dataclass(frozen=True)
class Match:
    """What a raw tag turned out to be: ``genre`` or, when None, ``reason`` it was dropped."""

    genre: str | None
    reason: str


@dataclass(frozen=True)
class Vocabulary:
    parent: Mapping[str, str | None]        # genre -> parent (None for roots)
    keys: Mapping[str, str]                 # folded spelling -> genre
    ignored: Mapping[str, str]              # folded tag -> reason
    patterns: tuple[tuple[re.Pattern[str], str], ...]
    artist_ignores: Mapping[str, frozenset[str]]  # folded artist -> folded tags

    @property
    def genres(self) -> tuple[str, ...]:
        return tuple(sorted(self.parent))

    def __contains__(self, genre: str) -> bool:
        return genre in self.parent

    def ancestors(self, genre: str) -> list[str]:
        """Parents up to the root, nearest first."""
        found, up = [], self.parent.get(genre)
        while up is not None:
            found.append(up)
            up = self.parent.get(up)
        return found

    def depth(self, genre: str) -> int:
        return len(self.ancestors(genre))

    def root(self, genre: str) -> str:
        chain = self.ancestors(genre)
        return chain[-1] if chain else genre

    def classify(self, raw: str, artist: str | None = None) -> Match:
        text = normalise(raw)
        key = text.replace(" ", "")
        if not key:
            return Match(None, "empty tag")
        if artist:
            artist_key = fold(artist)
            if key == artist_key or key == fold("the " + artist) or "the" + key == artist_key:
                return Match(None, "the artist's own name")
            if key in self.artist_ignores.get(artist_key, ()):
                return Match(None, f"ignored for {artist}")
        if key in self.ignored:
            return Match(None, f"not a genre ({self.ignored[key]})")
        for pattern, reason in self.patterns:
            if pattern.fullmatch(text):
                return Match(None, f"not a genre ({reason})")
        genre = self.keys.get(key)
        if genre is None:
            return Match(None, "not in the vocabulary")
        return Match(genre, "canonical" if fold(genre) == key else "alias")


def parse_tree(text: str, source: str) -> dict[str, str | None]:
    """Indented lines -> {genre: parent}."""
    parent: dict[str, str | None] = {}
    stack: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        spaces = len(line) - len(line.lstrip(" "))
        name = line.strip()
        if spaces % INDENT or spaces // INDENT > len(stack):
            raise ConfigError(f"{source}:{number}: '{name}' is indented oddly (two spaces per level)")
        level = spaces // INDENT
        del stack[level:]
        if name != name.lower() or name in parent:
            why = "is listed twice" if name in parent else "must be lower case"
            raise ConfigError(f"{source}:{number}: genre '{name}' {why}")
        parent[name] = stack[-1] if stack else None
        stack.append(name)
    return parent


def build_keys(parent: Mapping[str, str | None], aliases: Mapping[str, list[Any]], source: str) -> dict[str, str]:
    keys: dict[str, str] = {}

    def add(spelling: str, genre: str, what: str) -> None:
        key = fold(spelling)
        if keys.get(key, genre) != genre:
            raise ConfigError(f"{source}: {what} '{spelling}' means both '{keys[key]}' and '{genre}'")
        keys[key] = genre

    for genre in parent:
        add(genre, genre, "genre")
    for genre, spellings in aliases.items():
        if genre not in parent:
            raise ConfigError(f"{source}: alias target '{genre}' is not a genre of tree.txt")
        if not isinstance(spellings, list) or not all(isinstance(s, str) for s in spellings):
            raise ConfigError(f"{source}: '{genre}' must be a list of strings")
        for spelling in spellings:
            add(spelling, genre, "alias")
    return keys


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the genre vocabulary: {exc}") from exc


@functools.lru_cache(maxsize=4)
def load_vocabulary(directory: Path | None = None) -> Vocabulary:
    """Read tree.txt, aliases.toml and ignore.toml from ``directory`` (default config/genres)."""
    directory = Path(directory) if directory else config_dir() / "genres"
    tree_path = directory / "tree.txt"
    try:
        parent = parse_tree(tree_path.read_text(encoding="utf-8"), str(tree_path))
    except OSError as exc:
        raise ConfigError(f"{tree_path}: cannot read the genre tree: {exc.strerror}") from exc
    keys = build_keys(parent, read_toml(directory / "aliases.toml"), str(directory / "aliases.toml"))

    ignore = read_toml(directory / "ignore.toml")
    ignored: dict[str, str] = {}
    for reason, tags in ignore.get("tags", {}).items():
        for tag in tags:
            ignored[fold(tag)] = reason.replace("_", " ")
    patterns = []
    for reason, regexes in ignore.get("patterns", {}).items():
        for regex in regexes:
            try:
                patterns.append((re.compile(regex), reason.replace("_", " ")))
            except re.error as exc:
                raise ConfigError(f"{directory / 'ignore.toml'}: bad pattern {regex!r}: {exc}") from exc
    artist_ignores = {
        fold(artist): frozenset(fold(t) for t in tags) for artist, tags in ignore.get("artists", {}).items()
    }
    return Vocabulary(parent, keys, ignored, tuple(patterns), artist_ignores)
