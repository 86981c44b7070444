"""The pure parts of playlists, as tables: names, keys, genre tree, files, ordering, clustering."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from enrich.playlists import auto, m3u8, ordering
from enrich.playlists.similarity import CAMELOT, genre_relation
from enrich.playlists.titles import song_key
from enrich.store.library_view import camelot_index


@pytest.mark.parametrize("a, b", [
    (("Artist", "Song"), ("Artist", "Song (2011 Remaster)")),
    (("Artist", "Song"), ("Artist", "Song - Remastered 2009")),
    (("Artist", "Song"), ("Artist", "Song - Live")),
    (("Artist", "Song"), ("Artist", "Song (Live at Wembley)")),
    (("Artist", "Song"), ("Artist", "Song (Radio Edit)")),
    (("Artist", "Song"), ("Artist", "Song [feat. Someone]")),
    (("Artist", "Song"), ("Artist", "Song feat. Someone")),
    (("Artist", "Song"), ("Artist feat. Someone", "Song")),
    (("Artist", "Song"), ("ARTIST", "song")),
    (("Beyoncé", "Déjà Vu"), ("Beyonce", "Deja Vu (Radio Edit)")),
    (("Artist", "Song"), ("Artist", "Song [Remastered]")),
])
def test_versions_of_one_song_share_a_key(a, b):
    assert song_key(*a) == song_key(*b)


@pytest.mark.parametrize("a, b", [
    (("Artist", "Song"), ("Artist", "Song 2")),
    (("Artist", "Song"), ("Other", "Song")),
    (("Artist", "Live Forever"), ("Artist", "Forever")),
    (("Artist", "Song (Part 2)"), ("Artist", "Song")),
])
def test_different_songs_differ(a, b):
    assert song_key(*a) != song_key(*b)


@pytest.mark.parametrize("code, key_pc, mode, expected", [
    ("8A", None, None, 14), ("8B", None, None, 15), ("1A", None, None, 0), ("12B", None, None, 23),
    ("8a", None, None, 14), (None, 9, "minor", 14), (None, 0, "major", 15), (None, 11, "major", 1),
    (None, 7, "major", 17), (None, 5, "major", 13), ("13A", None, None, -1), ("", None, None, -1),
    (None, None, None, -1), ("bad", 9, "minor", 14),
])
def test_camelot_index(code, key_pc, mode, expected):
    assert camelot_index(code, key_pc, mode) == expected


@pytest.mark.parametrize("a, b, expected", [
    ("8A", "8A", 1.0), ("8A", "8B", 0.8), ("8A", "9A", 0.8), ("8A", "7A", 0.8), ("12A", "1A", 0.8),
    ("8A", "9B", 0.4), ("8A", "10A", 0.3), ("8A", "2A", 0.0), ("8B", "3A", 0.0),
])
def test_camelot_compatibility(a, b, expected):
    i, j = camelot_index(a, None, None), camelot_index(b, None, None)
    assert CAMELOT[i, j] == pytest.approx(expected)
    assert CAMELOT[j, i] == pytest.approx(expected)


TREE = {"deep house": "house", "house": "electronic", "techno": "electronic", "ambient": "electronic",
        "indie rock": "alternative rock", "alternative rock": "rock", "punk": "rock"}


@pytest.mark.parametrize("a, b, expected", [
    ("house", "house", 1.0),
    ("deep house", "house", 0.6),        # parent and child
    ("house", "techno", 0.6),            # share a parent
    ("deep house", "techno", 0.3),       # share only the root
    ("deep house", "electronic", 0.3),
    ("techno", "electronic", 0.6),
    ("indie rock", "punk", 0.3),
    ("indie rock", "techno", 0.0),
    ("bebop", "techno", 0.0),            # not in the tree: its own root
    ("bebop", "bebop", 1.0),
])
def test_genre_relation_follows_the_tree(a, b, expected):
    names = sorted({a, b, "electronic", "rock"})
    rel = genre_relation(names, TREE, 0.6, 0.3)
    assert rel[names.index(a), names.index(b)] == pytest.approx(expected)
    assert rel[names.index(b), names.index(a)] == pytest.approx(expected)


@pytest.mark.parametrize("name, expected", [
    ("Like A - B", "Like A - B.m3u8"),
    ("AC/DC: Back in Black?", "AC DC Back in Black.m3u8"),
    ("..hidden", "hidden.m3u8"),
    ("CON", "playlist CON.m3u8"),
    ("", "playlist.m3u8"),
    ("tab\there\nnewline", "tab here newline.m3u8"),
    ("Ça va — 90 BPM", "Ça va — 90 BPM.m3u8"),
    ("ü" * 200, "ü" * 60 + ".m3u8"),
])
def test_safe_filename(name, expected):
    assert m3u8.safe_filename(name) == expected


def test_m3u8_render_relative_paths_and_extinf(tmp_path):
    music = tmp_path / "music" / "Ärtist"
    entries = [
        m3u8.Entry(str(music / "01 Söng.flac"), 215.4, "Ärtist", "Söng, with comma"),
        m3u8.Entry(str(tmp_path / "elsewhere" / "b.mp3"), None, "", ""),
    ]
    text = m3u8.render(entries, tmp_path / "lists", "Mix\nname")
    assert text.splitlines() == [
        "#EXTM3U",
        "#PLAYLIST:Mix name",
        "#EXTINF:215,Ärtist - Söng, with comma",
        "../music/Ärtist/01 Söng.flac",
        "#EXTINF:-1,b",
        "../elsewhere/b.mp3",
    ]


def test_m3u8_write_is_utf8_and_numbers_clashing_names(tmp_path):
    entries = [m3u8.Entry(str(tmp_path / "a.flac"), 60.0, "A", "Ä")]
    taken: set[str] = set()
    first = m3u8.write(entries, tmp_path / "out", "Mix", taken)
    second = m3u8.write(entries, tmp_path / "out", "Mix", taken)
    assert (first.name, second.name) == ("Mix.m3u8", "Mix (2).m3u8")
    assert first.read_bytes().decode("utf-8").startswith("#EXTM3U\n")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".playlist-")]


@pytest.mark.parametrize("order, artists, window, breaks", [
    ([0, 1, 2, 3], ["a", "b", "a", "b"], 2, 0),
    ([0, 1, 2, 3], ["a", "b", "a", "b"], 3, 2),
    ([0, 1, 2, 3], ["a", "a", "b", "c"], 2, 1),
    ([0, 1, 2, 3], ["a", "a", "a", "a"], 0, 0),
    ([3, 2, 1, 0], ["a", "b", "c", "a"], 4, 1),
    ([3, 2, 1, 0], ["a", "b", "c", "a"], 3, 0),
])
def test_window_breaks(order, artists, window, breaks):
    assert ordering.window_breaks(order, artists, window) == breaks


def random_tracks(n, rng):
    tempo = rng.uniform(70, 180, n).astype(np.float32)
    camelot = rng.integers(0, 24, n).astype(np.int8)
    energy = rng.uniform(0, 1, n).astype(np.float32)
    return tempo, camelot, energy


@pytest.mark.parametrize("seed", range(8))
def test_two_opt_lowers_the_cost_and_keeps_the_start(seed):
    rng = np.random.default_rng(seed)
    tempo, camelot, energy = random_tracks(30, rng)
    cost = ordering.transition_costs(tempo, camelot, energy, None, ordering.Flow())
    artists = [str(i) for i in range(30)]
    start = [0, *rng.permutation(np.arange(1, 30)).tolist()]
    better = ordering.two_opt(start, cost, artists, 0)
    assert better[0] == 0 and sorted(better) == list(range(30))
    assert ordering.path_cost(better, cost) <= ordering.path_cost(start, cost)
    # The 2-opt delta formula agrees with recomputing the cost of the reversed path.
    for i, j in itertools.combinations(range(1, 30), 2):
        path = better[:i] + better[i:j + 1][::-1] + better[j + 1:]
        assert ordering.path_cost(path, cost) >= ordering.path_cost(better, cost) - 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_fixed_end_stays_last(seed):
    rng = np.random.default_rng(seed)
    tempo, camelot, energy = random_tracks(12, rng)
    cost = ordering.transition_costs(tempo, camelot, energy, None, ordering.Flow())
    order = ordering.flowing_order(cost, [str(i) for i in range(12)], 0, end=11)
    assert order[0] == 0 and order[-1] == 11 and sorted(order) == list(range(12))


@pytest.mark.parametrize("direction, sign", [("energy-up", 1), ("energy-down", -1)])
def test_direction_makes_energy_rise_or_fall(direction, sign):
    rng = np.random.default_rng(3)
    tempo = np.full(20, 120.0, np.float32)
    camelot = np.full(20, 14, np.int8)
    energy = rng.uniform(0, 1, 20).astype(np.float32)
    energy[0] = 0.0 if sign > 0 else 1.0
    cost = ordering.transition_costs(tempo, camelot, energy, None, ordering.Flow(), direction)
    order = ordering.flowing_order(cost, [str(i) for i in range(20)], 0)
    steps = np.diff(energy[order]) * sign
    assert (steps >= 0).mean() >= 0.9


def test_greedy_keeps_artists_apart_when_it_can():
    rng = np.random.default_rng(0)
    tempo, camelot, energy = random_tracks(12, rng)
    cost = ordering.transition_costs(tempo, camelot, energy, None, ordering.Flow())
    artists = ["a", "b", "c"] * 4
    order = ordering.flowing_order(cost, artists, 3)
    assert ordering.window_breaks(order, artists, 3) == 0


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)
    truth = rng.integers(0, 4, 2000)
    x = (centres[truth] + rng.normal(0, 0.5, (2000, 2))).astype(np.float32)
    labels, _ = auto.kmeans(x, 4, 20, np.random.default_rng(1))
    for c in range(4):
        assert len(set(labels[truth == c].tolist())) == 1
    assert len(set(labels.tolist())) == 4


def test_distinct_names():
    assert auto.distinct_names(["Rock, 120 BPM", "Jazz", "Rock, 120 BPM"]) == \
        ["Rock, 120 BPM", "Jazz", "Rock, 120 BPM (2)"]


def test_m3u8_keeps_undecodable_path_bytes(tmp_path):
    raw = tmp_path.joinpath("caf\udce9.mp3")  # a Latin-1 name read as surrogate-escaped text
    out = m3u8.write([m3u8.Entry(str(raw), 10.0, "A", "B")], tmp_path, "x")
    assert b"caf\xe9.mp3" in out.read_bytes()
    assert Path(out).name == "x.m3u8"


@pytest.mark.parametrize("seed", range(6))
def test_best_first_yields_what_a_full_stable_sort_gives(seed):
    from enrich.playlists.constraints import best_first

    rng = np.random.default_rng(seed)
    n = 5000
    total = rng.choice([0.1, 0.5, 0.5, 0.9, -np.inf], n).astype(np.float32)  # many ties
    total[rng.random(n) < 0.5] = rng.random(int((rng.random(n) < 0.5).sum()) or 1)[0]
    total = np.where(rng.random(n) < 0.3, rng.random(n).astype(np.float32), total)
    rows = np.flatnonzero(rng.random(n) < 0.8)
    expected = rows[np.argsort(-total[rows], kind="stable")].tolist()
    for first in (1, 7, 50, 300, 10_000):
        assert list(best_first(rows, total, first)) == expected


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 1000])
def test_the_typical_length_is_the_median(n):
    from enrich.playlists.constraints import median

    values = np.random.default_rng(n).uniform(30, 600, n).astype(np.float32)
    assert median(values) == pytest.approx(float(np.median(values)), rel=1e-6)
