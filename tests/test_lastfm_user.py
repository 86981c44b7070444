"""`enrich playlists --lastfm-user`: a Last.fm user's listening as seeds, similar artists in the score.

Parsers against the real shapes (recordings when they are beside the
repository), matching against a real SQLite library, and whole runs against
the fake Last.fm over loopback: paging, the rate, faults, the cache.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from enrich.config import load
from enrich.errors import BadReply, ConfigError, NotFound, PlaylistError, SourceError, UsageError
from enrich.playlists.build import Request, make_playlists
from enrich.playlists.listening import LibraryNames, affinity, blend, match
from enrich.sources import lastfm
from enrich.sources.lastfm_user import Played, parse_recent_tracks, parse_top_tracks, tally
from enrich.store.library_view import load_library
from tests.conftest import RECORDED, needs_recordings, run_enrich
from tests.fakes import FAST_HTTP, FakeServices, Faults, ThreadedFakes, World
from tests.fakes.server import toml_value
from tests.fakes.world import Artist, Listener
from tests.synthetic_library import build_library

# ---------------------------------------------------------------- parsers (real shapes)


def test_top_tracks_paging_numbers_as_strings_and_one_track_as_an_object():
    body = {"toptracks": {"track": {"name": "Glory Box", "playcount": "42", "mbid": "",
                                    "artist": {"name": "Portishead", "mbid": "", "url": "u"},
                                    "@attr": {"rank": "1"}},
                          "@attr": {"user": "rj", "page": "3", "perPage": "1", "totalPages": "7", "total": "7"}}}
    page = parse_top_tracks(body)
    assert page.tracks == [Played("Portishead", "Glory Box", 42, None)]
    assert (page.page, page.total_pages, page.total) == (3, 7, 7)
    empty = parse_top_tracks({"toptracks": {"track": [], "@attr": {"page": "2", "totalPages": "1", "total": "0"}}})
    assert empty.tracks == [] and empty.total == 0
    assert parse_top_tracks({"toptracks": {"track": "", "@attr": {}}}).tracks == []


def test_recent_tracks_leave_out_now_playing_and_read_text_artists():
    body = {"recenttracks": {"track": [
        {"artist": {"#text": "Björk", "mbid": ""}, "name": "Hyperballad", "@attr": {"nowplaying": "true"}},
        {"artist": {"#text": "Björk", "mbid": ""}, "name": "Hyperballad", "date": {"uts": "1700000100"}},
        {"artist": {"name": "Portishead"}, "name": "Roads", "date": {"uts": "1700000000"}},
        {"artist": {"#text": "Portishead"}, "name": "Roads", "date": {"uts": "1699999000"}},
    ], "@attr": {"page": "1", "perPage": "3", "totalPages": "1", "total": "3"}}}
    page = parse_recent_tracks(body)
    assert [(p.artist, p.title) for p in page.tracks] == [("Björk", "Hyperballad"), ("Portishead", "Roads"),
                                                          ("Portishead", "Roads")]
    assert tally(page.tracks) == [Played("Portishead", "Roads", 2), Played("Björk", "Hyperballad", 1)]


def test_a_reply_without_the_list_is_a_bad_reply():
    with pytest.raises(BadReply):
        parse_top_tracks({"recenttracks": {}})
    with pytest.raises(BadReply):
        parse_recent_tracks([1, 2])


@needs_recordings
def test_recorded_similar_artists_and_unknown_user_parse():
    body = json.loads((RECORDED / "lastfm" / "pydrag__artist.get_similar_ok.json").read_text())
    similar = lastfm.parse_similar(body)
    assert similar[0] == ("Slash", 1.0) and len(similar) == 50 and all(0 <= m <= 1 for _, m in similar)
    unknown_user = json.loads((RECORDED / "lastfm" / "album.getTopTags__2_error.json").read_text())
    assert unknown_user["message"] == "User not found"
    with pytest.raises(NotFound):
        lastfm.raise_for_error(unknown_user)


@needs_recordings
@pytest.mark.anyio
async def test_the_fake_similar_artists_reply_has_the_recorded_shape(tmp_path):
    recorded = json.loads((RECORDED / "lastfm" / "pydrag__artist.get_similar_ok.json").read_text())
    async with FakeServices(listening_world()) as fakes:
        config = fakes.load_config(tmp_path)
        from enrich.net import open_client

        async with open_client(config) as client:
            reply = await client.fetch("lastfm", "/2.0/", params={
                "method": "artist.getSimilar", "artist": "Deep House Artist 0", "format": "json"},
                key_param="api_key")
    ours = reply.json()["similarartists"]
    theirs = recorded["similarartists"]
    assert set(ours) == set(theirs)
    assert set(ours["artist"][0]) == set(theirs["artist"][0])
    assert all(isinstance(a["match"], str) for a in ours["artist"])


# ---------------------------------------------------------------- matching (a real SQLite library)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("lastfm")
    db = root / "library.db"
    info = build_library(db, 800, clusters=4, seed=11, files_dir=root / "Music", versions=0.0,
                         artists_per_cluster=6)
    # A file whose tags have neither artist nor title: its name says "Lumen Drift - Sodium Lights".
    untagged = root / "Music" / "loose" / "Lumen Drift - Sodium Lights.flac"
    untagged.parent.mkdir(parents=True, exist_ok=True)
    untagged.touch()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO tracks (id, path, size, mtime_ns, duration, scanned_at) VALUES (9001, ?, 1, 0, 200, 0)",
                 (str(untagged),))
    conn.execute("INSERT INTO features (track_id, version, analyzed_at, file_size, file_mtime_ns, tempo, vector)"
                 " SELECT 9001, version, 0, 1, 0, tempo, vector FROM features WHERE track_id = 1")
    conn.commit()
    conn.close()
    return root, db, info


def played_of(info, rows, plays=100):
    return [Played(info.artists[i], info.titles[i], plays - k) for k, i in enumerate(rows)]


def test_match_by_normalised_artist_and_title_lists_the_rest(library):
    _root, db, info = library
    view = load_library(db)
    names = LibraryNames.of(view)
    i = 5
    played = [
        Played(info.artists[i].upper(), info.titles[i] + " (2011 Remaster)", 50),    # case, version note
        Played("The " + info.artists[i + 1], info.titles[i + 1], 40),               # a leading "The"
        Played("lumen drift", "Sodium Lights", 30),                                 # an untagged file, by name
        Played("Nobody We Have", "Nothing Like It", 20),                            # not in the library
        Played(info.artists[i], info.titles[i], 10),                                # the same song again
    ]
    found = match(view, names, played)
    rows = [row for _, row in found.matched]
    assert [view.ids[r] for r in rows] == [i + 1, i + 2, 9001]
    assert found.unmatched == [played[3]]


def test_affinity_counts_the_seed_artist_and_its_similar_artists(library):
    _root, db, info = library
    view = load_library(db)
    names = LibraryNames.of(view)
    a, b = info.artists[0], next(x for x in info.artists if x != info.artists[0])
    aff = affinity(names, [(a, [(b.lower(), 0.7), ("Somebody Else", 0.9)])])
    rows_a = [r for r in range(len(view)) if view.artists[r] == a]
    rows_b = [r for r in range(len(view)) if view.artists[r] == b]
    assert set(aff.value[rows_a]) == {1.0} and set(aff.via[rows_a]) == {-1}
    assert aff.value[rows_b] == pytest.approx([0.7] * len(rows_b)) and set(aff.via[rows_b]) == {0}
    others = [r for r in range(len(view)) if view.artists[r] not in (a, b)]
    assert not aff.value[others].any()
    total = aff.value.copy() * 0 + 0.5
    total[0] = -float("inf")
    mixed = blend(total, aff.value, 0.25)
    assert mixed[0] == -float("inf")  # Last.fm alone does not make a track comparable
    assert mixed[rows_b[0]] == pytest.approx((0.5 + 0.25 * 0.7) / 1.25)


# ---------------------------------------------------------------- whole runs against the fake Last.fm


def listening_world(info=None, top_rows=(), not_in_library=3, similar_to=None) -> World:
    """A world whose user 'rj' played ``top_rows`` of the library (most first), then tracks it lacks."""
    artists = {}
    if info is not None:
        for name in dict.fromkeys(info.artists):
            artists[name] = Artist(name, tags=[("electronic", 100)])
    else:
        artists["Deep House Artist 0"] = Artist("Deep House Artist 0")
    if similar_to:
        for name, others in similar_to.items():
            artists[name].similar = others
    else:
        first = next(iter(artists.values()))
        first.similar = [("Somebody", 0.5), ("Somebody Else", 0.25)]
    top = [(info.artists[i], info.titles[i], 500 - 7 * k) for k, i in enumerate(top_rows)] if info else []
    top += [(f"Missing Artist {k}", f"Missing Song {k}", 5) for k in range(not_in_library)]
    recent = [(a, t, 1_700_000_000 - 60 * k) for k, (a, t, _) in enumerate(top[:6] * 2)]
    users = [Listener("rj", top={"overall": top, "7day": top[:3]}, recent=recent,
                      now_playing=("Now Playing Artist", "Now Playing Song")),
             Listener("hidden", top={"overall": top}, private=True)]
    return World(list(artists.values()), [], [], listeners=users)


def write_config(fakes, folder: Path, db: Path, playlists: dict | None = None, lastfm_settings: dict | None = None,
                 weights: dict | None = None, max_retries: int = 2) -> Path:
    extra = "[http]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in FAST_HTTP.items())
    extra += "[playlists]\nmin_duration = 0.0\nmax_duration = 0.0\n"
    extra += "".join(f"{k} = {toml_value(v)}\n" for k, v in (playlists or {}).items())
    if weights:
        extra += "[playlists.weights]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in weights.items())
    if lastfm_settings:
        extra += "[playlists.lastfm]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in lastfm_settings.items())
    extra += f'[paths]\ndb = "{db}"\ncache_dir = "{folder / "cache"}"\n'
    path = folder / "enrich.toml"
    path.write_text(fakes.config_toml(extra=extra, lastfm={"max_retries": max_retries}))
    return path


def top_rows_of(info, cluster: int, count: int) -> list[int]:
    return [i for i in range(len(info.cluster)) if info.cluster[i] == cluster and info.has_features[i]
            and info.has_genres[i]][:count]


@pytest.mark.anyio
async def test_seeds_are_the_most_played_tracks_read_page_by_page(library, tmp_path):
    _root, db, info = library
    rows = top_rows_of(info, 0, 25)
    b_artist = next(a for a, c in zip(info.artists, info.cluster, strict=False) if c == 1)
    world = listening_world(info, rows, not_in_library=4,
                            similar_to={info.artists[rows[0]]: [(b_artist, 0.8), ("Not Here", 0.9)]})
    async with FakeServices(world, rates={"lastfm": 20.0}) as fakes:
        path = write_config(fakes, tmp_path, db, lastfm_settings={"page_size": 7, "tracks": 29, "seeds": 3})
        config = load(path, env=fakes.env())
        result = await make_playlists(config, Request(lastfm_user="RJ", length=15, dry_run=True))
        paths = list(fakes.service("lastfm").counters.paths)
        assert fakes.violations() == 0
    lf = result["lastfm"]
    assert lf["read"] == 29 and lf["pages"] == 5 and lf["matched"] == 25 and lf["seeds"] == 3
    assert [t["title"] for t in lf["not_in_library"]] == [f"Missing Song {k}" for k in range(4)]
    pages = sorted(p for p in paths if "user.gettoptracks" in p.lower())
    assert len(pages) == 5 and all("limit=7" in p and "period=overall" in p for p in pages)
    assert any("page=5" in p for p in pages)
    [playlist] = result["playlists"]
    assert playlist["kind"] == "lastfm" and playlist["name"] == "RJ's most played of all time"
    seeds = [t for t in playlist["tracks"] if t["why"].startswith("seed")]
    assert {(t["artist"], t["title"]) for t in seeds} == {(info.artists[i], info.titles[i]) for i in rows[:3]}
    assert {t["why"] for t in seeds} == {"seed: 500 plays", "seed: 493 plays", "seed: 486 plays"}
    others = [t for t in playlist["tracks"] if not t["why"].startswith("seed")]
    assert others and all("lastfm " in t["why"] for t in others)
    assert any("(you play them)" in t["why"] for t in others)


@pytest.mark.anyio
async def test_similar_artists_pull_their_tracks_in_and_are_cached(library, tmp_path):
    _root, db, info = library
    candidates = top_rows_of(info, 0, 200)
    rows = [i for i in candidates if info.artists[i] == info.artists[candidates[0]]][:3]  # one artist played
    b_artist = next(a for a, c in zip(info.artists, info.cluster, strict=False) if c == 1)
    world = listening_world(info, rows, similar_to={info.artists[rows[0]]: [(b_artist, 1.0)]})
    length = info.artists.count(info.artists[rows[0]]) + 10  # room beyond the played artist's own tracks
    async with FakeServices(world) as fakes:
        heavy = write_config(fakes, tmp_path, db, lastfm_settings={"seeds": 1}, weights={"lastfm_similar": 3.0},
                             playlists={"max_per_artist": 50, "artist_window": 0})
        config = load(heavy, env=fakes.env())
        with_similar = await make_playlists(config, Request(lastfm_user="rj", length=length, dry_run=True))
        similar_requests = fakes.service("lastfm").counters.paths.copy()
        again = await make_playlists(config, Request(lastfm_user="rj", length=length, dry_run=True))
        after = fakes.service("lastfm").counters.paths
        off = write_config(fakes, tmp_path, db, lastfm_settings={"seeds": 1}, weights={"lastfm_similar": 0.0},
                           playlists={"max_per_artist": 50, "artist_window": 0})
        fakes.reset_counters()
        without = await make_playlists(load(off, env=fakes.env()),
                                       Request(lastfm_user="rj", length=length, dry_run=True))
        asked_without = list(fakes.service("lastfm").counters.paths)
    by_b = [t for t in with_similar["playlists"][0]["tracks"] if t["artist"] == b_artist]
    assert by_b and all(f"lastfm 1.00 (like {info.artists[rows[0]]})" in t["why"] for t in by_b)
    assert not [t for t in without["playlists"][0]["tracks"] if t["artist"] == b_artist]
    assert all("lastfm" not in t["why"] for t in without["playlists"][0]["tracks"])
    assert not any("getsimilar" in p.lower() for p in asked_without)
    # getSimilar comes from the cache the second time; the user's listening is asked again (it changes).
    similar = [p for p in after if "getsimilar" in p.lower()]
    assert similar and all(after[p] == similar_requests[p] for p in similar)
    assert again["lastfm"]["cache_hits"] >= 1
    top = [p for p in after if "gettoptracks" in p.lower()]
    assert sum(after[p] for p in top) == 2 * sum(similar_requests[p] for p in top)


@pytest.mark.anyio
async def test_recent_period_tallies_scrobbles_without_the_track_playing_now(library, tmp_path):
    _root, db, info = library
    rows = top_rows_of(info, 2, 6)
    async with FakeServices(listening_world(info, rows)) as fakes:
        config = load(write_config(fakes, tmp_path, db, lastfm_settings={"page_size": 5}), env=fakes.env())
        result = await make_playlists(config, Request(lastfm_user="rj", period="recent", length=10, dry_run=True))
        asked = list(fakes.service("lastfm").counters.paths)
    lf = result["lastfm"]
    assert lf["period"] == "recent" and lf["read"] == 6 and lf["pages"] == 3  # 12 scrobbles of 6 songs, 5 a page
    assert all("getrecenttracks" in p.lower() for p in asked if "user." in p.lower())
    assert "Now Playing Song" not in json.dumps(lf)
    seeds = [t for t in result["playlists"][0]["tracks"] if t["why"].startswith("seed")]
    assert seeds and all(t["why"] == "seed: 2 scrobbles" for t in seeds)


@pytest.mark.anyio
async def test_faults_are_retried_and_stay_within_the_rate(library, tmp_path):
    _root, db, info = library
    rows = top_rows_of(info, 0, 20)
    faults = Faults()
    faults.push("503", "html200", "truncated", "500")
    async with FakeServices(listening_world(info, rows), rates={"lastfm": 8.0}, faults={"lastfm": faults}) as fakes:
        config = load(write_config(fakes, tmp_path, db, lastfm_settings={"page_size": 4, "tracks": 24},
                                   max_retries=5), env=fakes.env())
        result = await make_playlists(config, Request(lastfm_user="rj", length=10, dry_run=True))
        assert fakes.violations() == 0
        assert sum(fakes.service("lastfm").counters.faults.values()) == 4
    assert result["lastfm"]["read"] == 23 and result["lastfm"]["matched"] == 20


@pytest.mark.anyio
async def test_bad_users_and_broken_replies_are_one_clear_error(library, tmp_path):
    _root, db, info = library
    rows = top_rows_of(info, 0, 5)
    async with FakeServices(listening_world(info, rows)) as fakes:
        config = load(write_config(fakes, tmp_path, db), env=fakes.env())
        for user in ("nobody", "nobod"):  # error 6 with HTTP 200 and with 404
            with pytest.raises(UsageError, match=f"Last.fm has no user '{user}'"):
                await make_playlists(config, Request(lastfm_user=user, dry_run=True))
        with pytest.raises(SourceError, match="error 17"):
            await make_playlists(config, Request(lastfm_user="hidden", period="recent", dry_run=True))
        fakes.service("lastfm").faults.push(*["html200"] * 3)
        with pytest.raises(SourceError, match="not JSON"):
            await make_playlists(config, Request(lastfm_user="rj", dry_run=True))
        fakes.service("lastfm").faults.push(*["wrong_shape"] * 3)
        with pytest.raises(BadReply):
            await make_playlists(config, Request(lastfm_user="rj", dry_run=True))
        with pytest.raises(UsageError, match="--period goes with --lastfm-user"):
            await make_playlists(config, Request(seeds=("x",), period="7day"))
        with pytest.raises(UsageError, match="give one of"):
            await make_playlists(config, Request(seeds=("x",), lastfm_user="rj"))
        with pytest.raises(UsageError, match="--period fortnight"):
            await make_playlists(config, Request(lastfm_user="rj", period="fortnight"))
        keyless = load(write_config(fakes, tmp_path, db), env={})
        with pytest.raises(ConfigError, match="LASTFM_API_KEY"):
            await make_playlists(keyless, Request(lastfm_user="rj", dry_run=True))
    nothing = listening_world(None, (), not_in_library=4)
    async with FakeServices(nothing) as fakes:
        config = load(write_config(fakes, tmp_path, db), env=fakes.env())
        with pytest.raises(PlaylistError, match=r"none of the 4 tracks 'rj' played .* Missing Artist 0 - Missing Song 0"):
            await make_playlists(config, Request(lastfm_user="rj", dry_run=True))


@pytest.mark.anyio
async def test_a_failed_similar_artists_lookup_is_a_note_and_the_playlist_is_made(library, tmp_path):
    _root, db, info = library
    rows = top_rows_of(info, 0, 4)
    async with FakeServices(listening_world(info, rows)) as fakes:
        config = load(write_config(fakes, tmp_path, db, lastfm_settings={"similar_artists": 1}), env=fakes.env())
        faults = fakes.service("lastfm").faults
        original = faults.pick

        def similar_fails():  # the listening is read first; then every getSimilar gets an HTML page
            return "html" if fakes.service("lastfm").counters.requests > 1 else original()
        faults.pick = similar_fails
        result = await make_playlists(config, Request(lastfm_user="rj", length=8, dry_run=True))
    [note] = result["lastfm"]["notes"]
    played_artists = {info.artists[i] for i in rows}
    assert any(note == f"similar artists of {a} left out: HTTP 502 after 3 tries" for a in played_artists), note
    assert result["playlists"][0]["count"] == 8


def test_bad_settings_name_the_key(tmp_path):
    path = tmp_path / "c.toml"
    for table, key, value in (("playlists.weights", "lastfm_similar", -1.0), ("playlists.lastfm", "period", "week"),
                              ("playlists.lastfm", "page_size", 5000)):
        path.write_text(f"[{table}]\n{key} = {toml_value(value)}\n")
        from enrich.playlists.settings import PlaylistsConfig, check

        with pytest.raises(ConfigError, match=key):
            check(load(path, env={}).section("playlists", PlaylistsConfig))


@pytest.mark.slow
def test_cli_prints_the_tracks_not_in_the_library_and_fails_in_one_line(library, tmp_path):
    _root, db, info = library
    rows = top_rows_of(info, 3, 6)
    with ThreadedFakes(listening_world(info, rows, not_in_library=8)) as fakes:
        config = write_config(fakes, tmp_path, db)
        base = ("playlists", "--config", str(config), "--length", "8", "--dry-run")
        ok = run_enrich(*base, "--lastfm-user", "rj", "--period", "overall", env=fakes.env())
        assert ok.returncode == 0, ok.stderr
        assert "Last.fm rj (overall): 14 tracks read (1 page, " in ok.stdout
        assert "8 played tracks not in the library (first 5; all with -v):" in ok.stdout
        assert "Missing Artist 4 - Missing Song 4" in ok.stdout and "Missing Song 5" not in ok.stdout
        assert "[seed: 500 plays]" in ok.stdout and "lastfm " in ok.stdout
        verbose = run_enrich(*base, "--lastfm-user", "rj", "-v", env=fakes.env())
        assert "Missing Artist 7 - Missing Song 7" in verbose.stdout
        # Only Last.fm is asked: no word about the other sources (no Claude key here).
        assert "claude" not in ok.stderr and "musicbrainz" not in ok.stderr
        lastfm_key_only = run_enrich(*base, "--lastfm-user", "rj", env={"LASTFM_API_KEY": fakes.env()["LASTFM_API_KEY"]})
        assert lastfm_key_only.returncode == 0 and lastfm_key_only.stderr == "", lastfm_key_only.stderr
        data = json.loads(run_enrich(*base, "--lastfm-user", "rj", "--json", env=fakes.env()).stdout)
        assert len(data["lastfm"]["not_in_library"]) == 8
        unknown = run_enrich(*base, "--lastfm-user", "nobody", env=fakes.env())
        assert unknown.returncode == 2 and unknown.stderr.strip().count("\n") == 0
        assert "Last.fm has no user 'nobody'" in unknown.stderr
        fakes.service("lastfm").faults.rates = {"503": 1.0}
        down = run_enrich(*base, "--lastfm-user", "rj", env=fakes.env())
        assert down.returncode == 1 and down.stderr.strip().count("\n") == 0, down.stderr
        assert "lastfm user rj" in down.stderr and "Traceback" not in down.stderr
        bad_period = run_enrich(*base, "--lastfm-user", "rj", "--period", "fortnight", env=fakes.env())
        assert bad_period.returncode == 2 and "fortnight" in bad_period.stderr


@pytest.mark.slow
def test_the_readme_example_on_the_demo_database(tmp_path):
    """The README's worked example, run as it says: the quickstart's database, then --lastfm-user."""
    repo = Path(__file__).resolve().parent.parent
    db = tmp_path / "demo.db"
    genres = run_enrich("genres", str(repo / "fixtures" / "library"), "--offline", "--cache-dir",
                        str(repo / "fixtures" / "replay-cache"), "--db", str(db), "-q")
    assert genres.returncode == 0, genres.stderr
    analyze = run_enrich("analyze", str(repo / "fixtures" / "library"), "--db", str(db), "-q")
    assert analyze.returncode == 0, analyze.stderr
    readme = (repo / "README.md").read_text()
    shown = readme.split("$ enrich playlists --db demo.db --lastfm-user rj --period 3month")[1].split("```")[0]
    with ThreadedFakes(World.listening_demo()) as fakes:
        config = tmp_path / "enrich.toml"
        config.write_text(fakes.config_toml())
        result = run_enrich("playlists", "--db", str(db), "--config", str(config), "--cache-dir",
                            str(tmp_path / "cache"), "--lastfm-user", "rj", "--period", "3month", "--length", "10",
                            "--dry-run", env=fakes.env())
        assert result.returncode == 0, result.stderr
        again = run_enrich("playlists", "--db", str(db), "--config", str(config), "--cache-dir",
                           str(tmp_path / "cache"), "--lastfm-user", "rj", "--period", "3month", "--length", "10",
                           "--dry-run", "--json", env=fakes.env())
    lines = result.stdout.splitlines()
    expected = [line for line in shown.splitlines()[1:] if line and not line.startswith("$")]
    assert lines[:9] == expected[:9]  # the report and the head of the table, as printed in the README
    # The tracks and the seeds' plays as printed (the scores move whenever analysis improves).
    def tracks(printed):
        rows = [m.group(1) for line in printed if (m := re.match(r"\s+\d+(?:\s+\S+){4}\s+(.*)$", line))]
        return {row if "[seed" in row else row.split("  [")[0] for row in rows}

    assert tracks(lines) == tracks(expected)
    assert json.loads(again.stdout)["lastfm"]["requests"] == 1  # the similar artists came from the cache


def test_the_python_api_takes_the_same_request(library, tmp_path):
    """`enrich.Library` is the front door: --lastfm-user is there as lastfm_user= and period=."""
    from enrich import Library

    _root, db, info = library
    rows = top_rows_of(info, 1, 4)
    with ThreadedFakes(listening_world(info, rows, not_in_library=2)) as fakes:
        config = load(write_config(fakes, tmp_path, db), env=fakes.env())
        made = Library(config=config).playlists(lastfm_user="rj", period="7day", length=6, dry_run=True)
        asked = list(fakes.service("lastfm").counters.paths)
    # 7day holds the first three played tracks only (and two it lacks).
    assert made.lastfm is not None
    assert (made.lastfm.period, made.lastfm.read, made.lastfm.matched) == ("7day", 3, 3)
    assert any("period=7day" in p for p in asked)
    seeds = [t for t in made.playlists[0].tracks if t.why.startswith("seed")]
    assert {(t.artist, t.title) for t in seeds} == {(info.artists[i], info.titles[i]) for i in rows[:3]}
    assert made.as_dict()["lastfm"]["user"] == "rj"


@pytest.mark.anyio
async def test_an_empty_library_is_said_before_last_fm_is_asked(tmp_path):
    from enrich.store.db import open_db

    db = tmp_path / "empty.db"
    conn = await open_db(db)
    await conn.close()
    async with FakeServices(listening_world(None, (), not_in_library=2)) as fakes:
        config = load(write_config(fakes, tmp_path, db), env=fakes.env())
        with pytest.raises(PlaylistError, match="no tracks yet"):
            await make_playlists(config, Request(lastfm_user="rj", dry_run=True))
        assert fakes.requests("lastfm") == 0
