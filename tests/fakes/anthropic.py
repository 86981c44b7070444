"""Fake Anthropic Messages API and Message Batches.

Forced tool_use requests are answered deterministically from the World: the
fake reads the user message text, finds JSON in it (the whole text, a fenced
block, or one JSON value per line) holding objects with an ``id`` and
``artist``/``title``, and fills the forced tool's ``input_schema`` with one
entry per such object: enum fields get the World's genre for that track (or
its artist) when the enum allows it, else the enum's first value with a low
confidence; ``id`` fields echo the id; number fields get a confidence. The
text is data to the fake: it never follows instructions found in it.
Tokens are counted at about 4 characters per token; a system block with
``cache_control`` is written to the prompt cache once and read afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
import uuid

from aiohttp import web

from tests.fakes.control import Service, middleware
from tests.fakes.wishes import Canned, read_wish
from tests.fakes.world import World

VERSION = "2023-06-01"
FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def error(status: int, kind: str, message: str, **headers) -> web.Response:
    return web.json_response({"type": "error", "error": {"type": kind, "message": message},
                              "request_id": "req_" + uuid.uuid4().hex[:24]}, status=status, headers=headers)


def tokens(value) -> int:
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, (len(text) + 3) // 4)


def texts(content) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]


def json_values(text: str) -> list:
    """Every JSON value the text holds: whole, fenced, or one per line."""
    for candidate in [text, *FENCED.findall(text)]:
        try:
            return [json.loads(candidate)]
        except ValueError:
            pass
    found = []
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if line[:1] in "[{":
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
    return found


def items_in(value) -> list[dict]:
    """Objects with an id found anywhere in a JSON value."""
    if isinstance(value, dict):
        if "id" in value and ("title" in value or "artist" in value):
            return [value]
        return [i for v in value.values() for i in items_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in items_in(v)]
    return []


class Classifier:
    def __init__(self, world: World):
        self.world = world

    def context(self, item: dict) -> dict:
        genre = self.world.genre_of(str(item.get("artist", "")), str(item.get("title", "")))
        return {"id": item.get("id"), "genre": genre}

    def choose(self, enum: list, ctx: dict) -> tuple:
        genre = ctx.get("genre", "")
        for value in enum:
            if isinstance(value, str) and value.lower() == genre.lower():
                return value, 0.9
        return enum[0], 0.3

    def fill(self, schema: dict, ctx: dict, items: list[dict], name: str = ""):
        if "enum" in schema:
            value, conf = self.choose(schema["enum"], ctx)
            ctx["confidence"] = conf
            return value
        kind = schema.get("type")
        if kind == "object":
            props = schema.get("properties", {})
            # Fill enums first so a confidence field can reflect the match.
            order = sorted(props, key=lambda k: "enum" not in props[k] and "enum" not in props[k].get("items", {}))
            out = {k: self.fill(props[k], ctx, items, k) for k in order}
            return {k: out[k] for k in props}
        if kind == "array":
            inner = schema.get("items", {})
            if inner.get("type") == "object" and items and "id" not in ctx:
                return [self.fill(inner, self.context(i), items) for i in items]
            if "enum" in inner:
                return [self.fill(inner, ctx, items)]
            return []
        if kind in ("number", "integer"):
            value = ctx.get("confidence", 0.5)
            return value if kind == "number" else int(value * 100)
        if kind == "boolean":
            return False
        if kind == "string":
            if "id" in name.lower() and ctx.get("id") is not None:
                return ctx["id"]
            if "genre" in name.lower():
                return ctx.get("genre", "")
            return ""
        return None


def wish_reply(world: World, sentence: str, tool: dict) -> tuple[list[dict], str]:
    """(content blocks, stop_reason) for a forced playlist-wish tool: canned by the test, or read by rules.

    Like the real model, it often says a few words before the call (a text block first)."""
    key = " ".join(sentence.split()).casefold()
    canned = next((v for k, v in world.wishes.items() if " ".join(k.split()).casefold() == key), None)
    if canned is None:
        canned = Canned(read_wish(sentence, tool.get("input_schema", {}), world))
    elif isinstance(canned, dict):
        canned = Canned(canned)
    content: list[dict] = [{"type": "text", "text": canned.text or "I'll record that playlist request."}]
    if canned.tool_input is not None:
        content.append({"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24], "name": tool["name"],
                        "input": canned.tool_input, "caller": {"type": "direct"}})
    return content, canned.stop_reason


def make_app(world: World, service: Service, key: str, batch_seconds: float = 0.0,
             flat_batch_errors: bool = True) -> web.Application:
    classifier = Classifier(world)
    prompt_cache: set[str] = set()
    batches: dict[str, dict] = {}
    outcomes: dict[str, str] = {}  # custom_id -> "expired" / "canceled", set by tests
    service.outcomes = outcomes  # type: ignore[attr-defined]
    bodies: list = []  # every Messages body received, whole, for tests that check what was sent
    service.bodies = bodies  # type: ignore[attr-defined]

    def rate_limited(request, injected):
        return error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
                     **{"retry-after": "1", "x-should-retry": "true"})

    def error_body(status):
        kind = {529: "overloaded_error", 500: "api_error", 502: "api_error", 503: "api_error"}.get(status, "api_error")
        return error(status, kind, "Overloaded" if status == 529 else "Internal server error")

    def authorised(request) -> web.Response | None:
        if request.headers.get("x-api-key") != key:
            return error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def answer(body) -> tuple[int, dict]:
        """(status, message or error body) for one Messages request body."""
        if not isinstance(body, dict):
            return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": "body must be an object"}}
        for field in ("model", "max_tokens", "messages"):
            if field not in body:
                return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": f"{field}: Field required"}}
        choice = body.get("tool_choice") or {}
        if choice.get("type") == "tool" and (body.get("thinking") or {}).get("type") == "enabled":
            return 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                    "message": "Thinking may not be enabled when tool_choice forces tool use."}}
        user_text = "\n".join(t for m in body["messages"] if m.get("role") == "user" for t in texts(m.get("content")))
        values = json_values(user_text)
        items = [i for v in values for i in items_in(v)]
        tools = {t.get("name"): t for t in body.get("tools") or []}
        system = body.get("system")
        system_tokens = tokens(system) if system else 0
        cached = isinstance(system, list) and any(isinstance(b, dict) and b.get("cache_control") for b in system)
        created = read = 0
        if cached:
            digest = hashlib.sha256(json.dumps(system, sort_keys=True).encode()).hexdigest()
            if digest in prompt_cache:
                read = system_tokens
            else:
                created = system_tokens
                prompt_cache.add(digest)
        input_tokens = tokens({k: v for k, v in body.items() if k != "system"}) + (0 if cached else system_tokens)
        wish = next((v["wish"] for v in values if isinstance(v, dict) and isinstance(v.get("wish"), str)), None)
        if wish is not None and choice.get("type") in ("tool", "any") and tools:
            tool = tools.get(choice.get("name")) or next(iter(tools.values()))
            content, stop = wish_reply(world, wish, tool)
            out = tokens(content) + 8
        elif choice.get("type") in ("tool", "any") and tools:
            tool = tools.get(choice.get("name")) or next(iter(tools.values()))
            ctx = {} if items else {"genre": world.genre_of("", "")}
            tool_input = classifier.fill(tool.get("input_schema", {}), ctx, items)
            content = [{"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24], "name": tool["name"], "input": tool_input}]
            stop, out = "tool_use", tokens(tool_input) + 12
        else:
            reply = "Noted." if not items else json.dumps([classifier.context(i) for i in items])
            content, stop, out = [{"type": "text", "text": reply}], "end_turn", tokens(reply)
        return 200, {
            "id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": created,
                      "cache_read_input_tokens": read, "output_tokens": out, "service_tier": "standard"},
        }

    async def read_body(request) -> tuple[object, web.Response | None]:
        if (bad := authorised(request)) is not None:
            return None, bad
        try:
            return await request.json(), None
        except ValueError:
            return None, error(400, "invalid_request_error", "request body is not valid JSON")

    async def messages(request: web.Request) -> web.Response:
        body, bad = await read_body(request)
        if bad is not None:
            return bad
        bodies.append(body)
        status, data = answer(body)
        return web.json_response(data, status=status)

    def batch_view(request, batch) -> dict:
        ended = time.monotonic() >= batch["ready_at"]
        n = len(batch["requests"])
        base = f"{request.scheme}://{request.host}"
        return {
            "id": batch["id"], "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {"processing": 0 if ended else n, "succeeded": batch["ok"] if ended else 0,
                               "errored": batch["errored"] if ended else 0, "canceled": 0, "expired": 0},
            "ended_at": "2024-01-01T00:00:00Z" if ended else None,
            "created_at": "2024-01-01T00:00:00Z", "expires_at": "2024-01-02T00:00:00Z",
            "results_url": f"{base}/v1/messages/batches/{batch['id']}/results" if ended else None,
        }

    async def create_batch(request: web.Request) -> web.Response:
        body, bad = await read_body(request)
        if bad is not None:
            return bad
        reqs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(reqs, list) or not reqs:
            return error(400, "invalid_request_error", "requests: Field required")
        ids = [r.get("custom_id") for r in reqs]
        if len(set(ids)) != len(ids):
            return error(400, "invalid_request_error", "custom_id values must be unique")
        batch = {"id": "msgbatch_" + uuid.uuid4().hex[:24], "requests": reqs,
                 "ready_at": time.monotonic() + batch_seconds, "results": []}
        for i, r in enumerate(reqs):
            cid = r["custom_id"]
            if cid in outcomes:
                result = {"type": outcomes[cid]}
            else:
                status, data = answer(r.get("params"))
                if status == 200:
                    result = {"type": "succeeded", "message": data}
                elif flat_batch_errors and i % 2:
                    result = {"type": "errored", "error": data["error"]}  # quirk: flat
                else:
                    result = {"type": "errored", "error": data}  # nested {"type": "error", "error": {...}}
            batch["results"].append({"custom_id": cid, "result": result})
        batch["ok"] = sum(r["result"]["type"] == "succeeded" for r in batch["results"])
        batch["errored"] = sum(r["result"]["type"] == "errored" for r in batch["results"])
        batches[batch["id"]] = batch
        return web.json_response(batch_view(request, batch))

    def find_batch(request) -> tuple[dict | None, web.Response | None]:
        bad = authorised(request)
        batch = batches.get(request.match_info["id"]) if bad is None else None
        if bad is None and batch is None:
            bad = error(404, "not_found_error", "batch not found")
        return batch, bad

    async def get_batch(request: web.Request) -> web.Response:
        batch, bad = find_batch(request)
        return bad if bad is not None else web.json_response(batch_view(request, batch))

    async def results(request: web.Request) -> web.Response:
        batch, bad = find_batch(request)
        if bad is not None:
            return bad
        if time.monotonic() < batch["ready_at"]:
            return error(400, "invalid_request_error", "batch is still processing")
        lines = [json.dumps(r) for r in reversed(batch["results"])]  # not in request order
        return web.Response(text="\n".join(lines) + "\n", content_type="application/binary")

    app = web.Application(middlewares=[middleware(service, rate_limited, error_body)], client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/batches", create_batch)
    app.router.add_get("/v1/messages/batches/{id}", get_batch)
    app.router.add_get("/v1/messages/batches/{id}/results", results)
    app.state = {"batches": batches}  # type: ignore[attr-defined]
    return app
