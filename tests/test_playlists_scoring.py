"""Scoring gives, bit for bit, what the plain formulation gives.

``score_one`` works in place and looks up what depends only on which parts a
track has; ``plain_scores`` below is the straightforward version it replaced
(masked sums over every track, the full octave-aware tempo correction). Real
databases (the synthetic library, with runner-up tempi, tracks without
features, without genres, without either), several targets and settings.
"""

from __future__ import annotations

import numpy as np
import pytest

from enrich.playlists.genre_tree import load_tree
from enrich.playlists.settings import PlaylistsConfig
from enrich.playlists.similarity import (
    CAMELOT,
    PRODUCT_ROWS,
    Scores,
    SoundSpace,
    Target,
    best_of,
    genre_target,
    score,
    score_one,
    slot_similarity,
    sound_products,
    sound_space,
    tempo_distance,
    track_target,
)
from enrich.store.library_view import LibraryView, load_library
from tests.synthetic_library import build_library


def plain_correction(space: SoundSpace, target: Target) -> np.ndarray | float:
    t, t_alt = target.tempo
    if space.log_tempo is None or space.log_alt is None or space.tempo_scale <= 0 or not np.isfinite(t):
        return 0.0
    plain = space.log_tempo - np.float32(t)
    aware = tempo_distance(space.log_tempo, space.log_alt, np.float32(t), np.float32(t_alt))
    return np.nan_to_num(space.tempo_scale * (aware * aware - plain * plain), nan=0.0).astype(np.float32)


def plain_scores(view: LibraryView, space: SoundSpace, target: Target, cfg: PlaylistsConfig) -> Scores:
    n = len(view)
    nan = np.full(n, np.nan, dtype=np.float32)
    num = np.zeros(n, dtype=np.float32)
    den = np.zeros(n, dtype=np.float32)
    seed_parts = np.zeros(n, dtype=np.int8)
    track_parts = np.zeros(n, dtype=np.int8)
    sound, key, genre = nan, nan.copy(), nan.copy()
    if target.sound is not None and cfg.weight_sound > 0:
        msd = space.norms - 2.0 * (space.z @ target.sound) + float(target.sound @ target.sound)
        msd = np.maximum(msd + plain_correction(space, target), 0.0)
        sound = np.where(space.has, np.exp(-msd / space.total_weight), np.nan).astype(np.float32)
        num += np.where(space.has, cfg.weight_sound * sound, 0.0)
        den += np.where(space.has, cfg.weight_sound, 0.0)
        seed_parts += 1
        track_parts += space.has
    if target.camelot >= 0 and cfg.weight_key > 0:
        known = view.camelot >= 0
        key = np.where(known, CAMELOT[target.camelot][np.maximum(view.camelot, 0)], np.nan).astype(np.float32)
        num += np.where(known, cfg.weight_key * key, 0.0)
        den += np.where(known, cfg.weight_key, 0.0)
    if target.genre_profile is not None and cfg.weight_genre > 0:
        tagged = view.genre_ids[:, 0] >= 0
        genre = np.where(tagged, slot_similarity(view.genre_ids.T, view.genre_weights.T, target.genre_profile), np.nan).astype(np.float32)
        num += np.where(tagged, cfg.weight_genre * genre, 0.0)
        den += np.where(tagged, cfg.weight_genre, 0.0)
        seed_parts += 1
        track_parts += tagged
    compared = np.zeros(n, dtype=bool)
    if target.sound is not None and cfg.weight_sound > 0:
        compared |= space.has
    if target.genre_profile is not None and cfg.weight_genre > 0:
        compared |= view.genre_ids[:, 0] >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(compared & (den > 0), num / den, -np.inf).astype(np.float32)
    total = np.where(track_parts < seed_parts, total * cfg.partial_penalty, total).astype(np.float32)
    return Scores(total=total, sound=sound, key=key, genre=genre)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    db = tmp_path_factory.mktemp("scoring") / "library.db"
    build_library(db, 3000, clusters=6, seed=3, no_features=0.08, no_genres=0.08, neither=0.03, tempo_alts=0.4)
    view = load_library(db)
    parents, _ = load_tree()
    from enrich.playlists.similarity import genre_relation
    relation = genre_relation(list(view.genre_names), parents, 0.5, 0.2)
    return view, relation


def targets(view: LibraryView, space: SoundSpace, relation: np.ndarray) -> list[Target]:
    tagged, has = view.genre_ids[:, 0] >= 0, view.has_features
    pick = [int(np.flatnonzero(has & tagged)[7]), int(np.flatnonzero(has & ~tagged)[0]),
            int(np.flatnonzero(~has & tagged)[0]), int(np.flatnonzero(has & (view.camelot < 0))[0])
            if (has & (view.camelot < 0)).any() else 11]
    found = [track_target(view, space, relation, i) for i in pick]
    a, b = found[0], track_target(view, space, relation, int(np.flatnonzero(has & tagged)[500]))
    assert a.sound is not None and b.sound is not None
    middle = Target(sound=(a.sound.astype(np.float64) + b.sound) / 2, camelot=a.camelot,
                    genre_profile=a.genre_profile, label="between", tempo=a.tempo)  # float64, as paths make
    genre = genre_target(view, space, relation[0], 0, "genre")
    return [*found, middle, genre]


@pytest.mark.parametrize("settings", [
    {},
    {"weight_genre": 0.0},
    {"weight_sound": 0.0},
    {"weight_key": 0.0},
    {"weight_sound": 0.0, "weight_genre": 0.0},  # the key alone compares nothing
    {"partial_penalty": 0.3, "tempo_weight": 1.5},
])
def test_scores_equal_the_plain_formulation_bit_for_bit(library, settings):
    view, relation = library
    cfg = PlaylistsConfig(**settings)
    space = sound_space(view, cfg.tempo_weight)
    assert space.tempo_scale > 0 and np.isfinite(space.log_alt).any()
    for target in targets(view, space, relation):
        ours, plain = score_one(view, space, target, cfg), plain_scores(view, space, target, cfg)
        for part in ("total", "sound", "key", "genre"):
            np.testing.assert_array_equal(getattr(ours, part), getattr(plain, part), err_msg=f"{target.label}: {part}")
            assert getattr(ours, part).dtype == np.float32
        if settings == {"weight_sound": 0.0, "weight_genre": 0.0}:
            assert np.isneginf(ours.total).all()
    # Several seeds: the lowest of each one's scores.
    both = score(view, space, targets(view, space, relation)[:2], cfg)
    one, two = (plain_scores(view, space, t, cfg).total for t in targets(view, space, relation)[:2])
    np.testing.assert_array_equal(both.total, np.minimum(one, two))


@pytest.mark.parametrize("shares", [{"no_features": 0.7}, {"no_genres": 0.8}, {"neither": 0.6}])
def test_scores_equal_the_plain_formulation_when_most_tracks_lack_a_part(tmp_path, shares):
    # Scoring fixes the rows of unusual parts one by one: here the usual tracks are the ones lacking.
    from enrich.playlists.similarity import SOUND, genre_relation
    db = tmp_path / "library.db"
    build_library(db, 900, clusters=4, seed=8, tempo_alts=0.3, **shares)
    view = load_library(db)
    relation = genre_relation(list(view.genre_names), load_tree()[0], 0.5, 0.2)
    cfg = PlaylistsConfig()
    space = sound_space(view, cfg.tempo_weight)
    assert space.classes is not None and space.classes.usual != 7
    tagged, has = view.genre_ids[:, 0] >= 0, view.has_features
    kinds = [has & tagged, has & ~tagged, ~has & tagged]
    found = [track_target(view, space, relation, int(np.flatnonzero(k)[j])) for k in kinds if k.sum() > 3 for j in (0, 3)]
    if len(view.genre_names):
        found.append(genre_target(view, space, relation[0], 0, "genre"))
    assert any(t.sound is not None for t in found) and len(found) >= 3
    if shares == {"no_features": 0.7}:
        assert not space.classes.usual & SOUND
    for target in found:
        ours, plain = score_one(view, space, target, cfg), plain_scores(view, space, target, cfg)
        for part in ("total", "sound", "key", "genre"):
            np.testing.assert_array_equal(getattr(ours, part), getattr(plain, part), err_msg=f"{target.label}: {part}")


def test_track_classes_group_exactly_the_tracks_with_the_same_key_and_genres(library):
    from enrich.playlists.similarity import track_classes, unique_rows
    view, _ = library
    classes = track_classes(view, view.has_features)
    rows = np.concatenate([view.camelot[:, None].astype(np.int64), view.genre_ids,
                           np.ascontiguousarray(view.genre_weights).view(np.int32)], axis=1)
    _, expected = np.unique(rows, axis=0, return_inverse=True)
    expected = expected.reshape(-1)
    # The same partition: one class for one distinct row, and each class holds that row's values.
    assert len(classes.camelot) == expected.max() + 1
    pairs = set(zip(classes.of_track.tolist(), expected.tolist(), strict=True))
    assert len(pairs) == len(classes.camelot)
    np.testing.assert_array_equal(classes.camelot[classes.of_track], view.camelot)
    np.testing.assert_array_equal(classes.genre_ids[:, classes.of_track].T, view.genre_ids)
    np.testing.assert_array_equal(classes.genre_weights[:, classes.of_track].T, view.genre_weights)
    # Rows the hash cannot tell apart are still told apart.
    many = np.random.default_rng(1).integers(0, 3, size=(5000, 4)).astype(np.int32)
    first, inverse = unique_rows(many)
    np.testing.assert_array_equal(many[first][inverse], many)
    assert len(first) == len(np.unique(many, axis=0))


def stacked_best(each: list[Scores]) -> Scores:
    """The plain formulation best_of replaces: every target's scores stacked, argmax and max."""
    totals = np.array([s.total for s in each])
    best = np.nan_to_num(totals, nan=-np.inf).argmax(axis=0)
    cols = np.arange(totals.shape[1])
    return Scores(total=totals.max(axis=0).astype(np.float32), sound=np.array([s.sound for s in each])[best, cols],
                  key=np.array([s.key for s in each])[best, cols], genre=np.array([s.genre for s in each])[best, cols])


@pytest.mark.parametrize("targets", [1, 2, 5])
def test_best_of_one_target_at_a_time_equals_the_stacked_argmax(targets):
    rng = np.random.default_rng(targets)
    n = 4000

    def column() -> np.ndarray:
        values = rng.choice(np.array([0.25, 0.5, 0.75], dtype=np.float32), n)  # ties between targets
        values[rng.random(n) < 0.1] = np.nan
        values[rng.random(n) < 0.05] = -np.inf
        return values

    each = [Scores(total=column(), sound=column(), key=column(), genre=column()) for _ in range(targets)]
    expected = stacked_best(each)
    got = best_of(Scores(s.total.copy(), s.sound.copy(), s.key.copy(), s.genre.copy()) for s in each)
    for part in ("total", "sound", "key", "genre"):
        np.testing.assert_array_equal(getattr(got, part), getattr(expected, part), err_msg=part)
    assert got.total.dtype == np.float32


def test_the_sound_product_with_a_float64_target_is_the_whole_matrix_product():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(PRODUCT_ROWS * 2 + 123, 35)).astype(np.float32)
    t = rng.normal(size=35)  # float64: a point between two seeds
    got, whole = sound_products(z, t), z.astype(np.float64) @ t
    # BLAS rounds a row's sum its own way at the edges of the pieces it splits the rows into,
    # whole or by blocks alike: the last bit of a few rows may differ, nothing more.
    assert got.dtype == np.float64 and np.abs(got - whole).max() <= 4 * np.finfo(np.float64).eps * np.abs(whole).max()
    assert (got == whole).mean() > 0.999
    t32 = t.astype(np.float32)
    assert np.array_equal(sound_products(z, t32), z @ t32)
