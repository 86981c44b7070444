"""The [analysis] settings table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from enrich.errors import ConfigError

if TYPE_CHECKING:
    from enrich.config import Config

KEY_PROFILES = ("enrich", "edma", "krumhansl", "temperley")


@dataclass(frozen=True)
class AnalysisConfig:
    workers: int = 0
    sample_rate: int = 22050
    excerpt: bool = True
    excerpt_windows: int = 3
    excerpt_seconds: float = 30.0
    max_seconds: float = 240.0
    timeout: float = 120.0
    max_tasks_per_worker: int = 200
    key_profile: str = "enrich"

    def __post_init__(self) -> None:
        problems = []
        if not 8000 <= self.sample_rate <= 48000:
            problems.append(f"'analysis.sample_rate' = {self.sample_rate}: expected 8000..48000 Hz")
        if not 1 <= self.excerpt_windows <= 20:
            problems.append(f"'analysis.excerpt_windows' = {self.excerpt_windows}: expected 1..20")
        if self.excerpt_seconds < 5:
            problems.append(f"'analysis.excerpt_seconds' = {self.excerpt_seconds}: expected at least 5 s")
        if self.max_seconds < 5:
            problems.append(f"'analysis.max_seconds' = {self.max_seconds}: expected at least 5 s")
        if self.max_tasks_per_worker < 1:
            problems.append(f"'analysis.max_tasks_per_worker' = {self.max_tasks_per_worker}: expected 1 or more")
        if self.key_profile not in KEY_PROFILES:
            problems.append(f"'analysis.key_profile' = {self.key_profile!r}: expected one of {', '.join(KEY_PROFILES)}")
        if problems:
            raise ConfigError("; ".join(problems))


def analysis_settings(config: Config) -> AnalysisConfig:
    return config.section("analysis", AnalysisConfig)
