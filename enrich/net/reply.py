"""What a request gives back (`Reply`) and what a source makes of it (`Verdict`)."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from enrich.errors import BadReply

P = TypeVar("P")  # what a parser makes of a reply

# Reply headers worth keeping in the cache and in a Reply.
KEPT_HEADERS = ("content-type", "location", "retry-after", "retry-after-ms", "x-should-retry")

_UNPARSED = object()


def parse_json(raw: bytes) -> Any:
    """JSON from bytes: orjson (several times faster than the standard library's parser),
    and the standard library for what orjson refuses but it reads (a lone surrogate escape,
    say from a tag cut in the middle of an emoji, a byte order mark, NaN), as before."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


@dataclass
class Reply:
    source: str
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    url: str  # the final URL, after redirects; secrets removed
    fetched_at: float  # wall-clock seconds
    from_cache: bool = False
    _parsed: Any = field(default=_UNPARSED, repr=False, compare=False)
    _memo: tuple[Any, ...] = field(default=(None, None), repr=False, compare=False)  # (parse fn, its result)

    def parsed(self, parse: Callable[[Reply], P]) -> P:
        """``parse(self)``, computed once per parse function (checked() already ran it)."""
        fn, value = self._memo
        if fn is not parse:
            value = parse(self)
            self._memo = (parse, value)
        result: P = value
        return result

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self, what: str = "") -> Any:
        """The body as JSON, parsed once; a body that is not JSON is a BadReply."""
        if self._parsed is _UNPARSED:
            try:
                self._parsed = parse_json(self.body)
            except (ValueError, UnicodeDecodeError):
                raise BadReply(self.source, f"reply is not JSON (HTTP {self.status}: {snippet(self.body)})",
                               what=what) from None
        return self._parsed

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except BadReply:
            return None


def snippet(body: bytes, n: int = 60) -> str:
    text = body[:n].decode("utf-8", "replace").replace("\n", " ").strip()
    if not text:
        return "empty body"
    return repr(text + ("..." if len(body) > n else ""))


class Kind(enum.Enum):
    OK = "ok"  # use it; cache it for ttl_days
    NOT_FOUND = "not found"  # the source does not know it; cache for negative_ttl_days
    RETRY = "retry"  # transient: back off and try again
    PAUSE = "pause"  # rate-limited: the WHOLE source waits, then try again
    OFF = "off"  # the source is unusable for this run (bad or suspended key)
    FAIL = "fail"  # this request is wrong; retrying will not help


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reason: str = ""
    after: float | None = None  # seconds the server advised waiting
    bad: bool = False  # the reply itself was malformed (BadReply rather than SourceError)


OK = Verdict(Kind.OK)


def checked(classify: Callable[[Reply], Verdict], parse: Callable[[Reply], Any]) -> Callable[[Reply], Verdict]:
    """A classify that also runs ``parse(reply)`` on an OK reply, so a reply the
    parser cannot read is never cached: retried if it is not even JSON (an HTML
    error page, a cut body), refused as a BadReply if it is JSON of the wrong shape."""

    def judge(reply: Reply) -> Verdict:
        verdict = classify(reply)
        if verdict.kind is Kind.OK:
            try:
                reply.parsed(parse)
            except BadReply as exc:
                if reply.json_or_none() is None and reply.headers.get("content-type", "").find("jsonl") < 0:
                    return Verdict(Kind.RETRY, exc.reason, bad=True)
                return Verdict(Kind.FAIL, exc.reason, bad=True)
        return verdict

    return judge
