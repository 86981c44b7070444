"""The pure parts of `enrich duplicates`: song keys, the keeper, audio pairs against all pairs, odd input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from enrich.analysis.featureset import NAMES
from enrich.duplicates import audio
from enrich.duplicates.groups import Settings, Tracks, find
from enrich.duplicates.keeper import Copy, choose
from enrich.duplicates.names import song_key, takes


@pytest.mark.parametrize("a, b, same", [
    (("Nirvana", "Come as You Are", ""), ("Nirvana", "Come As You Are (2011 Remaster)", ""), True),
    (("Nirvana", "Come as You Are", ""), ("nirvana", "Come as You Are - Remastered 2011", ""), True),
    (("Nirvana", "Come as You Are", ""), ("Nirvana feat. Someone", "Come as You Are [Radio Edit]", ""), True),
    (("Björk", "Jóga", ""), ("Bjork", "Joga", ""), True),
    # Another take of the song is another recording: live, acoustic, demo; by title or by a live album.
    (("Nirvana", "Come as You Are", ""), ("Nirvana", "Come as You Are (Live)", ""), False),
    (("Nirvana", "Come as You Are", ""), ("Nirvana", "Come as You Are - Live at Reading", ""), False),
    (("Nirvana", "Come as You Are", "Nevermind"), ("Nirvana", "Come as You Are", "Live at Reading"), False),
    (("Nirvana", "Come as You Are", ""), ("Nirvana", "Come as You Are", "MTV Unplugged in New York"), False),
    (("Nirvana", "Come as You Are", ""), ("Nirvana", "Come as You Are (Demo)", ""), False),
    (("Nirvana", "Come as You Are (Live)", ""), ("Nirvana", "Come as You Are - Live", ""), True),
    # "Live" as a word of the title is not a note.
    (("Wings", "Live and Let Die", ""), ("Wings", "Live and Let Die (2018 Remaster)", ""), True),
    (("Wings", "Live and Let Die", ""), ("Wings", "Live and Let Die (Live)", ""), False),
    (("Nirvana", "Come as You Are", ""), ("Foo Fighters", "Come as You Are", ""), False),
    (("Nirvana", "Come as You Are", ""), ("Nirvana", "Come as You Are (Butch Vig Remix)", ""), False),
])
def test_song_keys(a, b, same):
    assert (song_key(*a, "/m/a.flac") == song_key(*b, "/m/b.flac")) is same


def test_untagged_tracks_use_their_file_name():
    assert song_key("", "", "", "/music/Downloads/Nirvana - Come as You Are.mp3") == \
        song_key("Nirvana", "Come as You Are", "Nevermind", "/music/x.flac")
    assert song_key("Nirvana", "", "", "/music/Nevermind/02 Come as You Are.mp3") == \
        song_key("Nirvana", "Come as You Are", "", "/x.flac")
    assert song_key("", "", "", "/music/track01.mp3") is None  # a title alone does not make a song


def test_takes():
    assert takes("Song (Live at Wembley) [Remastered]") == ("live",)
    assert takes("Song - Acoustic Version") == ("acoustic",)
    assert takes("Live Forever") == ()
    assert takes("Song", "Alive 1997") == ()


def copy(row, codec="mp3", bitrate=320_000, tags=5, missing=False):
    return Copy(row=row, id=row + 1, missing=missing, codec=codec, format=codec.upper(), bitrate=bitrate, tags=tags)


@pytest.mark.parametrize("copies, keep, why", [
    ([copy(0, "mp3", 320_000), copy(1, "flac", 900_000)], 1, "lossless over lossy"),
    ([copy(0, "flac", 900_000, missing=True), copy(1, "mp3", 128_000)], 1, "the other copies' files are missing"),
    ([copy(0, "mp3", 128_000), copy(1, "aac", 256_000), copy(2, "vorbis", 192_000)], 1, "higher bitrate"),
    ([copy(0, "flac", 700_000, tags=3), copy(1, "alac", 900_000, tags=8)], 1, "more complete tags"),
    ([copy(0, "mp3", 320_000, tags=3), copy(1, "mp3", 320_500, tags=3)], 0, "the one scanned first"),
])
def test_keeper(copies, keep, why):
    chosen, reason = choose(copies)
    assert chosen.row == keep and why in reason


def tracks_of(n, *, vectors=None, names=(), duration=None, artists=None, titles=None, recordings=None):
    vectors = np.zeros((n, len(names)), np.float32) if vectors is None else vectors
    return Tracks(
        ids=np.arange(1, n + 1), paths=[f"/m/{i}.mp3" for i in range(n)], artists=artists or [""] * n,
        titles=titles or [""] * n, albums=[""] * n,
        duration=np.full(n, 200.0) if duration is None else np.asarray(duration, dtype=np.float64),
        formats=["MP3"] * n, codecs=["mp3"] * n, bitrate=np.full(n, 320_000), recordings=recordings or [""] * n,
        missing=np.zeros(n, bool), tags=np.zeros(n, int), vectors=vectors,
        has_features=np.ones(n, bool) if len(names) else np.zeros(n, bool), feature_names=list(names),
    )


@pytest.mark.parametrize("seed", range(4))
def test_audio_pairs_by_blocks_are_all_pairs_within_the_tolerance(seed, monkeypatch):
    """The blocked search finds exactly the pairs a comparison of every pair finds."""
    monkeypatch.setattr(audio, "BLOCK", 37)  # many blocks, and blocks that end inside runs of equal lengths
    rng = np.random.default_rng(seed)
    n = 450
    scale = np.array([audio.TOLERANCES.get(name, 1.0) for name in NAMES])
    base = rng.normal(0, 3, (n // 3, len(NAMES))) * scale
    vectors = np.concatenate([base, base + rng.normal(0, 0.5, base.shape) * scale,
                              rng.normal(0, 3, (n - 2 * len(base), len(NAMES))) * scale]).astype(np.float32)
    duration = np.round(np.concatenate([d := rng.uniform(100, 130, len(base)), d + rng.uniform(-2.5, 2.5, len(d)),
                                        rng.uniform(100, 130, n - 2 * len(base))]), 1)
    usable = rng.random(n) > 0.05
    s = audio.scale_for(list(NAMES), vectors, usable)
    prints = s.fingerprint(vectors)
    found = sorted(audio.pairs(duration, vectors, s, usable, seconds=2.0, tolerance=1.0))
    every = [(i, j) for i, j in itertools.combinations(range(n), 2)
             if usable[i] and usable[j] and abs(duration[i] - duration[j]) <= 2.0
             and audio.same(prints[i], prints[j], 1.0)]
    assert found == every
    assert len(every) > 50  # the planted copies within the length window are found


def test_recording_ids_that_are_not_ids_tie_nothing():
    rec = ["0", "0", "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000",
           "not-an-id", "not-an-id", "", ""]
    assert find(tracks_of(8, recordings=rec), kinds=("recording",)) == []


def test_names_need_a_length_to_confirm_them():
    t = tracks_of(3, duration=[200.0, np.nan, np.nan], artists=["A"] * 3, titles=["Song"] * 3)
    assert find(t, kinds=("name",)) == []


def test_lengths_far_apart_are_other_versions():
    t = tracks_of(3, duration=[200.0, 202.5, 260.0], artists=["A"] * 3, titles=["Song", "Song (Edit)", "Song"])
    assert [g.rows for g in find(t, Settings(seconds=3.0), kinds=("name",))] == [[0, 1]]


def test_a_library_without_features_or_tracks():
    assert find(tracks_of(0)) == []
    assert find(tracks_of(5)) == []


def test_unknown_feature_names_are_scaled_by_the_library():
    rng = np.random.default_rng(1)
    v = rng.normal(0, 1, (200, 8)).astype(np.float32)
    v[1] = v[0] + 0.01
    t = tracks_of(200, vectors=v, names=[f"timbre_{i}" for i in range(8)])
    assert [g.rows for g in find(t, kinds=("audio",))] == [[0, 1]]
