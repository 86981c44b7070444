"""The [genres] settings as frozen dataclasses, and the pure views of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from enrich.errors import ConfigError
from enrich.genres.consensus import Settings
from enrich.genres.policy import MODES, REASONS, ClassifierPolicy

if TYPE_CHECKING:
    from enrich.config import Config


@dataclass(frozen=True)
class ClassifierConfig:
    mode: str
    when: tuple[str, ...]
    weak_below: float
    conflict_ratio: float
    batch_size: int
    api: str
    poll_seconds: float
    min_confidence: float
    max_tokens: int

    def policy(self) -> ClassifierPolicy:
        return ClassifierPolicy(self.mode, tuple(self.when), self.weak_below, self.conflict_ratio)


@dataclass(frozen=True)
class GenresConfig:
    top_n: int
    threshold: float
    order: str
    parent_share: float
    ttl_days: float
    empty_ttl_days: float
    lastfm_album_tags: str
    musicbrainz_lookups: tuple[str, ...]
    musicbrainz_search_batch: int
    musicbrainz_min_score: int
    concurrency: int
    vocabulary: str
    keep_existing: bool
    weights: Mapping[str, float]
    classifier: ClassifierConfig

    def consensus(self) -> Settings:
        return Settings(dict(self.weights), self.threshold, self.top_n, self.order, self.parent_share)


CHOICES = {
    "order": ("specific", "score"),
    "lastfm_album_tags": ("fallback", "always", "never"),
}


def genres_config(config: Config) -> GenresConfig:
    """Read and check [genres]; every mistake names the key and what is allowed."""
    cfg: GenresConfig = config.section("genres", GenresConfig)
    def bad(key: str, value: object, allowed: str) -> NoReturn:
        origin = config.origins.get(f"genres.{key}", "config")
        raise ConfigError(f"{origin}: 'genres.{key}' = {value!r} is not allowed; expected {allowed}")

    for key, allowed in CHOICES.items():
        if getattr(cfg, key) not in allowed:
            bad(key, getattr(cfg, key), " or ".join(map(repr, allowed)))
    for lookup in cfg.musicbrainz_lookups:
        if lookup not in ("artist", "release-group", "recording"):
            bad("musicbrainz_lookups", lookup, "'artist', 'release-group' or 'recording'")
    if cfg.top_n < 1:
        bad("top_n", cfg.top_n, "a whole number of at least 1")
    for key in ("threshold", "parent_share"):
        if not 0 <= getattr(cfg, key) <= 1:
            bad(key, getattr(cfg, key), "a number from 0 to 1")
    if not 1 <= cfg.musicbrainz_search_batch <= 25:
        bad("musicbrainz_search_batch", cfg.musicbrainz_search_batch, "a whole number from 1 to 25")
    c = cfg.classifier
    if c.mode not in MODES:
        bad("classifier.mode", c.mode, " or ".join(map(repr, MODES)))
    if c.api not in ("messages", "batch"):
        bad("classifier.api", c.api, "'messages' or 'batch'")
    for reason in c.when:
        if reason not in REASONS:
            bad("classifier.when", reason, "a list of " + ", ".join(map(repr, REASONS)))
    if not 1 <= c.batch_size <= 100:
        bad("classifier.batch_size", c.batch_size, "a whole number from 1 to 100")
    return cfg
