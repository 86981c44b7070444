"""Runs essentia on audio files; executed by bench_accuracy.py inside its own virtualenv.

essentia is AGPL: it is never imported by enrich or its tests, only run here, in a
separate interpreter (tests/bench/out/essentia-venv). Reads one JSON object per line
on stdin ({"id", "path"}), writes one JSON object per line on stdout.
"""

from __future__ import annotations

import json
import sys
import time

import essentia
import essentia.standard as es

NAMES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7,
         "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
PROFILES = ("edma", "bgate", "temperley")


def main() -> None:
    essentia.log.infoActive = False
    essentia.log.warningActive = False
    rhythm = es.RhythmExtractor2013(method="multifeature")
    keys = {p: es.KeyExtractor(profileType=p) for p in PROFILES}
    tuning = es.TuningFrequencyExtractor()
    for line in sys.stdin:
        job = json.loads(line)
        out: dict = {"id": job["id"]}
        try:
            started = time.process_time()
            audio = es.MonoLoader(filename=job["path"], sampleRate=44100)()
            decoded = time.process_time()
            bpm = float(rhythm(audio)[0])
            tempo_done = time.process_time()
            key, scale, strength = keys["edma"](audio)
            key_done = time.process_time()
            out.update(bpm=bpm, tonic=NAMES.get(key), mode=scale, key_strength=float(strength),
                       cpu_seconds=key_done - started, cpu_decode=decoded - started,
                       cpu_tempo=tempo_done - decoded, cpu_key=key_done - tempo_done)
            for profile in PROFILES[1:]:
                key, scale, _ = keys[profile](audio)
                out[f"key_{profile}"] = [NAMES.get(key), scale]
            started = time.process_time()
            frames = tuning(audio)
            out["tuning_hz"] = float(frames.mean()) if len(frames) else None
            out["cpu_tuning"] = time.process_time() - started
        except Exception as exc:  # noqa: BLE001 - one file's failure, reported and skipped
            out["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
