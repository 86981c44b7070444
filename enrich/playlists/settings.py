"""The [playlists] settings table (config/default.toml documents each key)."""

from __future__ import annotations

from dataclasses import dataclass


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
