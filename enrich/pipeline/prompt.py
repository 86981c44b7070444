"""`enrich playlists --prompt`: a sentence -> Claude's reading -> checked wish -> the local engine.

The stages, visibly:

  ask Claude (forced tool, through the network layer: rate budget, disk
  cache, retries)  ||  load the library (one read, in a thread, meanwhile)
  -> check the answer field by field (interpret.read_answer)
  -> plan the playlist from the wish (playlists.prompted, pure)
  -> write the M3U8 file unless a dry run.

Only the sentence and the genre vocabulary are sent; artists named in the
sentence are matched against the library here, never by sending it. The
answer is cached under the sentence and the vocabulary, so asking again costs
no request, and ``offline`` answers from that cache only.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enrich.config import Config
from enrich.errors import ConfigError, PlaylistError, SourceError, SourceUnavailable, UsageError
from enrich.genres.normalise import fold as genre_fold
from enrich.genres.settings import genres_config
from enrich.genres.vocabulary import Vocabulary, load_vocabulary
from enrich.playlists import explain, m3u8, snapshot
from enrich.playlists.build import library_counts, prepare
from enrich.playlists.prompted import plan_wish
from enrich.playlists.settings import PlaylistsConfig
from enrich.playlists.settings import check as check_settings
from enrich.sources import claude, interpret
from enrich.store.readonly import connect_readonly


@dataclass(frozen=True)
class PromptRequest:
    sentence: str
    length: int | None = None       # --length / --minutes win over the wish's own length
    minutes: float | None = None
    out_dir: str | None = None
    name: str | None = None         # --name wins over the wish's title
    dry_run: bool = False
    offline: bool = False           # answer from the cache only


@dataclass(frozen=True)
class PromptConfig:
    """[playlists.prompt]"""

    max_tokens: int = 1024
    artist_bonus: float = 0.25


def prompt_config(config: Config) -> PromptConfig:
    cfg = config.section("playlists.prompt", PromptConfig)
    if not 64 <= cfg.max_tokens <= 8192:
        raise ConfigError(f"[playlists.prompt] max_tokens = {cfg.max_tokens!r} is not allowed; expected 64..8192")
    if not 0 <= cfg.artist_bonus <= 1:
        raise ConfigError(f"[playlists.prompt] artist_bonus = {cfg.artist_bonus!r} is not allowed; expected 0..1")
    return cfg


def check_request(request: PromptRequest) -> str:
    sentence = interpret.sentence_key(request.sentence)
    if not sentence:
        raise UsageError("--prompt is empty; say what the playlist should be, e.g. --prompt \"calm jazz, an hour\"")
    if len(sentence) > interpret.MAX_SENTENCE:
        raise UsageError(f"--prompt is {len(sentence)} characters; keep it under {interpret.MAX_SENTENCE}")
    if request.length is not None and request.minutes is not None:
        raise UsageError("give --length or --minutes, not both")
    return sentence


def check_claude(config: Config, offline: bool) -> None:
    """Claude must be usable before anything is read (offline needs no key: the cache answers)."""
    if offline:
        return
    cfg = config.sources["claude"]
    if not cfg.enabled:
        raise ConfigError("[sources.claude] enabled = false, and --prompt needs Claude to read the sentence "
                          "(--offline answers sentences asked before)")
    if not cfg.api_key:
        raise ConfigError("--prompt needs Claude: no Anthropic API key; set $ANTHROPIC_API_KEY or api_key in "
                          "[sources.claude] (--offline answers sentences asked before from the cache)")


def usage_report(message: claude.Message | None, options: Any, model: str) -> dict[str, Any]:
    """Requests, tokens and cost of this run (an answer from the cache was paid for before)."""
    paid = message is not None and not message.from_cache
    usage = message.usage if paid and message is not None else claude.Usage()
    return {
        "model": model,
        "requests": 1 if paid else 0,
        "from_cache": message is not None and message.from_cache,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cost_usd": round(claude.cost(usage, options), 6),
    }


async def ask(config: Config, sentence: str, genres: tuple[str, ...], max_tokens: int,
              offline: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Claude's tool input for ``sentence``, and the usage report of the call."""
    from enrich.net import open_client

    source = config.sources["claude"]
    async with open_client(config, offline=offline) as client:
        try:
            message = await claude.create_message(
                client, interpret.body(sentence, genres, source.model, max_tokens),
                cache_key=interpret.cache_key(sentence, genres, source.model),
                what="reading the playlist wish", require_tool=interpret.TOOL_NAME)
        except SourceUnavailable as exc:
            if client.offline:  # offline, the only way to be unavailable is a sentence not asked before
                raise PlaylistError("--offline: this sentence has not been asked before (no answer in the cache); "
                                    "run it once without --offline") from exc
            raise PlaylistError(f"claude could not read the wish: {exc}") from exc
        except SourceError as exc:
            raise PlaylistError(f"claude could not read the wish: {exc}") from exc
        report = usage_report(message, source.options, source.model)
        report["notices"] = list(client.notices)
        return claude.tool_called(message, interpret.TOOL_NAME), report


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error of a task group, as it was raised (the caller catches our error types, not groups)."""
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def vocabulary_of(config: Config) -> Vocabulary:
    directory = genres_config(config).vocabulary
    return load_vocabulary(Path(directory).expanduser() if directory else None)


def playlist_name(request: PromptRequest, wish: interpret.Wish) -> str:
    if request.name:
        return request.name
    if wish.title:
        return wish.title
    words = wish.sentence[:60].rstrip(" ,.;:")
    return words[:1].upper() + words[1:]


async def prompt_playlist(config: Config, request: PromptRequest,
                          exists: Callable[[str], bool] = os.path.exists) -> dict[str, Any]:
    """Build the playlist the sentence asks for; write its M3U8 file unless a dry run."""
    sentence = check_request(request)
    check_claude(config, request.offline)
    cfg = check_settings(config.section("playlists", PlaylistsConfig))
    settings = prompt_config(config)
    vocabulary = vocabulary_of(config)
    genres = vocabulary.genres
    timings: dict[str, float] = {}

    async def load() -> snapshot.Loaded:
        started = time.perf_counter()
        loaded = await asyncio.to_thread(snapshot.load, config.paths.db, cfg.tempo_weight,
                                         config.store.busy_timeout_ms)
        timings["load_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return loaded

    async def interpret_sentence() -> tuple[dict[str, Any], dict[str, Any]]:
        started = time.perf_counter()
        answer = await ask(config, sentence, genres, settings.max_tokens, request.offline)
        timings["claude_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return answer

    # A database that cannot be used is said before anything is paid for.
    await asyncio.to_thread(lambda: connect_readonly(config.paths.db, config.store.busy_timeout_ms).close())
    # Claude's round trip and the library read overlap; a failed read or answer cancels the other.
    try:
        async with asyncio.TaskGroup() as group:
            loading = group.create_task(load())
            asking = group.create_task(interpret_sentence())
    except BaseExceptionGroup as failed:
        raise first_leaf(failed) from None
    loaded = loading.result()
    view = loaded.view
    tool_input, usage = asking.result()

    started = time.perf_counter()
    wish = interpret.read_answer(tool_input, sentence, set(genres))
    parents = {g: p for g, p in vocabulary.parent.items() if p}
    wanted = tuple(g for g in (*wish.genres, *(wish.journey or ())) if g in vocabulary)
    prep = prepare(view, cfg, parents, lambda name: vocabulary.keys.get(genre_fold(name)), wanted,
                   space=loaded.space)
    timings["prepare_ms"] = round((time.perf_counter() - started) * 1000, 2)
    playlist, reading = plan_wish(prep, wish, cfg, artist_bonus=settings.artist_bonus, length=request.length,
                                  minutes=request.minutes, exists=exists, timings=timings)
    playlist.name = playlist_name(request, wish)
    out_dir = Path(request.out_dir or cfg.out_dir or os.getcwd()).expanduser()
    file = None
    if not request.dry_run:
        entries = [m3u8.Entry(view.fs_path(r), None if not np.isfinite(view.duration[r]) else
                              float(view.duration[r]), view.artists[r], view.titles[r]) for r in playlist.rows]
        try:
            file = str(await asyncio.to_thread(m3u8.write, entries, out_dir, playlist.name, set()))
        except OSError as exc:
            raise PlaylistError(f"{out_dir}: cannot write the playlist '{playlist.name}': "
                                f"{exc.strerror or exc}") from exc
    return {
        "prompt": sentence,
        "wish": wish.as_dict(),
        "reading": reading.as_dict(),
        "claude": usage,
        "dry_run": request.dry_run,
        "out_dir": None if request.dry_run else str(out_dir),
        "library": library_counts(view),
        "playlists": [explain.playlist_data(view, playlist, file)],
        "timings_ms": timings,
        "library_from": loaded.source,
    }
