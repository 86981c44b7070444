"""Playlists on libraries with known structure: clusters, betweenness, paths, flow, every rule."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from enrich.errors import PlaylistError
from enrich.playlists import ordering, similarity
from enrich.playlists.build import Request, plan, prepare
from enrich.playlists.genre_tree import flat_lookup
from enrich.playlists.ordering import window_breaks
from enrich.playlists.settings import PlaylistsConfig
from enrich.playlists.titles import main_artist, song_key
from enrich.store.library_view import GENRE_SLOTS, LibraryView, load_library
from tests.synthetic_library import TREE, build_library

CFG = PlaylistsConfig()


def always(path: str) -> bool:
    return True


def make_view(vectors, *, artists=None, titles=None, duration=None, tempo=None, energy=None, camelot=None,
              genres=None, missing=None, has=None, tempo_alt=None) -> LibraryView:
    """A library straight from arrays (the store's loader is tested on a real file below)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    genre_names = sorted({g for gs in (genres or []) for g in gs})
    gid = np.full((n, GENRE_SLOTS), -1, np.int32)
    gw = np.zeros((n, GENRE_SLOTS), np.float32)
    for i, gs in enumerate(genres or []):
        for slot, g in enumerate(gs[:GENRE_SLOTS]):
            gid[i, slot], gw[i, slot] = genre_names.index(g), 1.0 - 0.3 * slot
    return LibraryView(
        ids=np.arange(1, n + 1, dtype=np.int64),
        paths=[f"/music/{i}.flac" for i in range(n)],
        artists=list(artists) if artists is not None else [f"Artist {i}" for i in range(n)],
        titles=list(titles) if titles is not None else [f"Song {i}" for i in range(n)],
        duration=np.asarray(duration if duration is not None else np.full(n, 200.0), np.float32),
        missing=np.asarray(missing if missing is not None else np.zeros(n, bool)),
        tempo=np.asarray(tempo if tempo is not None else np.full(n, np.nan), np.float32),
        camelot=np.asarray(camelot if camelot is not None else np.full(n, -1), np.int8),
        energy=np.asarray(energy if energy is not None else np.full(n, np.nan), np.float32),
        loudness=np.full(n, np.nan, np.float32),
        vectors=vectors,
        has_features=np.asarray(has if has is not None else np.ones(n, bool)),
        feature_names=[f"f{j}" for j in range(vectors.shape[1])],
        genre_names=genre_names,
        genre_ids=gid,
        genre_weights=gw,
        tempo_alt=None if tempo_alt is None else np.asarray(tempo_alt, np.float32),
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    db = tmp_path_factory.mktemp("lib") / "library.db"
    info = build_library(db, 4000, clusters=6, seed=7, no_features=0.05, no_genres=0.05, neither=0.02,
                         missing=0.01)
    view = load_library(db)
    return info, view, prepare(view, CFG, TREE, flat_lookup)


def test_loader_reads_what_was_written(synthetic):
    info, view, _ = synthetic
    assert len(view) == len(info.cluster)
    assert list(view.paths) == info.paths and list(view.artists) == info.artists and list(view.titles) == info.titles
    assert (view.has_features == info.has_features).all()
    assert ((view.genre_ids[:, 0] >= 0) == info.has_genres).all()
    np.testing.assert_allclose(view.tempo[info.has_features], info.tempo[info.has_features], rtol=1e-5)
    assert np.isnan(view.tempo[~info.has_features]).all()
    assert (view.camelot[info.has_features] >= 0).all()
    assert set(view.genre_names) == {g for g, p in TREE.items() if g in view.genre_names} | \
        {p for g, p in TREE.items() if p in view.genre_names}


def test_seed_playlists_stay_in_their_cluster(synthetic):
    info, view, prep = synthetic
    rng = np.random.default_rng(1)
    comparable = np.flatnonzero(info.has_features & info.has_genres & ~view.missing)
    inside = total = 0
    for seed in rng.choice(comparable, 30, replace=False):
        [playlist] = plan(prep, Request(seeds=(view.paths[seed],), length=30), CFG, always)
        others = playlist.rows[1:]
        inside += int((info.cluster[others] == info.cluster[seed]).sum())
        total += len(others)
    assert inside / total >= 0.9


def test_flowing_order_has_smaller_tempo_jumps_than_random(synthetic):
    info, view, prep = synthetic
    rng = np.random.default_rng(2)
    better = 0
    seeds = rng.choice(np.flatnonzero(info.has_features & ~view.missing), 10, replace=False)
    for seed in seeds:
        [playlist] = plan(prep, Request(seeds=(view.paths[seed],), length=25), CFG, always)
        tempo = view.tempo[playlist.rows]
        ordered = np.nanmean(np.abs(np.diff(np.log2(tempo))))
        shuffled = np.mean([np.nanmean(np.abs(np.diff(np.log2(rng.permutation(tempo))))) for _ in range(20)])
        better += ordered < shuffled
    assert better == len(seeds)


def test_tracks_without_features_fall_back_to_genre_and_the_rest_are_skipped(synthetic):
    info, view, prep = synthetic
    seed = int(np.flatnonzero(~info.has_features & info.has_genres & ~view.missing)[0])
    [playlist] = plan(prep, Request(seeds=(view.paths[seed],), length=20), CFG, always)
    assert (info.cluster[playlist.rows] == info.cluster[seed]).mean() >= 0.9
    neither = ~info.has_features & ~info.has_genres
    assert not set(playlist.rows) & set(np.flatnonzero(neither).tolist())
    assert playlist.excluded["cannot be compared"] >= neither.sum()


def test_auto_playlists_are_distinct_named_and_cover_the_clusters(synthetic):
    info, _view, prep = synthetic
    playlists = plan(prep, Request(auto=6, length=15), CFG, always)
    assert len(playlists) == 6
    names = [p.name for p in playlists]
    assert len(set(names)) == 6 and all("BPM" in n for n in names)
    rows = [r for p in playlists for r in p.rows]
    assert len(rows) == len(set(rows))
    majority = [Counter(info.cluster[p.rows].tolist()).most_common(1)[0][0] for p in playlists]
    assert sorted(majority) == list(range(6))
    genre_of = {c: build_cluster_genre(c) for c in range(6)}
    for p, c in zip(playlists, majority, strict=False):
        assert genre_of[c] in p.name.lower()


def build_cluster_genre(c: int) -> str:
    from tests.synthetic_library import CLUSTERS
    return CLUSTERS[c][0]


def line_library(n=400, seed=0):
    """Tracks along a line x in [0, 10] in sound and tempo: 'between' is measurable."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 10, n))
    vectors = np.stack([x, rng.normal(0, 0.2, n)], axis=1)
    return x, make_view(vectors, tempo=80 + 8 * x, energy=x / 10, artists=[f"A{i % 97}" for i in range(n)])


def test_two_seeds_give_a_playlist_between_them():
    x, view = line_library()
    prep = prepare(view, CFG, {}, flat_lookup)
    a, b = 0, len(x) - 1
    [playlist] = plan(prep, Request(seeds=(view.paths[a], view.paths[b]), length=20), CFG, always)
    middle = x[playlist.rows[2:] if len(playlist.rows) > 2 else []]
    chosen = [r for r in playlist.rows if r not in (a, b)]
    assert {a, b} <= set(playlist.rows) and playlist.rows[0] == a
    assert 3.0 < float(np.mean(x[chosen])) < 7.0
    assert (np.abs(x[chosen] - 5.0) < 3.0).mean() >= 0.9, middle


def test_path_mode_walks_from_a_to_b():
    x, view = line_library()
    prep = prepare(view, CFG, {}, flat_lookup)
    a, b = 0, len(x) - 1
    [playlist] = plan(prep, Request(seeds=(view.paths[a],), to=view.paths[b], length=15), CFG, always)
    assert playlist.rows[0] == a and playlist.rows[-1] == b
    steps = x[playlist.rows]
    assert np.corrcoef(np.arange(len(steps)), steps)[0, 1] > 0.9


def test_seed_is_never_its_own_neighbour_nor_another_version_of_it():
    vectors = np.zeros((6, 2))
    titles = ["Song", "Song (Live)", "Song - 2011 Remaster", "Other", "Another", "Third"]
    view = make_view(vectors, titles=titles, artists=["A", "A", "A feat. B", "C", "D", "E"])
    prep = prepare(view, CFG, {}, flat_lookup)
    [playlist] = plan(prep, Request(seeds=(view.paths[0],), length=6), CFG, always)
    assert playlist.rows[0] == 0 and playlist.rows.count(0) == 1
    assert not {1, 2} & set(playlist.rows)
    assert any("only 4 tracks" in n or "shorter" in n for n in playlist.notes)


def test_missing_files_are_excluded():
    view = make_view(np.zeros((8, 2)), missing=[False, True] + [False] * 6)
    prep = prepare(view, CFG, {}, flat_lookup)
    gone = {view.paths[2], view.paths[3]}
    [playlist] = plan(prep, Request(seeds=(view.paths[0],), length=8), CFG, lambda p: p not in gone)
    assert not {1, 2, 3} & set(playlist.rows)
    assert playlist.excluded["missing file (disk)"] == 2 and playlist.excluded["missing file (scan)"] == 1


@pytest.mark.parametrize("request_", [Request(genre="house", length=5), Request(auto=1, length=5)])
def test_a_genre_or_auto_playlist_does_not_start_with_a_file_gone_from_disk(request_):
    # The start is picked by score, not given: it must be on disk like every other track.
    view = make_view(np.random.default_rng(0).normal(size=(12, 3)), genres=[["house"]] * 12)
    prep = prepare(view, CFG, {}, flat_lookup)
    [first] = plan(prep, request_, CFG, always)
    gone = view.paths[first.rows[0]]
    [playlist] = plan(prep, request_, CFG, lambda p: p != gone)
    assert len(playlist.rows) == 5 and gone not in [view.paths[r] for r in playlist.rows]


def test_relaxing_is_said_out_loud():
    # One artist only: 3 per artist and 5 apart cannot give 10 tracks.
    view = make_view(np.zeros((12, 2)), artists=["Solo"] * 12)
    prep = prepare(view, CFG, {}, flat_lookup)
    [playlist] = plan(prep, Request(seeds=(view.paths[0],), length=10), CFG, always)
    assert len(playlist.rows) == 10
    assert any("per artist" in n for n in playlist.notes)


# ---------------------------------------------------------------- every rule, on random libraries


@st.composite
def libraries(draw):
    n = draw(st.integers(3, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    artists = [f"Artist {k}" for k in rng.integers(0, draw(st.integers(1, 8)), n)]
    songs = rng.integers(0, max(2, n // 2), n)
    notes = ["", " (Live)", " (2011 Remaster)", " - Radio Edit", " feat. X"]
    titles = [f"Song {s}{notes[rng.integers(len(notes))]}" for s in songs]
    has = rng.random(n) < draw(st.floats(0.0, 1.0))
    genres = [[["rock", "punk", "house", "techno"][rng.integers(4)]] if rng.random() < 0.7 else [] for _ in range(n)]
    duration = rng.uniform(20, 1000, n)
    duration[rng.random(n) < 0.1] = np.nan
    view = make_view(rng.normal(0, 1, (n, 3)), artists=artists, titles=titles, duration=duration,
                     tempo=rng.uniform(60, 180, n), energy=rng.uniform(0, 1, n),
                     camelot=rng.integers(-1, 24, n), genres=genres, missing=rng.random(n) < 0.1, has=has)
    gone = {view.paths[i] for i in np.flatnonzero(rng.random(n) < 0.1)}
    return view, gone


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=libraries(),
    length=st.integers(1, 25),
    k=st.integers(0, 4),
    window=st.integers(0, 6),
    min_d=st.sampled_from([0.0, 60.0, 120.0]),
    max_d=st.sampled_from([0.0, 400.0, 900.0]),
    threshold=st.sampled_from([0.0, 0.3, 0.6]),
    direction=st.sampled_from([None, "energy-up", "tempo-down"]),
    seeds=st.integers(1, 2),
)
def test_every_rule_holds_or_is_reported(data, length, k, window, min_d, max_d, threshold, direction, seeds):
    view, gone = data
    cfg = PlaylistsConfig(min_duration=min_d, max_duration=max_d, max_per_artist=k, artist_window=window,
                          genre_threshold=threshold)
    prep = prepare(view, cfg, {"punk": "rock", "techno": "house"}, flat_lookup)
    usable = [i for i in range(len(view)) if (view.has_features[i] or view.genre_ids[i, 0] >= 0)]
    if not usable:
        event("nothing usable")
        return
    seed_rows = list(dict.fromkeys(usable[:seeds]))
    request = Request(seeds=tuple(view.paths[i] for i in seed_rows), length=length, direction=direction)
    try:
        [playlist] = plan(prep, request, cfg, lambda p: p not in gone)
    except PlaylistError as exc:  # only a clear refusal is acceptable, e.g. two seeds that are one song
        event("refused: " + str(exc).split(":")[0][:20])
        return
    event(f"built, {'short' if len(playlist.rows) < length else 'full'}, {'relaxed' if playlist.notes else 'strict'}")
    rows, notes = playlist.rows, " ".join(playlist.notes)
    others = [r for r in rows if r not in seed_rows]
    assert rows[0] == seed_rows[0]
    assert len(rows) == len(set(rows))
    assert len(rows) <= max(length, len(seed_rows))
    if len(rows) < length:
        assert "shorter than" in notes
    keys = [song_key(view.artists[r], view.titles[r], view.paths[r]) for r in rows]
    assert len(keys) == len(set(keys)), "a song twice"
    for r in others:
        assert not view.missing[r] and view.paths[r] not in gone
        assert view.has_features[r] or view.genre_ids[r, 0] >= 0
    if not any("outside" in n for n in playlist.notes):
        for r in others:
            d = view.duration[r]
            assert np.isfinite(d) if (min_d or max_d) else True
            assert (not min_d or d >= min_d) and (not max_d or d <= max_d)
    if threshold and "genre similarity" not in notes:
        assert all(playlist.scores.genre[r] >= threshold for r in others)
    if "per artist" not in notes:
        counts = Counter(main_artist(view.artists[r]) for r in rows)
        by_seeds = Counter(main_artist(view.artists[r]) for r in seed_rows)
        if k:
            assert all(c <= max(k, by_seeds[a]) for a, c in counts.items())
        artists = [main_artist(view.artists[r]) for r in rows]
        if "artist_window" not in notes:
            assert window_breaks(list(range(len(rows))), artists, window) == 0


# ---------------------------------------------------------------- tempo: 70 and 140 as neighbours

@pytest.mark.parametrize("a, a_alt, b, b_alt, octaves", [
    (70, 140, 140, 70, 0.15),          # each measured at the other's level as runner-up
    (70, None, 140, None, 1.0),        # no runner-up: a whole octave apart
    (70, 140, 140, None, 0.15),        # one side's runner-up is enough
    (100, 200, 120, None, 0.263),      # the direct distance is shorter than via the alternative
    (None, 140, 140, None, None),      # unknown tempo: unknown distance
])
def test_tempo_distance_in_octaves_with_the_second_best_tempo(a, a_alt, b, b_alt, octaves):
    log = lambda v: np.float32(np.nan if v is None else np.log2(v))  # noqa: E731
    got = float(similarity.tempo_distance(log(a), log(a_alt), log(b), log(b_alt)))
    if octaves is None:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(octaves, abs=0.002)


def test_a_half_time_reading_sits_next_to_the_double_tempo_seed():
    """Same sound, different tempi: the track read at 70 BPM with 140 as its runner-up is nearer a 140 BPM
    seed than a 100 BPM track; without the runner-ups it is the other way round."""
    vectors = np.zeros((6, 3), np.float32)
    vectors[3:] = [[1, 1, 1], [-1, -1, -1], [1, -1, 0]]  # other tracks give the library a spread
    tempo = [140, 70, 100, 120, 90, 160]
    alts = [70, 140, 200, np.nan, np.nan, np.nan]
    for tempo_alt, nearer, further in ((alts, 1, 2), (None, 2, 1)):
        view = make_view(vectors, tempo=tempo, tempo_alt=tempo_alt)
        space = similarity.sound_space(view, CFG.tempo_weight)
        target = similarity.track_target(view, space, np.zeros((0, 0), np.float32), 0)
        sound = similarity.score(view, space, [target], CFG).sound
        assert sound[nearer] > sound[further], (tempo_alt, sound)


def test_ordering_counts_a_step_to_the_runner_up_tempo_as_small():
    tempo = np.array([70.0, 140.0, 100.0])
    camelot, energy = np.full(3, -1, np.int8), np.full(3, 0.5)
    plain = ordering.transition_costs(tempo, camelot, energy, None, ordering.Flow())
    aware = ordering.transition_costs(tempo, camelot, energy, None, ordering.Flow(),
                                      tempo_alt=np.array([140.0, np.nan, np.nan]))
    assert plain[0, 1] > plain[0, 2]  # 70 -> 140 is an octave; 70 -> 100 half of one
    assert aware[0, 1] < aware[0, 2] and aware[0, 1] == aware[1, 0]
