"""How the fake Claude reads a playlist wish: a forced tool whose schema asks for genres, ranges, length...

A test may set the answer for a sentence (``World.wishes[sentence] = ...``):
a dict is the tool input as is (bad answers included), a ``Canned`` sets the
text, the tool input (or none) and the stop_reason. Otherwise the sentence is
read with a few plain rules, enough for the README's example and the
benchmark: genres of the schema's enum written in the sentence (after "no",
"not", "without": excluded), "faster/slower than N bpm", "N-M bpm", calm or
energetic words, happy/sad, "about an hour", "N minutes", "N tracks", rising
or falling energy, "from <genre or artist> to <...>", artists of the World
named in it, and a title from the first clause. Only fields the schema has
are filled: the schema drives the answer, as it drives the real model's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.fakes.world import World, norm


@dataclass
class Canned:
    tool_input: dict | None = None  # None: no tool call at all (the model answered in text)
    text: str = ""
    stop_reason: str = "tool_use"


NUMBER = r"(\d+(?:\.\d+)?)"
NEGATIONS = ("no", "not", "without", "except", "nothing", "never", "but no")
CALM = ("calm", "quiet", "mellow", "chill", "gentle", "soft", "relaxed", "sleepy")
ENERGETIC = ("energetic", "intense", "upbeat", "loud", "party", "workout", "banging")
HAPPY = ("happy", "bright", "sunny", "joyful", "major")
SAD = ("sad", "dark", "melancholic", "melancholy", "moody", "minor")


def words_in(sentence: str, phrase: str) -> list[int]:
    """Start positions of ``phrase`` as whole words in the normalised sentence."""
    return [m.start() for m in re.finditer(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", sentence)]


def negated(sentence: str, at: int) -> bool:
    before = sentence[:at].split()[-2:]
    return any(w in NEGATIONS for w in before)


def read_wish(sentence: str, schema: dict, world: World) -> dict[str, Any]:
    props = schema.get("properties", {})
    s = norm(sentence)
    raw = sentence.lower()
    out: dict[str, Any] = {}
    enum = (props.get("genres", {}).get("items", {}) or {}).get("enum") or []
    wanted, excluded, taken = [], [], []
    for genre in sorted(enum, key=len, reverse=True):
        for at in words_in(s, norm(genre)):
            if any(a <= at < b for a, b in taken):
                continue
            taken.append((at, at + len(norm(genre))))
            (excluded if negated(s, at) else wanted).append(genre)
    if "genres" in props and wanted:
        out["genres"] = list(dict.fromkeys(wanted))
    if "exclude_genres" in props and excluded:
        out["exclude_genres"] = list(dict.fromkeys(excluded))
    if "tempo" in props:
        tempo: dict[str, float] = {}
        if m := re.search(rf"{NUMBER}\s*(?:-|to)\s*{NUMBER}\s*bpm", raw):
            tempo = {"min": float(m[1]), "max": float(m[2])}
        else:
            for m in re.finditer(rf"(faster than|above|over|at least|more than|slower than|under|below|"
                                 rf"at most|up to|less than)\s+{NUMBER}\s*bpm", raw):
                nothing = raw[:m.start()].rstrip().endswith(("nothing", "no", "never", "not"))
                upper = m[1] in ("slower than", "under", "below", "at most", "up to", "less than")
                tempo["max" if upper != nothing else "min"] = float(m[2])
        if tempo:
            out["tempo"] = tempo
    if "energy" in props:
        if any(words_in(s, w) for w in CALM):
            out["energy"] = {"max": 0.4}
        elif any(words_in(s, w) for w in ENERGETIC):
            out["energy"] = {"min": 0.6}
    if "mode" in props:
        if any(words_in(s, w) for w in SAD):
            out["mode"] = "minor"
        elif any(words_in(s, w) for w in HAPPY):
            out["mode"] = "major"
    named = [a.name for a in world.artists if words_in(s, norm(a.name))]
    if "artists" in props and named:
        out["artists"] = named
    if m := re.search(rf"{NUMBER}\s*(?:tracks|songs)", raw):
        out["tracks"] = int(float(m[1]))
    elif m := re.search(rf"{NUMBER}\s*(?:minutes|mins|min)\b", raw):
        out["minutes"] = float(m[1])
    elif m := re.search(rf"{NUMBER}\s*hours?", raw):
        out["minutes"] = 60 * float(m[1])
    elif "half an hour" in raw:
        out["minutes"] = 30.0
    elif re.search(r"\ban hour\b", raw):
        out["minutes"] = 60.0
    ends = re.search(r"\bfrom\s+(.+?)\s+to\s+(.+?)(?:[,.;]|$)", raw)
    if ends and "ordering" in props:
        points = [next((g for g in enum if norm(g) == norm(p)), None) or
                  next((a for a in named if norm(a) == norm(p)), None) for p in (ends[1], ends[2])]
        if all(points):
            out.update({"ordering": "journey", "journey_from": points[0], "journey_to": points[1]})
    if "ordering" in props and "ordering" not in out:
        if re.search(r"ris(?:ing|e)|build(?:s|ing)? up|climb", raw):
            out["ordering"] = "energy-up"
        elif re.search(r"wind(?:ing)? down|falling|calm(?:ing)? down", raw):
            out["ordering"] = "energy-down"
        elif "steady" in raw:
            out["ordering"] = "steady"
    if "title" in props:
        first = re.split(r"[,.;:!?]", sentence.strip())[0].strip()
        out["title"] = " ".join(w[:1].upper() + w[1:] for w in first.split()[:6]) or "Playlist"
    return {k: v for k, v in out.items() if k in props}
