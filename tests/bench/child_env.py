"""The environment benchmarks start `enrich` processes in: a user's, as installed.

pip byte-compiles an installed package, and an editable install writes its
.pyc files on the first run; a PYTHONDONTWRITEBYTECODE in the benchmark's own
environment would make every timed run compile enrich's modules anew (about
0.15 s of a playlists command), which no user's second run does. So it is
left out, and enrich is compiled once before anything is timed.
"""

from __future__ import annotations

import compileall
import functools
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@functools.cache
def compile_enrich() -> None:
    """Once per benchmark process: a run of many commands need not check every module each time."""
    compileall.compile_dir(REPO / "enrich", quiet=1)


def child_env(**extra: str) -> dict[str, str]:
    """os.environ without PYTHONDONTWRITEBYTECODE, enrich on the path, plus ``extra``; enrich compiled."""
    compile_enrich()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(REPO), **extra}
