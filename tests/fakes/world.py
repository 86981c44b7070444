"""The small data world the fake services answer from.

A test builds a World (or takes ``World.sample()``), hands it to FakeServices,
and then knows exactly what each service will say.
"""

from __future__ import annotations

import functools
import random
import re
import unicodedata
import uuid
from dataclasses import dataclass, field


@functools.lru_cache(maxsize=65536)  # the fake MusicBrainz search compares every artist each time: keep it cheap
def norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def mbid_for(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "enrich-fake:" + ":".join(parts)))


@dataclass
class Artist:
    name: str
    tags: list[tuple[str, int]] = field(default_factory=list)  # Last.fm top tags, 0-100
    genres: list[tuple[str, int]] = field(default_factory=list)  # MusicBrainz genres (votes)
    mb_tags: list[tuple[str, int]] | None = None  # MusicBrainz folksonomy tags (default: genres)
    mbid: str = ""
    sort_name: str = ""
    aliases: tuple[str, ...] = ()
    misspellings: tuple[str, ...] = ()  # names Last.fm autocorrects to this one
    disambiguation: str = ""
    string_counts: bool = False  # Last.fm quirk: counts as strings
    genre: str = ""  # what the fake Claude answers for this artist's tracks
    similar: list[tuple[str, float]] = field(default_factory=list)  # Last.fm artist.getSimilar: (name, match 0..1)

    def __post_init__(self):
        self.mbid = self.mbid or mbid_for("artist", self.name)
        self.sort_name = self.sort_name or self.name
        if self.mb_tags is None:
            self.mb_tags = list(self.genres)
        if not self.genre and (self.genres or self.tags):
            self.genre = (self.genres or self.tags)[0][0]


@dataclass
class Track:
    artist: str
    title: str
    album: str = ""
    tags: list[tuple[str, int]] = field(default_factory=list)
    genres: list[tuple[str, int]] = field(default_factory=list)  # MusicBrainz recording genres
    mbid: str = ""
    genre: str = ""  # the fake Claude's answer; falls back to the artist's

    def __post_init__(self):
        self.mbid = self.mbid or mbid_for("recording", self.artist, self.title)


@dataclass
class Album:
    artist: str
    title: str
    tags: list[tuple[str, int]] = field(default_factory=list)
    genres: list[tuple[str, int]] = field(default_factory=list)
    mbid: str = ""

    def __post_init__(self):
        self.mbid = self.mbid or mbid_for("release-group", self.artist, self.title)


@dataclass
class Listener:
    """A Last.fm user: most played tracks per period, and scrobbles."""

    name: str
    top: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)  # period -> (artist, title, plays)
    recent: list[tuple[str, str, int]] = field(default_factory=list)  # (artist, title, unix time), newest first
    now_playing: tuple[str, str] | None = None
    private: bool = False  # hides recent tracks (error 17)

    def top_of(self, period: str) -> list[tuple[str, str, int]]:
        return self.top.get(period, self.top.get("overall", []))


@dataclass
class World:
    artists: list[Artist] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    albums: list[Album] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)  # old MBID -> current MBID
    # sentence -> what the fake Claude answers a playlist wish with (tests.fakes.wishes)
    wishes: dict[str, object] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)

    def __post_init__(self):
        self.index()

    def index(self) -> None:
        self.by_name = {norm(a.name): a for a in self.artists}
        for a in self.artists:
            for other in a.misspellings:
                self.by_name.setdefault(norm(other), a)
        self.by_mbid = {a.mbid: ("artist", a) for a in self.artists}
        self.by_mbid.update({t.mbid: ("recording", t) for t in self.tracks})
        self.by_mbid.update({al.mbid: ("release-group", al) for al in self.albums})
        self.track_index = {(norm(t.artist), norm(t.title)): t for t in self.tracks}
        self.album_index = {(norm(al.artist), norm(al.title)): al for al in self.albums}
        self.by_user = {u.name.casefold(): u for u in self.listeners}  # Last.fm user names ignore case

    def listener(self, name: str) -> Listener | None:
        return self.by_user.get(name.casefold())

    def artist(self, name: str) -> Artist | None:
        return self.by_name.get(norm(name))

    def track(self, artist: str, title: str) -> Track | None:
        a = self.artist(artist)
        return self.track_index.get((norm(a.name) if a else norm(artist), norm(title)))

    def album(self, artist: str, title: str) -> Album | None:
        a = self.artist(artist)
        return self.album_index.get((norm(a.name) if a else norm(artist), norm(title)))

    def genre_of(self, artist: str, title: str) -> str:
        t = self.track(artist, title)
        if t and t.genre:
            return t.genre
        a = self.artist(artist)
        return a.genre if a else ""

    @classmethod
    def sample(cls) -> World:
        """A few artists that between them show every quirk the fakes know."""
        artists = [
            Artist("Portishead", tags=[("trip-hop", 100), ("electronic", 62), ("seen live", 20), ("female vocalists", 18)],
                   genres=[("trip hop", 9), ("electronic", 4)], aliases=("Portis Head",), sort_name="Portishead"),
            Artist("AC/DC", tags=[("hard rock", 100), ("rock", 58), ("classic rock", 53), ("80s", 14)],
                   genres=[("hard rock", 12), ("rock", 5)], misspellings=("ACDC", "AC DC"), string_counts=True),
            Artist("The Knife", tags=[("electronic", 100)], genres=[("electropop", 3)], sort_name="Knife, The"),
            Artist("Nobody Tags Me", tags=[], genres=[]),
            Artist("Björk", tags=[("electronic", 100), ("icelandic", 40), ("experimental", 38)],
                   genres=[("art pop", 6), ("electronic", 5)], aliases=("Bjork",), genre="art pop"),
        ]
        tracks = [
            Track("Portishead", "Glory Box", "Dummy", tags=[("trip-hop", 100), ("chillout", 45)], genres=[("trip hop", 3)]),
            Track("Portishead", "Roads", "Dummy", tags=[("trip-hop", 100)]),
            Track("AC/DC", "Hells Bells", "Back in Black", tags=[("hard rock", 100), ("heavy metal", 25)]),
            Track("The Knife", "Heartbeats", "Deep Cuts", tags=[("electronic", 100), ("synthpop", 80)], genre="synthpop"),
            Track("Björk", "Hyperballad", "Post", tags=[("electronic", 100), ("trip-hop", 30)]),
        ]
        albums = [
            Album("Portishead", "Dummy", tags=[("trip-hop", 100), ("90s", 30)], genres=[("trip hop", 5)]),
            Album("AC/DC", "Back in Black", tags=[], genres=[("hard rock", 7)]),
        ]
        world = cls(artists, tracks, albums)
        world.merged[mbid_for("artist", "Portishead (old id)")] = artists[0].mbid
        return world

    @classmethod
    def listening_demo(cls) -> World:
        """The README's --lastfm-user example: user 'rj' over the quickstart's fixture artists."""
        top = [("Daft Punk", "Around the World", 212), ("Kraftwerk", "Das Model", 187),
               ("Daft Punk", "One More Time", 160), ("Miles Davis", "So What", 141), ("Air", "La femme d'argent", 96),
               ("Kraftwerk", "Computer Love", 88), ("Daft Punk", "Da Funk (Radio Edit)", 77),
               ("Justice", "D.A.N.C.E.", 61), ("Lumen Drift", "Sodium Lights", 54), ("Cassius", "1999", 40),
               ("Stardust", "Music Sounds Better with You", 33)]
        artists = [
            Artist("Daft Punk", similar=[("Justice", 1.0), ("Cassius", 0.81), ("Kraftwerk", 0.42), ("Air", 0.39)]),
            Artist("Kraftwerk", similar=[("Daft Punk", 0.42), ("Lumen Drift", 0.35), ("Cluster", 0.31)]),
            Artist("Miles Davis", similar=[("John Coltrane", 1.0)]),
            Artist("Air", similar=[("Lumen Drift", 0.58), ("The Velvet Meridian", 0.47), ("Daft Punk", 0.39)]),
            Artist("Justice"), Artist("Lumen Drift", similar=[("The Velvet Meridian", 0.66)]), Artist("Cassius"),
            Artist("Stardust"),
        ]
        recent = [(a, t, 1_767_225_600 - 240 * k) for k, (a, t, _) in enumerate(top * 2)]
        return cls(artists, listeners=[Listener("rj", top={"3month": top, "overall": top}, recent=recent)])

    @classmethod
    def synthetic(cls, n_artists: int, tracks_per_artist: int = 1, seed: int = 7,
                  genres: tuple[str, ...] = ("rock", "jazz", "techno", "folk", "hip hop", "ambient", "soul")) -> World:
        """Many artists with plausible tags, for benchmarks."""
        rng = random.Random(seed)
        artists, tracks = [], []
        for i in range(n_artists):
            g = rng.sample(genres, 2)
            name = f"Artist {i:05d}"
            artists.append(Artist(name, tags=[(g[0], 100), (g[1], rng.randint(10, 90))], genres=[(g[0], rng.randint(1, 9))]))
            for j in range(tracks_per_artist):
                tracks.append(Track(name, f"Song {j:03d}", f"Album {i:05d}", tags=[(g[0], 100)]))
        return cls(artists, tracks)
