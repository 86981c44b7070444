"""What runs inside an analysis process: warm up once, then analyse files one by one.

The parent sends ``Job`` objects over a pipe and gets one reply per job; ``None``
asks the worker to exit. Every failure of a file becomes a one-line reason in
the reply: only a crash of the process itself (or a timeout) is the parent's
business.
"""

from __future__ import annotations

import os

# One thread each: the pool's processes are the parallelism. Must precede numpy.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import resource  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402

import numpy as np  # noqa: E402

from enrich.analysis.decode import Audio, decode  # noqa: E402
from enrich.analysis.features import extract  # noqa: E402
from enrich.analysis.featureset import Features  # noqa: E402
from enrich.analysis.pool import Job, Reply  # noqa: E402
from enrich.analysis.settings import AnalysisConfig  # noqa: E402
from enrich.children import silence_native_output  # noqa: E402
from enrich.errors import AnalysisError  # noqa: E402


def analyse(path: str, settings: AnalysisConfig) -> Features:
    """Decode and analyse one file. Raises AnalysisError with a one-line reason."""
    audio = decode(
        path,
        sr=settings.sample_rate,
        excerpt=settings.excerpt,
        windows=settings.excerpt_windows,
        seconds=settings.excerpt_seconds,
        max_seconds=settings.max_seconds,
    )
    return extract(audio, item=path, key_profile=settings.key_profile)


def warm_up(settings: AnalysisConfig) -> None:
    """Fill the filter-bank caches and page in the code paths on four seconds of tone."""
    sr = settings.sample_rate
    t = np.arange(4 * sr, dtype=np.float32) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    extract(Audio([tone[None]], sr, 4.0, sr, 1, "warm-up"), item="warm-up", key_profile=settings.key_profile)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def answer(job: Job, settings: AnalysisConfig) -> Reply:
    started = time.process_time()
    features, error = None, None
    try:
        features = analyse(job.path, settings)
    except AnalysisError as exc:
        error = exc.reason
    except MemoryError:
        error = "ran out of memory while analysing"
    except Exception as exc:  # noqa: BLE001 - a bug or a library failure: still one file's problem
        error = f"analysis failed: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    return Reply(job.track_id, features, error, time.process_time() - started, peak_rss_mb())


def serve(conn: Connection, settings: AnalysisConfig) -> None:
    """The worker's main loop. Ctrl-C is the parent's to handle, so it is ignored here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    silence_native_output(1, 2)
    warm_up(settings)
    try:
        conn.send("ready")
    except (BrokenPipeError, OSError):
        return  # the parent stopped while we warmed up
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if job is None:
            return
        try:
            conn.send(answer(job, settings))
        except (BrokenPipeError, OSError):
            return
