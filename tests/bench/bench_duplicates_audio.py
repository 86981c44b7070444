"""The audio evidence of `enrich duplicates` on the rendered corpus: re-encodes found, other songs not.

    python tests/bench/bench_duplicates_audio.py [--corpus DIR] [--clips 60] [--min-seconds 10] [--max-seconds 60]

The corpus (tests/corpus; `python -m tests.corpus` renders it, see README) is
General MIDI music of ten styles. Each chosen clip is decoded and encoded again
as FLAC, MP3 at 48 kbit/s, AAC at 48 kbit/s, Opus at 32 kbit/s and Vorbis; the
original file and every copy are analysed as `enrich analyze` does
(enrich.analysis.worker.analyse), and compared with the test `enrich
duplicates` applies (enrich.duplicates.audio: tolerances, RMS and largest
difference). Prints, per encoding, the share of copies found the same audio as
their original (and the largest RMS and single difference, in tolerances),
then how many pairs of different clips would be called the same audio: over
all pairs (lengths ignored, harder than the command, which compares only
tracks within 1 s of the same length) and over the pairs within 1 s.
Reference in the same run: the stored vectors compared whole (every element,
each scaled by its spread over the clips) with the best threshold hindsight
allows (just under the closest pair of different clips), to show what the
chosen elements and tolerances buy. Prints the load average.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from itertools import combinations  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from enrich.analysis.decode import decode  # noqa: E402
from enrich.analysis.featureset import NAMES  # noqa: E402
from enrich.analysis.settings import AnalysisConfig  # noqa: E402
from enrich.analysis.worker import analyse  # noqa: E402
from enrich.duplicates import audio  # noqa: E402
from fixtures.generate import FORMATS  # noqa: E402
from tests.corpus.build import READY, default_folder  # noqa: E402

SR = 44100
COPIES = {"flac": "flac", "mp3 48k": "mp3", "aac 48k": "m4a", "opus 32k": "opus", "vorbis": "ogg"}


def write_vorbis(samples: np.ndarray, sr: int, path: Path) -> None:
    """Vorbis in blocks: libsndfile's Vorbis encoder crashes on one long write."""
    import soundfile as sf

    with sf.SoundFile(path, "w", sr, 1, format="OGG", subtype="VORBIS") as out:
        for start in range(0, len(samples), 1 << 16):
            out.write(samples[start:start + (1 << 16)])


def vector_of(path: Path) -> np.ndarray:
    return np.frombuffer(analyse(str(path), AnalysisConfig()).vector(), dtype="<f4").copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--min-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    folder = args.corpus or default_folder()
    if not (folder / READY).exists():
        raise SystemExit(f"no rendered corpus at {folder}; render it with `python -m tests.corpus --out {folder}`")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    clips = [c for c in json.loads((folder / "manifest.json").read_text())["clips"]
             if args.min_seconds <= c["seconds"] <= args.max_seconds]
    clips = clips[:: max(1, len(clips) // args.clips)][: args.clips]  # every style, evenly
    started = time.process_time()
    originals, durations = [], []
    copies: dict[str, list[np.ndarray]] = {name: [] for name in COPIES}
    with tempfile.TemporaryDirectory() as tmp:
        for n, clip in enumerate(clips):
            path = folder / clip["path"]
            originals.append(vector_of(path))
            durations.append(float(clip["seconds"]))
            decoded = decode(str(path), sr=SR, excerpt=False, windows=1, seconds=600.0, max_seconds=600.0)
            samples = np.concatenate(decoded.segments, axis=1).mean(axis=0).astype(np.float32)
            for name, fmt in COPIES.items():
                out = Path(tmp) / f"{n}.{FORMATS[fmt].ext}"
                (write_vorbis if fmt == "ogg" else FORMATS[fmt].encode)(samples, SR, out)
                copies[name].append(vector_of(out))
                out.unlink()
    print(f"{len(clips)} clips of {args.min_seconds:g}-{args.max_seconds:g} s, {len(COPIES)} copies each; "
          f"{time.process_time() - started:.0f} CPU s to encode and analyse")

    names = list(NAMES)
    x = np.array(originals)
    scale = audio.scale_for(names, x, np.ones(len(x), bool))
    prints = scale.fingerprint(x)
    print("copies found the same audio as their original (largest RMS, largest single difference; tolerances):")
    for name, vectors in copies.items():
        theirs = scale.fingerprint(np.array(vectors))
        diff = np.abs(theirs - prints)
        rms = np.sqrt(np.mean(diff * diff, axis=1))
        found = [audio.same(a, b, 1.0) for a, b in zip(prints, theirs, strict=True)]
        print(f"  {name:<9} {sum(found):>3}/{len(found)}  ({rms.max():.2f}, {diff.max():.2f})")
    pairs = list(combinations(range(len(x)), 2))
    same_all = [(i, j) for i, j in pairs if audio.same(prints[i], prints[j], 1.0)]
    near = [(i, j) for i, j in pairs if abs(durations[i] - durations[j]) <= 1.0]
    same_near = [p for p in same_all if p in set(near)]
    closest = min(float(np.sqrt(np.mean((prints[i] - prints[j]) ** 2))) for i, j in pairs)
    print(f"different clips called the same audio: {len(same_all)} of {len(pairs)} pairs, lengths ignored "
          f"(closest pair {closest:.2f} tolerances); {len(same_near)} of {len(near)} pairs within 1 s")
    for i, j in same_all[:5]:
        print(f"    {clips[i]['id']} ~ {clips[j]['id']}")

    # Reference: every element of the stored vector, each scaled by its spread over the clips,
    # with the best threshold hindsight allows: just under the closest pair of different clips.
    spread = np.std(x, axis=0)
    spread[spread == 0] = 1.0
    whole = x / spread
    threshold = 0.99 * min(float(np.sqrt(np.mean((whole[i] - whole[j]) ** 2))) for i, j in pairs)
    ref_found = {name: int(sum(np.sqrt(np.mean((np.array(v) / spread - whole) ** 2, axis=1)) <= threshold))
                 for name, v in copies.items()}
    print(f"reference (whole vector, spread-scaled, RMS under the closest different pair, {threshold:.2f}): "
          "copies found " + ", ".join(f"{k} {v}/{len(clips)}" for k, v in ref_found.items()))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
