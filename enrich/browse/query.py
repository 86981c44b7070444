"""The query language of `enrich ls` and `enrich export`, in the beets tradition.

    genre:jazz                 the genre or any genre under it in the tree
    artist:nirvana             the whole field, ignoring case and accents
    artist:~daft               a substring, ignoring case and accents
    daft                       a word (no field): a substring of artist, album or title
    bpm:120..130  year:..1999  loudness:-20..-12  duration:..3:30   ranges, ends included
    key:8A  key:"A minor"  key:Am  key:compatible:8A                Camelot codes or key names
    missing:genre  missing:features  missing:file  missing:FIELD
    failed:analyze  failed:genres  failed:scan
    source:claude              a genre vote from that source
    ^genre:jazz                not
    genre:jazz,blues           a comma inside a value: either (escape a literal comma as \\,)
    a b , c d                  a lone comma between terms: (a and b) or (c and d)

``parse`` turns the words into a :class:`Query` of plain conditions, or raises
one :class:`QueryError` naming the term. Nothing here knows SQL.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from enrich.browse.keys import compatible, parse_key
from enrich.errors import UsageError


class QueryError(UsageError):
    """A query term that cannot be understood; the message names it."""


# Field name -> (kind, canonical name). Kinds: text, int, float, duration.
FIELDS: dict[str, tuple[str, str]] = {
    "artist": ("text", "artist"),
    "albumartist": ("text", "album_artist"),
    "album_artist": ("text", "album_artist"),
    "album": ("text", "album"),
    "title": ("text", "title"),
    "path": ("text", "path"),
    "format": ("text", "format"),
    "year": ("int", "year"),
    "track": ("int", "track"),
    "disc": ("int", "disc"),
    "id": ("int", "id"),
    "bpm": ("float", "bpm"),
    "tempo": ("float", "bpm"),
    "loudness": ("float", "loudness"),
    "energy": ("float", "energy"),
    "duration": ("duration", "duration"),
    "length": ("duration", "duration"),
}
SPECIAL = ("genre", "key", "camelot", "missing", "failed", "source")
MISSING = {"genre": "genre", "genres": "genre", "features": "features", "file": "file", "key": "key",
           **{name: canonical for name, (_, canonical) in FIELDS.items()}}
FAILED = ("analyze", "genres", "scan")
SOURCES = ("lastfm", "musicbrainz", "musicbrainz_tags", "claude", "file")


@dataclass(frozen=True)
class Text:
    field: str            # canonical field name
    value: str
    substring: bool


@dataclass(frozen=True)
class Words:
    """A bare word: a substring of artist, album artist, album or title."""

    value: str


@dataclass(frozen=True)
class Range:
    field: str
    low: float | None
    high: float | None
    high_open: bool = False  # a lone number on a decimal field: [n - 0.5, n + 0.5)


@dataclass(frozen=True)
class Genre:
    name: str
    names: tuple[str, ...] = ()   # the genre and its descendants, once resolved against the tree


@dataclass(frozen=True)
class Key:
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Missing:
    what: str


@dataclass(frozen=True)
class Failed:
    command: str


@dataclass(frozen=True)
class Source:
    name: str


Condition = Text | Words | Range | Genre | Key | Missing | Failed | Source


@dataclass(frozen=True)
class Term:
    """One word of the query: any of ``options`` (the comma inside a value), maybe negated."""

    options: tuple[Condition, ...]
    negate: bool = False


@dataclass(frozen=True)
class Query:
    """Groups joined by OR; the terms of a group joined by AND. No groups: every track."""

    groups: tuple[tuple[Term, ...], ...] = ()

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(t for g in self.groups for t in g)


def parse(words: Iterable[str]) -> Query:
    """Parse the words given on the command line (the shell has already split them)."""
    groups: list[tuple[Term, ...]] = []
    current: list[Term] = []
    for word in words:
        if word.strip() == ",":
            if current:
                groups.append(tuple(current))
            current = []
            continue
        if word.strip():
            current.append(parse_term(word))
    if current:
        groups.append(tuple(current))
    return Query(tuple(groups))


def parse_term(word: str) -> Term:
    text = word.strip()
    negate = text.startswith("^")
    if negate:
        text = text[1:]
    field, sep, value = text.partition(":")
    if not sep or " " in field:
        field, value = "", text
    field = field.lower()
    if field and field not in FIELDS and field not in SPECIAL:
        known = sorted({*FIELDS, *SPECIAL})
        raise QueryError(f"bad query term {word!r}: unknown field {field!r}{did_you_mean(field, known)};"
                         f" fields: {', '.join(known)}")
    options = tuple(parse_condition(word, field, part) for part in split_values(value))
    if not options:
        raise QueryError(f"bad query term {word!r}: nothing to match after {field + ':'!r}")
    return Term(options, negate)


def split_values(value: str) -> list[str]:
    r"""'a,b' -> ['a', 'b']; 'Earth\, Wind' stays one value."""
    parts = [p.replace("\\,", ",").strip() for p in re.split(r"(?<!\\),", value)]
    return [p for p in parts if p]


def parse_condition(word: str, field: str, value: str) -> Condition:
    def bad(why: str) -> QueryError:
        return QueryError(f"bad query term {word!r}: {why}")

    if not field:
        return Words(value)
    if field == "genre":
        return Genre(value.lower())
    if field in ("key", "camelot"):
        wanted, near = value, False
        if value.lower().startswith("compatible:"):
            wanted, near = value.split(":", 1)[1], True
        code = parse_key(wanted)
        if code is None:
            raise bad(f"{wanted!r} is not a key; write a Camelot code (8A) or a name (A minor, Am, F#)")
        return Key(compatible(code) if near else (code,))
    if field == "missing":
        what = MISSING.get(value.lower())
        if what is None:
            raise bad(f"cannot look for missing {value!r}{did_you_mean(value.lower(), MISSING)};"
                      f" try genre, features, file, or a field")
        return Missing(what)
    if field == "failed":
        command = value.lower().replace("analyse", "analyze")
        if command not in FAILED:
            raise bad(f"no failures of {value!r} are kept; try {', '.join(FAILED)}")
        return Failed(command)
    if field == "source":
        if value.lower() not in SOURCES:
            raise bad(f"unknown source {value!r}{did_you_mean(value.lower(), SOURCES)}; sources: {', '.join(SOURCES)}")
        return Source(value.lower())
    kind, canonical = FIELDS[field]
    if kind == "text":
        if value.startswith("~"):
            if not value[1:]:
                raise bad("nothing to search for after '~'")
            return Text(canonical, value[1:], True)
        return Text(canonical, value, False)
    return parse_range(value, canonical, kind, bad)


def parse_range(value: str, field: str, kind: str, bad: Callable[[str], QueryError]) -> Range:
    example = {"int": "1990..1999", "float": "120..130", "duration": "3:00..4:30"}[kind]
    number = parse_duration if kind == "duration" else float

    def read(text: str) -> float | None:
        if not text:
            return None
        try:
            return number(text)
        except ValueError:
            raise bad(f"{field} needs a number or a range like {example}, not {text!r}") from None

    if ".." in value:
        low_text, _, high_text = value.partition("..")
        low, high = read(low_text.strip()), read(high_text.strip())
        if low is None and high is None:
            raise bad(f"a range needs at least one end, like {example}")
        if low is not None and high is not None and low > high:
            raise bad(f"the range runs backwards ({low_text}..{high_text}); write {high_text}..{low_text}")
        return Range(field, low, high)
    exact = read(value)
    if kind == "float":
        return Range(field, exact - 0.5, exact + 0.5, high_open=True)  # type: ignore[operator]
    return Range(field, exact, exact)


def parse_duration(text: str) -> float:
    """Seconds from '215', '3:35' or '1:02:03'."""
    parts = text.split(":")
    if len(parts) > 3 or not all(p.strip() for p in parts):
        raise ValueError(text)
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def resolve_genres(query: Query, lookup: Callable[[str], str | None],
                   children: Mapping[str, Iterable[str]]) -> Query:
    """Give every genre term its canonical name and descendants.

    ``lookup`` maps any spelling or alias to the canonical genre (None when it
    is not in the vocabulary); ``children`` maps a genre to its direct children.
    """

    def resolve(term: Term) -> Term:
        options: list[Condition] = []
        for c in term.options:
            if isinstance(c, Genre):
                canonical = lookup(c.name)
                if canonical is None:
                    raise QueryError(f"bad query term 'genre:{c.name}': not a genre of the vocabulary"
                                     f"{did_you_mean(c.name, children)}")
                c = Genre(c.name, descendants(canonical, children))
            options.append(c)
        return Term(tuple(options), term.negate)

    return Query(tuple(tuple(resolve(t) for t in group) for group in query.groups))


def descendants(genre: str, children: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    found, todo = [genre], [genre]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.append(child)
                todo.append(child)
    return tuple(found)
