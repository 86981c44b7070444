"""The query language, keys and --format lines: pure tables."""

from __future__ import annotations

import re

import pytest

from enrich.analysis.key import camelot as analysis_camelot
from enrich.browse import keys
from enrich.browse import query as q
from enrich.browse.formatting import FormatError, LineFormat


@pytest.mark.parametrize("word, condition", [
    ("genre:jazz", q.Genre("jazz")),
    ("genre:Hip-Hop", q.Genre("hip-hop")),
    ("artist:nirvana", q.Text("artist", "nirvana", False)),
    ("artist:~daft", q.Text("artist", "daft", True)),
    ("albumartist:~various", q.Text("album_artist", "various", True)),
    ("daft", q.Words("daft")),
    ("daft punk", q.Words("daft punk")),
    ("bpm:120..130", q.Range("bpm", 120.0, 130.0)),
    ("bpm:120", q.Range("bpm", 119.5, 120.5, True)),
    ("tempo:..90", q.Range("bpm", None, 90.0)),
    ("loudness:..-12", q.Range("loudness", None, -12.0)),
    ("loudness:-20..-12", q.Range("loudness", -20.0, -12.0)),
    ("year:1990..1999", q.Range("year", 1990.0, 1999.0)),
    ("year:1997", q.Range("year", 1997.0, 1997.0)),
    ("energy:0.7..", q.Range("energy", 0.7, None)),
    ("duration:..3:30", q.Range("duration", None, 210.0)),
    ("length:1:00:00..", q.Range("duration", 3600.0, None)),
    ("key:8A", q.Key(("8A",))),
    ("key:8a", q.Key(("8A",))),
    ("key:A minor", q.Key(("8A",))),
    ("key:Am", q.Key(("8A",))),
    ("key:C", q.Key(("8B",))),
    ("key:F# minor", q.Key(("11A",))),
    ("key:Bbm", q.Key(("3A",))),
    ("camelot:12B", q.Key(("12B",))),
    ("key:compatible:8A", q.Key(("8A", "7A", "9A", "8B"))),
    ("key:compatible:1B", q.Key(("1B", "12B", "2B", "1A"))),
    ("key:compatible:Am", q.Key(("8A", "7A", "9A", "8B"))),
    ("missing:genre", q.Missing("genre")),
    ("missing:genres", q.Missing("genre")),
    ("missing:features", q.Missing("features")),
    ("missing:file", q.Missing("file")),
    ("missing:year", q.Missing("year")),
    ("missing:bpm", q.Missing("bpm")),
    ("failed:analyze", q.Failed("analyze")),
    ("failed:analyse", q.Failed("analyze")),
    ("failed:genres", q.Failed("genres")),
    ("source:claude", q.Source("claude")),
    ("source:file", q.Source("file")),
])
def test_one_term(word, condition):
    assert q.parse([word]) == q.Query(((q.Term((condition,)),),))


def test_negation_comma_inside_a_value_and_a_lone_comma():
    query = q.parse(["^genre:rock", "genre:jazz,blues", "bpm:..100", ",", "artist:~earth\\, wind"])
    first, second = query.groups
    assert first[0] == q.Term((q.Genre("rock"),), negate=True)
    assert first[1].options == (q.Genre("jazz"), q.Genre("blues"))
    assert second == (q.Term((q.Text("artist", "earth, wind", True),)),)
    assert q.parse([]) == q.Query(())


@pytest.mark.parametrize("word, message", [
    ("bmp:120", "unknown field 'bmp' (did you mean 'bpm'?)"),
    ("bpm:fast", "bpm needs a number or a range like 120..130, not 'fast'"),
    ("bpm:130..120", "the range runs backwards"),
    ("bpm:..", "a range needs at least one end"),
    ("year:19x0", "year needs a number or a range like 1990..1999"),
    ("duration:3::0", "duration needs a number or a range like 3:00..4:30"),
    ("key:H minor", "'H minor' is not a key"),
    ("key:13A", "'13A' is not a key"),
    ("key:compatible:", "'' is not a key"),
    ("missing:genra", "cannot look for missing 'genra' (did you mean 'genre'?)"),
    ("failed:playlists", "no failures of 'playlists' are kept"),
    ("source:lastfn", "unknown source 'lastfn' (did you mean 'lastfm'?)"),
    ("artist:~", "nothing to search for after '~'"),
    ("genre:", "nothing to match after 'genre:'"),
])
def test_bad_terms_name_the_term(word, message):
    with pytest.raises(q.QueryError) as caught:
        q.parse(["genre:jazz", word])
    text = str(caught.value)
    assert text.startswith(f"bad query term {word!r}: ") and message in text
    assert "\n" not in text


TREE_CHILDREN = {"jazz": ["bebop", "cool jazz"], "cool jazz": ["west coast jazz"], "bebop": [], "rock": []}


def test_genres_resolve_to_the_genre_and_its_descendants():
    aliases = {"jazz": "jazz", "bop": "bebop", "rock": "rock"}
    query = q.resolve_genres(q.parse(["genre:jazz,bop", "^genre:rock"]), aliases.get, TREE_CHILDREN)
    jazz, bop = query.groups[0][0].options
    assert jazz.names == ("jazz", "bebop", "cool jazz", "west coast jazz")
    assert bop.names == ("bebop",)
    assert query.groups[0][1].options[0].names == ("rock",) and query.groups[0][1].negate
    with pytest.raises(q.QueryError, match="'genre:jaz': not a genre of the vocabulary \\(did you mean 'jazz'\\?\\)"):
        q.resolve_genres(q.parse(["genre:jaz"]), aliases.get, TREE_CHILDREN)


@pytest.mark.parametrize("pc", range(12))
@pytest.mark.parametrize("mode", ["major", "minor"])
def test_key_names_agree_with_the_analysis(pc, mode):
    code = analysis_camelot(pc, mode)
    assert keys.camelot(pc, mode) == code
    assert keys.parse_key(keys.key_name(pc, mode)) == code
    assert keys.parse_key(code) == code


@pytest.mark.parametrize("template, data, line", [
    ("{artist} - {title} [{bpm:.0f} {camelot}]", {"artist": "A", "title": "T", "bpm": 120.6, "camelot": "8A"},
     "A - T [121 8A]"),
    ("{artist} - {title} [{bpm:.0f} {camelot}]", {"artist": "A", "title": "T", "bpm": None, "camelot": None},
     "A - T [- -]"),
    ("{bpm:>6.1f}|{loudness:+.1f}", {"bpm": None, "loudness": None}, "     -|-"),
    ("{genres}", {"genres": ["house", "electronic"]}, "house, electronic"),
    ("{title:.3}", {"title": "Sodium Lights"}, "Sod"),
])
def test_format_lines(template, data, line):
    assert LineFormat(template, data).line(data) == line


@pytest.mark.parametrize("template, message", [
    ("{artst}", "unknown field {artst} in --format"),
    ("{artist", "bad --format"),
    ("{}", "unknown field {} in --format"),
])
def test_bad_formats(template, message):
    with pytest.raises(FormatError, match=message.replace("{", "\\{").replace("}", "\\}")):
        LineFormat(template, ["artist", "bpm"])


def test_a_spec_that_does_not_fit_the_value_is_one_error():
    with pytest.raises(FormatError, match=re.escape("'Nirvana' cannot be shown with ':.0f'")):
        LineFormat("{artist:.0f}", ["artist"]).line({"artist": "Nirvana"})
