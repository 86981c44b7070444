"""Sending tracks to the Claude classifier: at once (Messages API) or as a
Message Batch whose id is saved so a resumed run polls it instead of paying twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Container, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from enrich.errors import NotFound, SourceError
from enrich.sources import claude

if TYPE_CHECKING:
    from enrich.genres.settings import ClassifierConfig
    from enrich.net.client import Client

from enrich.sources.classifier import TOOL_NAME, Item, body, chunks, group_key, ordered, parse_answer

log = logging.getLogger(__name__)

# on_answer(ref, [(genre, confidence)] or None, error or None)
OnAnswer = Callable[[int, "list[tuple[str, float]] | None", "str | None"], Awaitable[None]]


@dataclass
class ClassifierStats:
    requests: int = 0          # messages sent, or batch requests inside batches
    tracks: int = 0            # tracks asked about
    usage: claude.Usage = field(default_factory=claude.Usage)
    cost_usd: float = 0.0      # of the answers paid for in this run (not those from the cache)
    cached: int = 0            # messages answered from the HTTP cache
    batch_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "tracks": self.tracks, "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cache_read_input_tokens": self.usage.cache_read_input_tokens,
                "cache_creation_input_tokens": self.usage.cache_creation_input_tokens,
                "cost_usd": round(self.cost_usd, 6), "batch_id": self.batch_id,
                **({"cached": self.cached} if self.cached else {})}


class ClassifierLane:
    def __init__(self, client: Client, cfg: ClassifierConfig, genres: tuple[str, ...],
                 spawn: Callable[[Coroutine[Any, Any, None]], Any], on_answer: OnAnswer, *,
                 use_batches: bool, saved_batch: dict[str, Any] | None = None,
                 save_batch: Callable[[dict[str, Any] | None], Awaitable[None]] | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.client, self.cfg, self.genres, self.spawn, self.on_answer = client, cfg, genres, spawn, on_answer
        self.model = client.source_config("claude").model
        self.options = client.source_config("claude").options
        self.use_batches = use_batches
        self.saved_batch = saved_batch
        self.save_batch = save_batch
        self.sleep = sleep
        self.pending: dict[int, Item] = {}
        self.stats = ClassifierStats()

    def submit(self, item: Item) -> None:
        self.pending[item.ref] = item
        if not self.use_batches and len(self.pending) >= self.cfg.batch_size:
            chunk = list(self.pending.values())[: self.cfg.batch_size]
            for i in chunk:
                del self.pending[i.ref]
            self.spawn(self.send(chunk))

    async def close(self) -> None:
        """Send what is left: in a stable order, so a replay asks the same requests."""
        rest, self.pending = list(self.pending.values()), {}
        if self.use_batches:
            if rest or self.saved_batch:
                await self.run_batch(rest)
            return
        await asyncio.gather(*(self.send(chunk) for chunk in chunks(rest, self.cfg.batch_size)))

    def body(self, items: list[Item]) -> dict[str, Any]:
        return body(items, self.genres, self.model, self.cfg.max_tokens)

    async def answer(self, items: list[Item], message: claude.Message | None, error: str | None,
                     wanted: Container[int]) -> None:
        if message is not None:
            answers = parse_answer(message.tool_input(TOOL_NAME), items, self.genres, self.cfg.min_confidence)
        for item in items:
            if item.ref not in wanted:
                continue
            if message is None:
                await self.on_answer(item.ref, None, error)
            else:
                await self.on_answer(item.ref, answers.get(item.ref, []), None)

    async def send(self, items: list[Item]) -> None:
        # The same tracks always make the same body: the cached answer's t0, t1...
        # then mean the same tracks as in the request that was cached.
        items = ordered(items)
        self.stats.tracks += len(items)
        try:
            message = await claude.create_message(self.client, self.body(items), cache_key=group_key(items, self.model),
                                                  what=f"classify {len(items)} tracks")
        except SourceError as exc:
            await self.answer(items, None, str(exc), {i.ref for i in items})
            return
        self.stats.requests += 1
        if message.from_cache:
            self.stats.cached += 1
        else:
            self.account(message.usage, batch=False)
        await self.answer(items, message, None, {i.ref for i in items})

    def account(self, usage: claude.Usage, *, batch: bool) -> None:
        self.stats.usage = self.stats.usage + usage
        self.stats.cost_usd += claude.cost(usage, self.options, batch=batch)

    async def run_batch(self, items: list[Item]) -> None:
        wanted = {i.ref: i for i in items}
        saved = self.saved_batch
        try:
            if saved:
                # A resumed run: poll the batch already paid for.
                batch_id, groups = saved["id"], {cid: list(refs) for cid, refs in saved["groups"].items()}
                log.info("claude: resuming message batch %s", batch_id)
            else:
                groups = {f"g{n}": [i.ref for i in chunk] for n, chunk in enumerate(chunks(items, self.cfg.batch_size))}
                requests = [{"custom_id": cid, "params": self.body([wanted[r] for r in refs])}
                            for cid, refs in groups.items()]
                batch_id = await claude.create_batch(self.client, requests, what=f"batch of {len(items)} tracks")
                if self.save_batch:
                    await self.save_batch({"id": batch_id, "groups": groups})
            self.stats.batch_id = batch_id
            batch = await claude.get_batch(self.client, batch_id)
            while not batch.ended:
                await self.sleep(self.cfg.poll_seconds)
                batch = await claude.get_batch(self.client, batch_id)
            results = await claude.batch_results(self.client, batch)
        except NotFound as exc:
            if not saved:
                for ref in wanted:
                    await self.on_answer(ref, None, str(exc))
                return
            # The batch a stopped run saved is gone: ask again rather than leave the tracks without answers.
            log.warning("claude: saved message batch %s is gone (%s); sending its tracks again", batch_id, exc.reason)
            self.saved_batch = None
            if self.save_batch:
                await self.save_batch(None)
            await self.run_batch(items)
            return
        except SourceError as exc:
            for ref in wanted:
                await self.on_answer(ref, None, str(exc))
            return
        answered = set()
        for result in results:
            refs = groups.get(result["custom_id"])
            if refs is None:
                continue
            group = [wanted.get(r) or Item(r, "", "", "") for r in refs]
            self.stats.requests += 1
            self.stats.tracks += len(refs)
            if result["type"] == "succeeded":
                self.account(result["message"].usage, batch=True)
                await self.answer(group, result["message"], None, wanted)
            else:
                why = f"claude batch request {result['type']}: {result.get('error', '')}".strip(": ")
                await self.answer(group, None, why, wanted)
            answered.update(refs)
        if self.save_batch:
            await self.save_batch(None)
        leftover = [wanted[r] for r in wanted if r not in answered]
        if leftover and saved:
            # Tracks that were not in the resumed batch get a batch of their own.
            self.saved_batch = None
            await self.run_batch(leftover)
        else:
            for item in leftover:
                await self.on_answer(item.ref, None, "claude: no answer in the message batch")
