"""The genre vocabulary: normalisation, aliases, ignore list, tree shape, file errors."""

from __future__ import annotations

import json

import pytest

from enrich.errors import ConfigError
from enrich.genres.normalise import fold, normalise
from enrich.genres.vocabulary import load_vocabulary
from tests.conftest import RECORDED, needs_recordings

VOCAB = load_vocabulary()


@pytest.mark.parametrize("raw, expected", [
    ("Hip-Hop", "hip hop"), ("  HIP   HOP ", "hip hop"), ("Drum & Bass", "drum and bass"),
    ("drum'n'bass", "drum and bass"), ("rock n roll", "rock and roll"), ("Forró", "forro"),
    ("Oi!", "oi"), ("singer/songwriter", "singer songwriter"), ("", ""),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw, genre", [
    ("hiphop", "hip hop"), ("hip-hop", "hip hop"), ("Hip Hop", "hip hop"), ("rap", "hip hop"),
    ("dnb", "drum and bass"), ("D&B", "drum and bass"), ("Drum & Bass", "drum and bass"),
    ("rnb", "r&b"), ("R&B", "r&b"), ("hardrock", "hard rock"), ("Pop-Rock", "pop rock"),
    ("jpop", "j-pop"), ("kpop", "k-pop"), ("Post Grunge", "post-grunge"), ("trip-hop", "trip hop"),
    ("prog", "progressive rock"), ("chiptunes", "chiptune"), ("Nu Metal", "nu metal"),
    ("Rock and Roll", "rock and roll"), ("opera rock", "rock opera"), ("Grunge", "grunge"),
])
def test_aliases_and_spellings_reach_the_canonical_genre(raw, genre):
    assert VOCAB.classify(raw).genre == genre


@pytest.mark.parametrize("raw, reason", [
    ("seen live", "habit"), ("albums I own", "habit"), ("favorites", "opinion"), ("70s", "decade"),
    ("1980", "decade"), ("00s", "decade"), ("1970s", "decade"), ("british", "nationality"),
    ("american", "nationality"), ("female vocalists", "description"), ("8 of 10 stars", "opinion"),
    ("Chris Cornell", "vocabulary"), ("", "empty"),
])
def test_non_genres_are_dropped_with_a_reason(raw, reason):
    match = VOCAB.classify(raw)
    assert match.genre is None and reason in match.reason


def test_artist_name_and_per_artist_ignores():
    assert VOCAB.classify("Audioslave", "Audioslave").genre is None
    assert "own name" in VOCAB.classify("ACDC", "AC/DC").reason
    assert VOCAB.classify("Beatles", "The Beatles").genre is None
    assert VOCAB.classify("opera", "Queen").genre is None          # per-artist ignore
    assert VOCAB.classify("opera", "Maria Callas").genre == "opera"


def test_tree_shape():
    roots = [g for g, p in VOCAB.parent.items() if p is None]
    assert 15 <= len(roots) <= 30 and len(VOCAB.genres) >= 300
    assert VOCAB.ancestors("melodic death metal") == ["death metal", "metal"]
    assert VOCAB.root("liquid funk") == "electronic" and VOCAB.depth("rock") == 0


def test_no_ignored_tag_hides_a_genre_and_no_alias_is_a_non_genre():
    clash = {key for key in VOCAB.ignored if key in VOCAB.keys}
    assert not clash


def recorded_tag_names():
    names = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str) and ("count" in node or "/tag/" in str(node.get("url", ""))):
                names.add(node["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted(RECORDED.glob("*/**/*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return names


NOT_GENRES = {
    "albums I own", "seen live", "70s", "80s", "00s", "1980", "1975", "2018", "british", "american",
    "australian", "Audioslave", "Chris Cornell", "AC/DC", "ACDC", "Queen", "freddie mercury",
    "favorites", "Favorite", "female vocalists", "male vocalists", "vinyl", "albums i own on vinyl",
    "10 of 10 stars", "Masterpiece", "1001 Albums You Must Hear Before You Die", "uk", "USA",
    "canadian", "japanese", "brazilian", "guitar", "Linkin Park", "Guns N' Roses", "Slash",
    "angus young", "hells bells", "back in black", "magnum opus", "bandcamp", "live", "test",
}


@needs_recordings
def test_recorded_tag_lists_keep_genres_and_drop_the_rest():
    names = recorded_tag_names()
    assert names >= NOT_GENRES, "the recordings changed; update this test"
    leaked = {n for n in NOT_GENRES if VOCAB.classify(n).genre is not None}
    assert not leaked
    kept = {VOCAB.classify(n).genre for n in names} - {None}
    assert {"hard rock", "classic rock", "grunge", "post-grunge", "heavy metal", "alternative rock",
            "progressive rock", "glam rock", "nu metal", "trip hop", "k-pop", "j-pop"} <= kept
    # Whatever comes out is a canonical name.
    assert kept <= set(VOCAB.genres)


def write_vocab(tmp_path, tree="rock\n  hard rock\n", aliases="", ignore=""):
    (tmp_path / "tree.txt").write_text(tree)
    (tmp_path / "aliases.toml").write_text(aliases)
    (tmp_path / "ignore.toml").write_text(ignore)
    return tmp_path


@pytest.mark.parametrize("tree, aliases, ignore, message", [
    ("rock\n   hard rock\n", "", "", "indented oddly"),
    ("rock\nrock\n", "", "", "listed twice"),
    ("Rock\n", "", "", "lower case"),
    ("rock\n", '"jazz" = ["jaz"]', "", "not a genre of tree.txt"),
    ("rock\n  hard rock\n", '"rock" = ["hardrock"]', "", "means both"),
    ("rock\n", "not toml [", "", "cannot read"),
    ("rock\n", "", "[patterns]\nx = ['(']", "bad pattern"),
])
def test_broken_vocabulary_files_name_the_file_and_problem(tmp_path, tree, aliases, ignore, message):
    load_vocabulary.cache_clear()
    with pytest.raises(ConfigError, match=message):
        load_vocabulary(write_vocab(tmp_path, tree, aliases, ignore))


def test_fold_is_the_matching_key():
    assert fold("Hip-Hop") == fold("hiphop") == "hiphop"
