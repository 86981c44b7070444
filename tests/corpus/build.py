"""Builds a corpus folder: clips rendered in parallel, then ``manifest.json``, then ``READY``.

A folder is complete only once ``READY`` exists; clips already there are kept, so an
interrupted build resumes. ``publish`` builds next to the target and swaps it in, so a
reader polling for READY never sees a half-written corpus.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tests.corpus import GENERATOR_VERSION
from tests.corpus.arrange import arrange
from tests.corpus.encode import write
from tests.corpus.plan import ClipSpec
from tests.corpus.render import Renderer, fade, room

MANIFEST = "manifest.json"
READY = "READY"


def default_folder() -> Path:
    """$ENRICH_CORPUS_DIR, else ~/.cache/enrich/test-corpus/v<generator version>."""
    chosen = os.environ.get("ENRICH_CORPUS_DIR")
    if chosen:
        return Path(chosen)
    return Path.home() / ".cache" / "enrich" / "test-corpus" / f"v{GENERATOR_VERSION}"


def render_clip(renderer: Renderer, spec: ClipSpec):
    """The clip's final audio (float32 frames x 2), before encoding."""
    score = arrange(spec.piece())
    dry = renderer.render(score, spec.seconds, spec.cents, spec.lead_in)
    return fade(room(dry, renderer.sample_rate, random.Random(spec.seed ^ 0x5EED)), renderer.sample_rate)


def make_clip(renderer: Renderer, spec: ClipSpec, folder: Path, reuse: tuple[Path, ...] = ()) -> Path:
    """Renders one clip into ``folder``, or links the same clip from a ``reuse`` folder."""
    target = folder / spec.path
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    for other in reuse:
        if (other / spec.path).is_file():
            os.link(other / spec.path, target)
            return target
    partial = target.with_name(f".partial-{target.name}")
    write(partial, render_clip(renderer, spec), renderer.sample_rate)
    partial.rename(target)
    return target


_renderer: Renderer | None = None


def _start_worker() -> None:
    global _renderer
    _renderer = Renderer()


def _work(job: tuple[ClipSpec, str, tuple[Path, ...]]) -> str:
    spec, folder, reuse = job
    assert _renderer is not None
    make_clip(_renderer, spec, Path(folder), reuse)
    return spec.id


def manifest(specs: list[ClipSpec]) -> dict:
    return {"generator": GENERATOR_VERSION, "clips": [s.manifest_entry() for s in specs]}


def is_ready(folder: Path, specs: list[ClipSpec]) -> bool:
    """True when ``folder`` holds exactly this plan's corpus, complete."""
    try:
        found = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return (folder / READY).exists() and found == manifest(specs)


def build(folder: Path, specs: list[ClipSpec], workers: int = 2, progress=None,
          reuse: tuple[Path, ...] = ()) -> Path:
    """Renders every missing clip into ``folder``, then writes the manifest and READY.

    Clips found in a ``reuse`` folder (same generator version) are hard-linked, not rendered.
    """
    if is_ready(folder, specs):
        return folder / MANIFEST
    folder.mkdir(parents=True, exist_ok=True)
    (folder / READY).unlink(missing_ok=True)
    jobs = [(s, str(folder), reuse) for s in sorted(specs, key=lambda s: -s.seconds)]  # longest first
    started = time.monotonic()
    if workers <= 1:
        renderer = Renderer()
        for done, (spec, _, _) in enumerate(jobs, 1):
            make_clip(renderer, spec, folder, reuse)
            if progress:
                progress(done, len(jobs), spec.id, time.monotonic() - started)
    else:
        # a worker that dies (a crash in a native encoder) fails the build instead of hanging it
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker) as pool:
            futures = [pool.submit(_work, job) for job in jobs]
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    clip_id = future.result()
                    if progress:
                        progress(done, len(jobs), clip_id, time.monotonic() - started)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    path = folder / MANIFEST
    partial = folder / f".partial-{MANIFEST}"
    partial.write_text(json.dumps(manifest(specs), indent=1))
    partial.rename(path)
    (folder / READY).write_text(f"generator {GENERATOR_VERSION}, {len(specs)} clips\n")
    return path


def publish(target: Path, specs: list[ClipSpec], workers: int = 2, progress=None,
            reuse: tuple[Path, ...] = ()) -> Path:
    """Builds into ``<target>.next`` and swaps it in whole, so ``target`` is never half-written."""
    if is_ready(target, specs):
        return target / MANIFEST
    staging = target.with_name(target.name + ".next")
    build(staging, specs, workers, progress, reuse=(*reuse, target))
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target / MANIFEST
