"""Anthropic Messages API and Message Batches: requests, replies, errors.

Quirks handled (see ../shared/api-notes.md): content blocks picked by type,
never by position; usage with cache tokens that may be absent; errors as
``{"type": "error", "error": {...}}``; ``x-should-retry`` overriding the
status; ``retry-after`` / ``retry-after-ms``; batch results as JSON lines in
any order, with errors nested (``{"type": "error", "error": {...}}``) or flat.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from enrich.errors import BadReply, SourceError
from enrich.net.policy import retry_after
from enrich.net.reply import OK, Kind, Reply, Verdict, checked

if TYPE_CHECKING:
    from enrich.net.client import Client

SOURCE = "claude"
MESSAGES = "/v1/messages"
BATCHES = "/v1/messages/batches"
DEFAULT_VERSION = "2023-06-01"


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=False)))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.input_tokens, self.output_tokens, self.cache_creation_input_tokens, self.cache_read_input_tokens)


@dataclass(frozen=True)
class Message:
    id: str
    model: str
    stop_reason: str | None
    text: str  # all text blocks joined
    tool_uses: list[dict[str, Any]] = field(default_factory=list)  # [{id, name, input}]
    blocks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # every block, by type
    usage: Usage = Usage()
    from_cache: bool = False  # answered from the HTTP cache: paid for by an earlier run

    def tool_input(self, name: str | None = None) -> dict[str, Any] | None:
        for use in self.tool_uses:
            if name is None or use["name"] == name:
                found: dict[str, Any] | None = use["input"]
                return found
        return None


@dataclass(frozen=True)
class Batch:
    id: str
    processing_status: str  # in_progress | canceling | ended
    request_counts: Mapping[str, int]
    results_url: str | None
    ended_at: str | None = None

    @property
    def ended(self) -> bool:
        return self.processing_status == "ended"


# ---------------------------------------------------------------- verdicts


def error_detail(body: Any) -> tuple[str, str]:
    """(type, message) of an error body, nested or flat."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and isinstance(err.get("error"), dict):
        err = err["error"]  # nested: {"type": "error", "error": {...}}
    if isinstance(err, dict):
        return str(err.get("type") or "error"), str(err.get("message") or "").strip()
    return "error", ""


def classify(reply: Reply) -> Verdict:
    s = reply.status
    after = retry_after(reply.headers)
    if 200 <= s < 300:
        return OK
    kind, message = error_detail(reply.json_or_none())
    reason = f"HTTP {s} {kind}: {message[:160]}" if message else f"HTTP {s} {kind}"
    should = reply.headers.get("x-should-retry", "").lower()
    if s in (401,):
        return Verdict(Kind.OFF, f"invalid API key ({kind}); check $ANTHROPIC_API_KEY or [sources.claude] api_key")
    if s == 403:
        return Verdict(Kind.OFF, f"permission refused ({kind}): {message[:120]}")
    if s == 404 and kind == "not_found_error":
        return Verdict(Kind.OFF, f"not found ({message[:120]}); check [sources.claude] model and base_url")
    if should == "false":
        return Verdict(Kind.FAIL, reason)
    if s == 429:
        return Verdict(Kind.PAUSE, reason, after)
    if should == "true" or s in (408, 409, 529) or s >= 500:
        return Verdict(Kind.RETRY, reason, after)
    return Verdict(Kind.FAIL, reason)




# ---------------------------------------------------------------- parsers


def to_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def parse_usage(raw: Any) -> Usage:
    raw = raw if isinstance(raw, dict) else {}
    return Usage(to_int(raw.get("input_tokens")), to_int(raw.get("output_tokens")),
                 to_int(raw.get("cache_creation_input_tokens")), to_int(raw.get("cache_read_input_tokens")))


def parse_message(body: Any) -> Message:
    if not isinstance(body, dict) or body.get("type") == "error":
        kind, message = error_detail(body)
        raise BadReply(SOURCE, f"expected a message, got {kind}: {message[:120]}")
    content = body.get("content")
    if body.get("type") != "message" or not isinstance(content, list):
        raise BadReply(SOURCE, "reply is not a message with content blocks")
    blocks: dict[str, list[dict[str, Any]]] = {}
    for block in content:
        if isinstance(block, dict) and block.get("type"):
            blocks.setdefault(str(block["type"]), []).append(block)
    tool_uses: list[dict[str, Any]] = [{"id": b.get("id"), "name": b.get("name"),
                  "input": b.get("input") if isinstance(b.get("input"), dict) else {}}
                 for b in blocks.get("tool_use", [])]
    return Message(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        stop_reason=body.get("stop_reason"),
        text="".join(str(b.get("text") or "") for b in blocks.get("text", [])),
        tool_uses=tool_uses,
        blocks=blocks,
        usage=parse_usage(body.get("usage")),
    )


def parse_sse(text: str) -> Message:
    """A streamed reply (server-sent events) assembled into one message."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, str] = {}
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except ValueError:
            raise BadReply(SOURCE, "stream event is not JSON") from None
        kind = event.get("type")
        if kind == "message_start":
            message = dict(event.get("message") or {})
        elif kind == "content_block_start":
            blocks[event["index"]] = dict(event.get("content_block") or {})
        elif kind == "content_block_delta":
            delta, block = event.get("delta") or {}, blocks.setdefault(event["index"], {"type": "text", "text": ""})
            if delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif delta.get("type") == "input_json_delta":
                partial_json[event["index"]] = partial_json.get(event["index"], "") + delta.get("partial_json", "")
        elif kind == "message_delta":
            message.update({k: v for k, v in (event.get("delta") or {}).items() if v is not None})
            message["usage"] = {**(message.get("usage") or {}), **(event.get("usage") or {})}
        elif kind == "error":
            raise BadReply(SOURCE, "stream error: " + error_detail(event)[1][:120])
    for index, raw in partial_json.items():
        try:
            blocks[index]["input"] = json.loads(raw) if raw else {}
        except ValueError:
            raise BadReply(SOURCE, "tool input in stream is not JSON") from None
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return parse_message(message)


def parse_batch(body: Any) -> Batch:
    if not isinstance(body, dict) or not body.get("id") or "processing_status" not in body:
        raise BadReply(SOURCE, "reply is not a message batch")
    counts = body.get("request_counts")
    if not isinstance(counts, dict):
        counts = {}
    return Batch(str(body["id"]), str(body["processing_status"]), {k: to_int(v) for k, v in counts.items()},
                 body.get("results_url") or None, body.get("ended_at"))


def parse_result_line(line: str) -> dict[str, Any]:
    """One JSON line of batch results: {custom_id, type, message | error}."""
    try:
        d = json.loads(line)
    except ValueError:
        raise BadReply(SOURCE, "batch result line is not JSON") from None
    result = d.get("result") if isinstance(d, dict) else None
    if not isinstance(result, dict) or "custom_id" not in d:
        raise BadReply(SOURCE, "batch result line has no custom_id/result")
    out: dict[str, Any] = {"custom_id": str(d["custom_id"]), "type": str(result.get("type") or "errored")}
    if out["type"] == "succeeded":
        out["message"] = parse_message(result.get("message"))
    elif out["type"] == "errored":
        kind, message = error_detail(result)
        out["error"] = f"{kind}: {message}" if message else kind
    return out


def parse_results(text: str) -> list[dict[str, Any]]:
    return [parse_result_line(line) for line in text.splitlines() if line.strip()]


def cost(usage: Usage, options: Mapping[str, Any], *, batch: bool = False) -> float:
    """Estimated US dollars for ``usage`` at the prices in [sources.claude]."""
    per = 1e-6
    dollars = (usage.input_tokens * options.get("input_price_per_mtok", 0.0)
               + usage.output_tokens * options.get("output_price_per_mtok", 0.0)
               + usage.cache_creation_input_tokens * options.get("cache_write_price_per_mtok", 0.0)
               + usage.cache_read_input_tokens * options.get("cache_read_price_per_mtok", 0.0)) * per
    return float(dollars * (options.get("batch_price_factor", 0.5) if batch else 1.0))


def tool_called(message: Message, name: str) -> dict[str, Any]:
    """The input of the forced tool ``name``; a BadReply when the answer has no whole call of it."""
    if message.stop_reason == "max_tokens":
        raise BadReply(SOURCE, f"answer cut at max_tokens before the {name} call was complete")
    found = message.tool_input(name)
    if found is None:
        raise BadReply(SOURCE, f"no {name} tool call in the answer (stop_reason {message.stop_reason})")
    return found


# ---------------------------------------------------------------- calls


def headers(client: Client) -> dict[str, Any]:
    version = client.source_config(SOURCE).options.get("anthropic_version", DEFAULT_VERSION)
    return {"anthropic-version": version}


async def create_message(client: Client, body: dict[str, Any], *, cache_key: str | None = None, cache: bool = True,
                         what: str = "message", require_tool: str | None = None) -> Message:
    """POST /v1/messages. Successful replies are cached under ``cache_key`` (or
    method + URL + body hash); errors never are. ``cache=False`` skips the cache.
    With ``require_tool``, a reply without that tool's call (or cut at max_tokens)
    is a BadReply, so it is never cached."""
    def parse(r: Reply) -> Message:
        message = parse_message(r.json())
        if require_tool is not None:
            tool_called(message, require_tool)
        return message

    reply = await client.fetch(SOURCE, MESSAGES, method="POST", json=body, headers=headers(client),
                               key_header="x-api-key", classify=checked(classify, parse), what=what,
                               cache=cache, cache_key=cache_key)
    message = reply.parsed(parse)
    return dataclasses.replace(message, from_cache=True) if reply.from_cache else message


async def create_batch(client: Client, requests: list[dict[str, Any]], *, what: str = "batch") -> str:
    """POST /v1/messages/batches with [{custom_id, params}]; returns the batch id."""
    for r in requests:
        if not isinstance(r, dict) or "custom_id" not in r or "params" not in r:
            raise SourceError(SOURCE, "each batch request needs custom_id and params", what=what)
    def parse(r: Reply) -> Batch:
        return parse_batch(r.json())

    reply = await client.fetch(SOURCE, BATCHES, method="POST", json={"requests": requests}, headers=headers(client),
                               key_header="x-api-key", classify=checked(classify, parse), what=what, cache=False)
    return reply.parsed(parse).id


def classify_batch_lookup(reply: Reply) -> Verdict:
    """A batch that is not there (expired, deleted) is not a broken model or base_url."""
    if reply.status == 404:
        return Verdict(Kind.NOT_FOUND, "message batch not found (expired or deleted)")
    return classify(reply)


async def get_batch(client: Client, batch_id: str) -> Batch:
    """The batch's state; NotFound when it no longer exists."""
    def parse(r: Reply) -> Batch:
        return parse_batch(r.json())

    reply = await client.fetch(SOURCE, f"{BATCHES}/{batch_id}", headers=headers(client), key_header="x-api-key",
                               classify=checked(classify_batch_lookup, parse), what=f"batch {batch_id}", cache=False)
    return reply.parsed(parse)


async def batch_results(client: Client, batch: Batch) -> list[dict[str, Any]]:
    """The results of an ended batch, in whatever order they come."""
    if not batch.ended or not batch.results_url:
        raise SourceError(SOURCE, f"batch is {batch.processing_status}, results not ready", what=f"batch {batch.id}")
    def parse(r: Reply) -> list[dict[str, Any]]:
        return parse_results(r.text())

    reply = await client.fetch(SOURCE, batch.results_url, headers=headers(client), key_header="x-api-key",
                               classify=checked(classify, parse), what=f"batch {batch.id} results", cache=False)
    return reply.parsed(parse)
