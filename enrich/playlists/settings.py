"""The [playlists] settings table (config/default.toml documents each key)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from enrich.errors import ConfigError

DIRECTIONS = ("energy-up", "energy-down", "tempo-up", "tempo-down")
PERIODS = ("7day", "1month", "3month", "6month", "12month", "overall", "recent")


@dataclass(frozen=True)
class PlaylistWeights:
    """[playlists.weights]: extra parts of the score, each 0 = off."""

    lastfm_similar: float = 0.2


@dataclass(frozen=True)
class LastfmListening:
    """[playlists.lastfm]: playlists from a Last.fm user's listening (--lastfm-user)."""

    period: str = "overall"
    tracks: int = 200
    page_size: int = 200
    seeds: int = 5
    similar_artists: int = 5
    similar_limit: int = 100


@dataclass(frozen=True)
class PlaylistsConfig:
    length: int = 50
    out_dir: str = ""
    weight_sound: float = 0.55
    weight_key: float = 0.15
    weight_genre: float = 0.30
    tempo_weight: float = 0.3
    genre_parent: float = 0.6
    genre_root: float = 0.3
    partial_penalty: float = 0.85
    min_duration: float = 60.0
    max_duration: float = 900.0
    max_per_artist: int = 3
    artist_window: int = 5
    genre_threshold: float = 0.0
    flow_tempo: float = 1.0
    flow_key: float = 0.5
    flow_energy: float = 1.0
    flow_sound: float = 0.3
    flow_direction: float = 2.0
    auto_iterations: int = 15
    random_seed: int = 1
    weights: PlaylistWeights = field(default_factory=PlaylistWeights)
    lastfm: LastfmListening = field(default_factory=LastfmListening)


# Keys that must stay in a range: (low, high), None = open.
RANGES = {
    "length": (1, None), "weight_sound": (0, None), "weight_key": (0, None), "weight_genre": (0, None),
    "tempo_weight": (0, None), "genre_parent": (0, 1), "genre_root": (0, 1), "partial_penalty": (0, 1),
    "min_duration": (0, None), "max_duration": (0, None), "max_per_artist": (0, None),
    "artist_window": (0, None), "genre_threshold": (0, 1), "flow_tempo": (0, None), "flow_key": (0, None),
    "flow_energy": (0, None), "flow_sound": (0, None), "flow_direction": (0, None), "auto_iterations": (1, None),
}


def check(cfg: PlaylistsConfig) -> PlaylistsConfig:
    """Refuse settings outside their range, naming the key."""
    for f in fields(cfg):
        if f.name not in RANGES:
            continue
        low, high = RANGES[f.name]
        value = getattr(cfg, f.name)
        if value < low or (high is not None and value > high):
            allowed = f"{low}..{high}" if high is not None else f"{low} or more"
            raise ConfigError(f"[playlists] {f.name} = {value!r} is not allowed; expected {allowed}")
    if cfg.weights.lastfm_similar < 0:
        raise ConfigError(f"[playlists.weights] lastfm_similar = {cfg.weights.lastfm_similar!r} is not allowed; "
                          "expected 0 or more (0 turns it off)")
    lf = cfg.lastfm
    if lf.period not in PERIODS:
        raise ConfigError(f"[playlists.lastfm] period = {lf.period!r} is not allowed; expected one of "
                          + ", ".join(PERIODS))
    for name, low, high in (("tracks", 1, 10000), ("page_size", 1, 1000), ("seeds", 1, 50),
                            ("similar_artists", 0, 50), ("similar_limit", 1, 250)):
        value = getattr(lf, name)
        if not low <= value <= high:
            raise ConfigError(f"[playlists.lastfm] {name} = {value!r} is not allowed; expected {low}..{high}")
    if cfg.weight_sound + cfg.weight_genre <= 0:
        raise ConfigError("[playlists] weight_sound and weight_genre are both 0; playlists need one of them")
    if cfg.max_duration and cfg.min_duration > cfg.max_duration:
        raise ConfigError(f"[playlists] min_duration {cfg.min_duration:g} is above max_duration {cfg.max_duration:g}")
    return cfg
