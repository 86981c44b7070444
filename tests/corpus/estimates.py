"""enrich's own answers for corpus clips, through the function the worker pool runs."""

from __future__ import annotations

import time

from enrich.analysis.settings import AnalysisConfig
from enrich.analysis.worker import analyse
from enrich.errors import AnalysisError
from tests.corpus.scoring import Estimate


def enrich_estimate(clip_id: str, path: str, settings: AnalysisConfig | None = None) -> Estimate:
    """Analyse one file as `enrich analyze` would; a file it rejects gives an Estimate with ``error``."""
    settings = settings or AnalysisConfig()
    started = time.process_time()
    try:
        features = analyse(path, settings)
    except AnalysisError as exc:
        return Estimate(clip_id, error=exc.reason, cpu_seconds=time.process_time() - started)
    cpu = time.process_time() - started
    # tuning_hz arrives with the key work (issue 9); until then there is no estimate to score
    tuning = getattr(features, "tuning_hz", None)
    return Estimate(clip_id, bpm=features.tempo, tonic=features.key_pc, mode=features.mode,
                    tuning_hz=tuning, cpu_seconds=cpu, tempo_confidence=features.tempo_confidence)
