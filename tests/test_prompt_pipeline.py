"""`playlists --prompt` end to end in one process: a real SQLite library, the fake Anthropic service over
loopback answering the forced tool in the real shape, faults injected, the disk cache on a real folder."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from enrich.errors import ConfigError, PlaylistError
from enrich.pipeline.prompt import PromptRequest, prompt_playlist
from enrich.sources import interpret
from tests.conftest import RECORDED, needs_recordings
from tests.fakes import FAST_HTTP, Artist, FakeServices, World
from tests.fakes.wishes import Canned
from tests.synthetic_library import build_library

pytestmark = pytest.mark.anyio

RAINY = "rainy sunday jazz, nothing faster than 100 bpm, about an hour"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompt")
    info = build_library(root / "library.db", 1500, clusters=9, seed=3, files_dir=root / "Music")
    return info


def world() -> World:
    w = World.sample()
    w.artists += [Artist("Soul Artist 3"), Artist("Nobody In The Library")]
    w.index()
    return w


def config_for(fakes: FakeServices, folder: Path, db: Path, **kwargs):
    config = fakes.load_config(folder, http=FAST_HTTP, **kwargs)
    return dataclasses.replace(config, paths=dataclasses.replace(config.paths, db=db))


def rows(info):
    """Per path: (artist, tempo, genre of its cluster, camelot major?)."""
    from tests.synthetic_library import CLUSTERS
    return {p: (a, float(t), CLUSTERS[c][0], CLUSTERS[c][4]) for p, a, t, c in
            zip(info.paths, info.artists, info.tempo, info.cluster, strict=True)}


async def test_a_sentence_becomes_a_playlist_of_slow_jazz_for_an_hour(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        result = await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        assert fakes.requests("claude") == 1
        [body] = fakes.service("claude").bodies
    wish = result["wish"]
    assert wish["genres"] == ["jazz"] and wish["tempo"] == {"min": None, "max": 100.0} and wish["minutes"] == 60
    assert wish["dropped"] == []
    [playlist] = result["playlists"]
    assert playlist["name"] == "Rainy Sunday Jazz" and playlist["file"] is None
    info = rows(library)
    assert all(t["tempo"] <= 100 for t in playlist["tracks"])
    assert all(info[t["path"]][2] == "cool jazz" for t in playlist["tracks"])  # the bebop is too fast
    assert 60 <= playlist["minutes"] <= 60 + 7.5  # an hour, give or take the last track
    claude = result["claude"]
    assert claude["requests"] == 1 and not claude["from_cache"]
    assert claude["input_tokens"] > 0 and claude["output_tokens"] > 0 and claude["cost_usd"] > 0
    # Only the sentence and the vocabulary went out: nothing of the library.
    sent = json.dumps(body)
    assert "Cool Jazz Artist" not in sent and "Song 1" not in sent and str(library.db.parent) not in sent
    assert body["tool_choice"] == {"type": "tool", "name": interpret.TOOL_NAME}


async def test_the_same_sentence_again_costs_no_request_and_offline_answers_from_the_cache(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        first = await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        again = await prompt_playlist(config, PromptRequest("  Rainy Sunday jazz,  nothing faster than 100 bpm, "
                                                            "about an hour", dry_run=True))
        offline = await prompt_playlist(config, PromptRequest(RAINY, dry_run=True, offline=True))
        assert fakes.requests("claude") == 1
        with pytest.raises(PlaylistError, match="--offline: this sentence has not been asked before"):
            await prompt_playlist(config, PromptRequest("calm ambient, 10 tracks", dry_run=True, offline=True))
        assert fakes.requests("claude") == 1
    for later in (again, offline):
        assert later["claude"]["requests"] == 0 and later["claude"]["from_cache"]
        assert later["claude"]["cost_usd"] == 0
        assert later["playlists"][0]["tracks"] == first["playlists"][0]["tracks"]


async def test_offline_needs_no_key_but_a_new_sentence_needs_one(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        keyless = config_for(fakes, tmp_path, library.db, keys=False)
        cached = await prompt_playlist(keyless, PromptRequest(RAINY, dry_run=True, offline=True))
        assert cached["claude"]["from_cache"]
        with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
            await prompt_playlist(keyless, PromptRequest("calm ambient", dry_run=True))
        assert fakes.requests("claude") == 1


async def test_overloaded_and_failing_service_is_retried_then_answered(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        fakes.service("claude").faults.push("529", "429", "500", "html")
        result = await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        assert fakes.requests("claude") == 5 and fakes.violations("claude") == 0
    assert result["claude"]["requests"] == 1 and result["wish"]["genres"] == ["jazz"]


async def test_a_service_that_keeps_failing_is_one_error_and_nothing_is_cached(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db, claude={"max_retries": 1})
        fakes.service("claude").faults.push("500", "500")
        with pytest.raises(PlaylistError, match="claude could not read the wish") as failed:
            await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        assert "\n" not in str(failed.value)
        result = await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        assert result["claude"]["requests"] == 1 and fakes.requests("claude") == 3


async def test_a_wrong_key_is_one_line_naming_the_setting(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db, claude={"api_key": "sk-ant-api03-wrong"})
        with pytest.raises(PlaylistError, match="invalid API key") as failed:
            await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        assert fakes.requests("claude") == 1  # not retried
    assert "sk-ant-api03-wrong" not in str(failed.value) and "\n" not in str(failed.value)


@pytest.mark.parametrize("canned", [
    Canned(None, "I'd rather not build playlists today.", "end_turn"),
    Canned({"genres": ["ja"]}, "", "max_tokens"),
])
async def test_an_answer_without_a_whole_tool_call_is_refused_and_not_cached(library, tmp_path, canned):
    w = world()
    w.wishes[RAINY] = canned
    async with FakeServices(w) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        with pytest.raises(PlaylistError, match="claude could not read the wish"):
            await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        del w.wishes[RAINY]
        result = await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        assert fakes.requests("claude") == 2 and result["wish"]["genres"] == ["jazz"]


async def test_fields_outside_the_schema_are_dropped_never_obeyed(library, tmp_path):
    w = world()
    w.wishes[RAINY] = {"genres": ["jazz", "rainy day music"], "tempo": {"max": "slow"}, "tracks": 12,
                       "mode": "dorian", "artists": ["Miles Davis"], "shuffle": True}
    async with FakeServices(w) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        result = await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
    dropped = result["wish"]["dropped"]
    assert sorted(d.split(":")[0] for d in dropped) == ["artists", "genres", "mode", "shuffle", "tempo max"]
    assert any("rainy day music" in d for d in dropped)
    wish = result["wish"]
    assert wish["genres"] == ["jazz"] and wish["tempo"] is None and wish["mode"] is None and wish["artists"] == []
    [playlist] = result["playlists"]
    assert playlist["count"] == 12
    # The dropped tempo is not applied: the jazz now includes fast bebop.
    assert any(t["tempo"] > 150 for t in playlist["tracks"])


async def test_named_artists_are_matched_in_the_library_and_preferred(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        result = await prompt_playlist(config, PromptRequest(
            "soul like Soul Artist 3 and Nobody In The Library, 20 tracks", dry_run=True))
    reading = result["reading"]
    assert reading["artists"]["Soul Artist 3"] > 3 and reading["artists"]["Nobody In The Library"] == 0
    assert any("Nobody In The Library" in n and "not in the library" in n for n in reading["notes"])
    artists = [t["artist"] for t in result["playlists"][0]["tracks"]]
    assert artists.count("Soul Artist 3") == 3  # the bonus brings them in; max_per_artist still holds


async def test_excluded_genres_and_mode_are_hard_filters(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        result = await prompt_playlist(config, PromptRequest("happy music but no punk and no techno, 25 tracks",
                                                             dry_run=True))
    wish = result["wish"]
    assert sorted(wish["exclude_genres"]) == ["punk", "techno"] and wish["mode"] == "major"
    info = rows(library)
    tracks = result["playlists"][0]["tracks"]
    assert len(tracks) == 25
    assert all(info[t["path"]][2] not in ("punk", "techno") for t in tracks)
    assert all(t["key"].endswith("B") for t in tracks)  # Camelot B: major keys
    assert result["reading"]["filtered"]["mode"] > 0 and result["reading"]["filtered"]["exclude_genres"] > 0


async def test_a_journey_goes_from_one_genre_to_the_other(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        result = await prompt_playlist(config, PromptRequest("a journey from ambient to techno, 15 tracks",
                                                             dry_run=True))
    assert result["wish"]["journey"] == ["ambient", "techno"]
    info = rows(library)
    genres = [info[t["path"]][2] for t in result["playlists"][0]["tracks"]]
    assert len(genres) == 15 and genres[0] == "ambient" and genres[-1] == "techno"


async def test_flags_win_over_the_wish_and_the_playlist_is_written(library, tmp_path):
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        result = await prompt_playlist(config, PromptRequest(RAINY, length=8, name="Sunday", out_dir=str(tmp_path)))
    [playlist] = result["playlists"]
    assert playlist["count"] == 8 and playlist["name"] == "Sunday"
    assert any("--length 8" in n for n in playlist["notes"])
    text = Path(playlist["file"]).read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U") and text.count("#EXTINF") == 8


async def test_nothing_passing_the_filters_is_one_clear_error(library, tmp_path):
    w = world()
    w.wishes["impossible"] = {"tempo": {"min": 290}}
    async with FakeServices(w) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        with pytest.raises(PlaylistError, match="no track of the library passes the wish's filters"):
            await prompt_playlist(config, PromptRequest("impossible", dry_run=True))


@needs_recordings
async def test_the_fake_answers_the_forced_tool_in_the_recorded_real_shape(tmp_path):
    """Same keys at every level as the real tool_use reply; a text block before the call, as the real one has."""
    import aiohttp

    from enrich.genres.vocabulary import load_vocabulary
    from enrich.sources import claude

    real = json.loads((RECORDED / "anthropic" / "messages_tool_use.response.json").read_text())
    body = interpret.body(RAINY, load_vocabulary().genres, "claude-haiku-4-5", 1024)
    headers = {"anthropic-version": "2023-06-01"}
    async with FakeServices(world()) as fakes, aiohttp.ClientSession() as session, session.post(
            fakes.urls["claude"] + "/v1/messages", json=body, headers={**headers, "x-api-key": fakes.keys["claude"]}
    ) as resp:
        assert resp.status == 200
        fake = await resp.json()
    essential = set(real) - {"container", "context_management"}
    assert essential <= set(fake)
    assert set(real["usage"]) - {"cache_creation", "inference_geo"} <= set(fake["usage"])
    assert fake["stop_reason"] == real["stop_reason"] == "tool_use"
    assert [b["type"] for b in fake["content"]] == [b["type"] for b in real["content"]] == ["text", "tool_use"]
    assert set(fake["content"][1]) == set(real["content"][1])
    # Our reader picks the call by type, from either.
    for reply in (real, fake):
        assert isinstance(claude.tool_called(claude.parse_message(reply), reply["content"][1]["name"]), dict)


async def test_the_readme_example_answers_offline_from_the_demo_replay_cache(tmp_path):
    """The README's `--prompt ... --offline --cache-dir fixtures/replay-cache`: rebuild the cache
    (fixtures/replay-cache/build.py --prompts) when the prompt, the tool or the vocabulary changes."""
    import shutil

    from enrich.config import load
    from enrich.genres.vocabulary import load_vocabulary
    from enrich.pipeline.prompt import ask
    from tests.conftest import REPO

    shutil.copytree(REPO / "fixtures" / "replay-cache", tmp_path / "cache")
    config = load(env={"HOME": str(tmp_path), "ENRICH_CACHE_DIR": str(tmp_path / "cache")})
    answer, usage = await ask(config, RAINY, load_vocabulary().genres, 1024, offline=True)
    assert usage["from_cache"] and usage["requests"] == 0
    wish = interpret.read_answer(answer, RAINY, set(load_vocabulary().genres))
    assert wish.genres == ("jazz",) and wish.tempo == interpret.Span(None, 100.0) and wish.dropped == ()


@pytest.mark.parametrize("make", [
    lambda p: None,                                     # no file
    lambda p: p.write_text("not a database"),           # not SQLite
    lambda p: p.write_bytes(b""),                        # empty
])
async def test_a_database_that_cannot_be_used_is_said_before_claude_is_paid(tmp_path, make):
    from enrich.errors import StoreError

    db = tmp_path / "library.db"
    make(db)
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, db)
        with pytest.raises(StoreError):
            await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        assert fakes.requests("claude") == 0


async def test_tracks_whose_tempo_is_unknown_cannot_pass_a_tempo_range(tmp_path):
    import asyncio

    info = await asyncio.to_thread(build_library, tmp_path / "library.db", 600, clusters=9, seed=8,
                                   files_dir=tmp_path / "Music", no_features=0.3)
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, info.db)
        slow = await prompt_playlist(config, PromptRequest("jazz under 100 bpm, 200 tracks", dry_run=True))
        any_tempo = await prompt_playlist(config, PromptRequest("jazz, 200 tracks", dry_run=True))
    without = {p for p, has in zip(info.paths, info.has_features, strict=True) if not has}
    assert not {t["path"] for t in slow["playlists"][0]["tracks"]} & without
    assert {t["path"] for t in any_tempo["playlists"][0]["tracks"]} & without  # by genre alone, when no range


async def test_a_changed_vocabulary_asks_again(library, tmp_path):
    import shutil

    from enrich.config import load
    from enrich.genres.vocabulary import load_vocabulary
    from tests.conftest import REPO

    vocabulary = tmp_path / "genres"
    shutil.copytree(REPO / "config" / "genres", vocabulary)
    async with FakeServices(world()) as fakes:
        config = config_for(fakes, tmp_path, library.db)
        await prompt_playlist(config, PromptRequest(RAINY, dry_run=True))
        (tmp_path / "mine.toml").write_text(fakes.config_toml(extra=f'[genres]\nvocabulary = "{vocabulary}"\n'))
        env = {**fakes.env(), "ENRICH_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
        mine = load(tmp_path / "mine.toml", env=env, overrides={"paths.db": str(library.db)})
        same = await prompt_playlist(mine, PromptRequest(RAINY, dry_run=True))
        assert same["claude"]["from_cache"] and fakes.requests("claude") == 1  # the same vocabulary, elsewhere
        with (vocabulary / "tree.txt").open("a", encoding="utf-8") as tree:
            tree.write("rainy day jazz\n")
        load_vocabulary.cache_clear()  # read once per process; a new run reads the changed tree
        changed = await prompt_playlist(mine, PromptRequest(RAINY, dry_run=True))
        assert not changed["claude"]["from_cache"] and fakes.requests("claude") == 2
        [body] = fakes.service("claude").bodies[-1:]
        assert "rainy day jazz" in body["tools"][0]["input_schema"]["properties"]["genres"]["items"]["enum"]
