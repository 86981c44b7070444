"""Consensus and classifier policy: pure functions over votes, checked with tables."""

from __future__ import annotations

import json

import pytest

from enrich.genres.consensus import Settings, decide
from enrich.genres.policy import ClassifierPolicy, classifier_reason
from enrich.genres.vocabulary import load_vocabulary
from enrich.genres.votes import Vote, from_tags
from tests.conftest import RECORDED, needs_recordings

VOCAB = load_vocabulary()
WEIGHTS = {"lastfm": 1.0, "musicbrainz": 1.5, "musicbrainz_tags": 0.8, "claude": 1.0}
SETTINGS = Settings(WEIGHTS, threshold=0.3, top_n=3, order="specific", parent_share=0.5)


def v(source, raw, weight=100, level="track"):
    return Vote(source, level, raw, weight, 1.0)


@pytest.mark.parametrize("votes, expected", [
    # one source, one genre: it and its parent (half support)
    ([v("lastfm", "hard rock")], ["hard rock", "rock"]),
    # spellings of one genre do not add up twice
    ([v("lastfm", "Hip-Hop"), v("lastfm", "hiphop", 90), v("lastfm", "rap", 80)], ["hip hop"]),
    # non-genres never come out, whatever their weight
    ([v("lastfm", "seen live"), v("lastfm", "80s"), v("lastfm", "british"), v("lastfm", "jazz", 20)], ["jazz"]),
    # weak tags under the threshold are dropped
    ([v("lastfm", "rock"), v("lastfm", "jazz", 10)], ["rock"]),
    # most specific first
    ([v("lastfm", "rock"), v("lastfm", "grunge", 50)], ["grunge", "rock"]),
    # a parent reached only through a child still counts when the child is strong
    ([v("lastfm", "rock", 60), v("lastfm", "grunge", 100)], ["grunge", "alternative rock", "rock"]),
    # a heavier source wins a disagreement
    ([v("lastfm", "pop"), v("musicbrainz", "soul")], ["soul", "pop"]),
    # nothing usable
    ([v("lastfm", "seen live")], []),
    ([], []),
])
def test_decide(votes, expected):
    assert [g.genre for g in decide(votes, VOCAB, SETTINGS).genres] == expected


@pytest.mark.parametrize("levels, expected_level", [
    (("track", "album", "artist"), "track"),
    (("album", "artist"), "album"),
    (("artist",), "artist"),
])
def test_track_then_album_then_artist(levels, expected_level):
    votes = [v("lastfm", {"track": "grunge", "album": "punk", "artist": "jazz"}[lvl], level=lvl) for lvl in levels]
    outcome = decide(votes, VOCAB, SETTINGS)
    assert {g.level for g in outcome.genres} == {expected_level}


def test_junk_only_track_level_falls_back_to_artist():
    votes = [v("lastfm", "seen live"), v("lastfm", "grunge", level="artist")]
    outcome = decide(votes, VOCAB, SETTINGS)
    assert outcome.genres[0].genre == "grunge" and outcome.genres[0].level == "artist"
    assert [d.raw for d in outcome.dropped] == ["seen live"]


def test_order_and_top_n_settings():
    votes = [v("lastfm", "rock"), v("lastfm", "hard rock", 90), v("lastfm", "classic rock", 60), v("lastfm", "blues", 50)]
    by_score = Settings(WEIGHTS, 0.3, 2, "score", 0.5)
    assert [g.genre for g in decide(votes, VOCAB, by_score).genres] == ["rock", "hard rock"]
    specific = Settings(WEIGHTS, 0.3, 4, "specific", 0.5)
    assert [g.genre for g in decide(votes, VOCAB, specific).genres][:2] == ["hard rock", "classic rock"]


def test_provenance_names_sources_raw_tags_and_parents():
    votes = [v("lastfm", "Grunge", 80), v("musicbrainz", "grunge", 3)]
    grunge, rock = decide(votes, VOCAB, SETTINGS).genres
    assert {(p["source"], p["raw"]) for p in grunge.provenance} == {("lastfm", "Grunge"), ("musicbrainz", "grunge")}
    assert grunge.score == 1.0
    assert all(p["via"] == "grunge" for p in rock.provenance) and rock.score == 0.5


def test_unweighted_source_counts_nothing():
    settings = Settings({"lastfm": 1.0}, 0.3, 3, "specific", 0.0)
    assert [g.genre for g in decide([v("lastfm", "jazz"), v("claude", "rock")], VOCAB, settings).genres] == ["jazz"]


@needs_recordings
def test_recorded_audioslave_artist_tags():
    body = json.loads((RECORDED / "lastfm/artist.getTopTags__0_ok.json").read_text())
    tags = [(t["name"], float(t["count"])) for t in body["toptags"]["tag"]]
    outcome = decide(from_tags("lastfm", "artist", tags), VOCAB, SETTINGS, artist="Audioslave")
    genres = [g.genre for g in outcome.genres]
    assert genres[-1] == "rock" and set(genres) <= {"alternative rock", "hard rock", "grunge", "rock"}
    dropped = {d.raw for d in outcome.dropped}
    assert {"seen live", "Audioslave", "american", "Chris Cornell", "00s"} <= dropped


@needs_recordings
def test_recorded_acdc_track_tags():
    body = json.loads((RECORDED / "lastfm/track.getTopTags__0_ok.json").read_text())
    tags = [(t["name"], float(t["count"])) for t in body["toptags"]["tag"]]
    outcome = decide(from_tags("lastfm", "track", tags), VOCAB, SETTINGS, artist="AC/DC")
    assert [g.genre for g in outcome.genres] == ["hard rock", "classic rock", "rock"]
    assert {"ACDC", "AC/DC", "80s", "australian"} <= {d.raw for d in outcome.dropped}


def out(*pairs):
    votes = [v("lastfm", g, w) for g, w in pairs]
    return decide(votes, VOCAB, Settings(WEIGHTS, 0.1, 3, "score", 0.0))


@pytest.mark.parametrize("outcome, policy, reason", [
    (out(), ClassifierPolicy(), "empty"),
    (out(("jazz", 100)), ClassifierPolicy(), None),
    (out(("jazz", 100), ("metal", 95)), ClassifierPolicy(), "conflict"),
    (out(("jazz", 100), ("bebop", 95)), ClassifierPolicy(), None),      # same root: no conflict
    (out(("jazz", 100)), ClassifierPolicy(mode="always"), "always"),
    (out(), ClassifierPolicy(mode="never"), None),
    (out(), ClassifierPolicy(when=("weak",)), None),
])
def test_classifier_policy(outcome, policy, reason):
    assert classifier_reason(outcome, VOCAB, policy) == reason


def test_weak_outcome_goes_to_classifier():
    outcome = decide([v("lastfm", "jazz", 100, "artist"), v("musicbrainz", "metal", 100, "artist")], VOCAB,
                     Settings(WEIGHTS, 0.1, 3, "score", 0.0))
    assert classifier_reason(outcome, VOCAB, ClassifierPolicy(when=("weak",))) is None
    assert classifier_reason(outcome, VOCAB, ClassifierPolicy(when=("weak",), weak_below=0.7)) == "weak"


def test_votes_that_all_weigh_zero_say_nothing():
    # Claude answers with confidence 0 when [genres.classifier] min_confidence = 0.
    votes = [Vote("claude", "track", "jazz", 0.0), Vote("lastfm", "track", "rock", 100)]
    assert [g.genre for g in decide(votes, VOCAB, Settings({"claude": 1.0, "lastfm": 1.0})).genres] == ["rock"]
    assert decide([Vote("claude", "track", "jazz", 0.0)], VOCAB, Settings({"claude": 1.0})).genres == ()
