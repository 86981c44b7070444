"""Tempo and key accuracy on the rendered corpus: enrich against essentia and librosa.

Run: python tests/bench/bench_accuracy.py [--corpus DIR] [--jobs 2] [--tools enrich,essentia,librosa]
                                          [--limit N] [--refresh]

The corpus (tests/corpus: 220 clips, 10 styles, 1 s to 6 min, mp3/ogg/flac/m4a, a third
detuned) is read from --corpus, else $ENRICH_CORPUS_DIR, else ~/.cache/enrich/test-corpus/
v<generator>, and rendered there first when missing (about 15-30 CPU minutes).

Every tool analyses the same files:
  - enrich: enrich.analysis.worker.analyse, what `enrich analyze` runs, default settings;
  - essentia 2.1b6: RhythmExtractor2013(method="multifeature") and KeyExtractor(profileType=
    "edma"; "bgate" and "temperley" too), TuningFrequencyExtractor; it is AGPL, so it lives in
    its own virtualenv (tests/bench/out/essentia-venv, made on first use) and runs there in a
    subprocess, never imported here;
  - librosa: beat.beat_track for tempo; chroma_cqt with Krumhansl-Kessler profiles for key.
Prints tempo within 4 %, octave-tolerant tempo, the MIREX weighted key score, the share of
drums-only clips given no key, tuning within 5 cents of the detuned clips, and CPU seconds
per track (in-process timing, one thread each), overall and by style, with the load average.
Then, for enrich, analysis against decode-only CPU time on the corpus's ~4-minute tracks
(the same excerpts decoded, medians over repeats) and peak RSS over repeated analyses.
essentia's and librosa's answers are cached per corpus generator version in
tests/bench/out/cache/, so reruns only pay for enrich. Results: tests/bench/out/accuracy-*.json.
"""

from __future__ import annotations

import os

# one thread per process, as the analysis pool runs (before numpy is first imported)
os.environ["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "1")
os.environ["OPENBLAS_NUM_THREADS"] = os.environ.get("OPENBLAS_NUM_THREADS", "1")
os.environ["MKL_NUM_THREADS"] = os.environ.get("MKL_NUM_THREADS", "1")

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.corpus.build import MANIFEST, READY, default_folder, publish
from tests.corpus.plan import full_plan
from tests.corpus.scoring import Estimate, by_style, summarise

REPO = Path(__file__).resolve().parents[2]

OUT = REPO / "tests" / "bench" / "out"
ESSENTIA_VENV = OUT / "essentia-venv"
ESSENTIA_REQUIREMENT = "essentia==2.1b6.dev1389"
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


# ---- corpus -----------------------------------------------------------------------------

def load_corpus(folder: Path, jobs: int) -> dict:
    """The corpus in ``folder`` (any complete one: READY is written last), else the full plan rendered."""
    specs = full_plan()
    if not (folder / READY).exists():
        print(f"rendering the corpus into {folder} (once per generator version) ...", flush=True)
        publish(folder, specs, workers=jobs, progress=lambda d, n, c, s: d % 20 == 0 and print(
            f"  {d}/{n} clips, {s:.0f} s", flush=True))
    return json.loads((folder / MANIFEST).read_text())


# ---- enrich -----------------------------------------------------------------------------

def _enrich_one(job: tuple[str, str]) -> Estimate:
    from tests.corpus.estimates import enrich_estimate
    return enrich_estimate(*job)


def run_enrich(clips: list[dict], folder: Path, jobs: int) -> dict[str, Estimate]:
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        found = pool.map(_enrich_one, [(c["id"], str(folder / c["path"])) for c in clips])
        return {e.clip_id: e for e in found}


# ---- librosa ----------------------------------------------------------------------------

def _librosa_one(job: tuple[str, str]) -> dict:
    import warnings

    import librosa
    import numpy as np

    warnings.filterwarnings("ignore", category=UserWarning)  # n_fft longer than a 1 s clip: expected
    clip_id, path = job
    started = time.process_time()
    try:
        if path.endswith(".m4a"):  # libsndfile cannot read it; librosa's audioread fallback is deprecated
            y, sr = _pyav_mono(path, 22050), 22050
        else:
            y, sr = librosa.load(path, sr=22050, mono=True)
        tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
        chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)
        scores = []
        for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            for tonic in range(12):
                scores.append((float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]), tonic, mode))
        _, tonic, mode = max(scores)
        return {"id": clip_id, "bpm": float(np.atleast_1d(tempo)[0]), "tonic": tonic, "mode": mode,
                "cpu_seconds": time.process_time() - started}
    except Exception as exc:  # noqa: BLE001 - one file's failure, reported in the table
        return {"id": clip_id, "error": f"{type(exc).__name__}: {exc}"[:200],
                "cpu_seconds": time.process_time() - started}


def _pyav_mono(path: str, sr: int):
    import av
    import numpy as np

    with av.open(path) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        blocks = [f.to_ndarray().reshape(-1) for frame in container.decode(audio=0)
                  for f in resampler.resample(frame)]
        blocks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(blocks).astype(np.float32)


def run_librosa(clips: list[dict], folder: Path, jobs: int) -> list[dict]:
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_librosa_one, [(c["id"], str(folder / c["path"])) for c in clips]))


# ---- essentia (its own virtualenv, a subprocess) --------------------------------------------

def essentia_python() -> Path | None:
    python = ESSENTIA_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {ESSENTIA_VENV} with {ESSENTIA_REQUIREMENT} (AGPL, benchmark only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(ESSENTIA_VENV)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", ESSENTIA_REQUIREMENT],
                              check=False, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"essentia could not be installed: {done.stderr.strip().splitlines()[-1:]}")
            return None
    return python


def run_essentia(clips: list[dict], folder: Path, jobs: int) -> list[dict]:
    python = essentia_python()
    if python is None:
        return []
    runner = Path(__file__).with_name("essentia_runner.py")
    shares = [clips[i::jobs] for i in range(jobs)]
    procs = []
    for share in shares:
        if not share:
            continue
        proc = subprocess.Popen([str(python), str(runner)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        assert proc.stdin is not None
        proc.stdin.write("".join(json.dumps({"id": c["id"], "path": str(folder / c["path"])}) + "\n"
                                 for c in share))
        proc.stdin.close()
        procs.append(proc)
    results = []
    for proc in procs:
        assert proc.stdout is not None
        results += [json.loads(line) for line in proc.stdout if line.strip()]
        proc.wait()
    return results


def cached(tool: str, generator: int, clips: list[dict], run, refresh: bool) -> list[dict]:
    """A tool's raw results, from tests/bench/out/cache when this corpus version has them.

    A cached answer is used only for the very clip it was made for (its whole manifest entry).
    """
    path = OUT / "cache" / f"{tool}-g{generator}.json"
    known: dict[str, dict] = {}
    if path.exists() and not refresh:
        known = {r["clip"]["id"]: r for r in json.loads(path.read_text())}
    missing = [c for c in clips if known.get(c["id"], {}).get("clip") != c]
    if missing:
        started = time.monotonic()
        print(f"{tool}: analysing {len(missing)} clips ...", flush=True)
        by_id = {c["id"]: c for c in missing}
        for result in run(missing):
            known[result["id"]] = {**result, "clip": by_id[result["id"]]}
        print(f"{tool}: {time.monotonic() - started:.0f} s", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(list(known.values())))
    return [known[c["id"]] for c in clips if c["id"] in known]


def as_estimates(results: list[dict], key_field: str | None = None) -> dict[str, Estimate]:
    out = {}
    for r in results:
        tonic, mode = (r.get(key_field) or (None, None)) if key_field else (r.get("tonic"), r.get("mode"))
        out[r["id"]] = Estimate(r["id"], bpm=r.get("bpm"), tonic=tonic, mode=mode, tuning_hz=r.get("tuning_hz"),
                                cpu_seconds=r.get("cpu_seconds"), error=r.get("error"))
    return out


# ---- the report -------------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "   -  " if value is None else f"{value:6.{digits}f}"


def print_table(rows: dict[str, dict], clips: list[dict]) -> None:
    print(f"{'tool':22s} {'tempo 4%':>8s} {'octave':>7s} {'key MIREX':>9s} {'exact':>6s} {'drums no key':>12s} "
          f"{'tuning 5c':>9s} {'CPU s/track':>11s} {'(mean)':>7s} {'failed':>6s}")
    for tool, s in rows.items():
        print(f"{tool:22s} {_pct(s['tempo_4pct']):>8s} {_pct(s['tempo_octave']):>7s} {_num(s['key_mirex']):>9s} "
              f"{_pct(s['key_exact']):>6s} {_pct(s['drums_only_no_key']):>12s} {_pct(s['tuning_5c']):>9s} "
              f"{_num(s['cpu_median_s']):>11s} {_num(s['cpu_mean_s']):>7s} {s['failed']:6d}")


def print_by_style(per_tool: dict[str, dict[str, dict]]) -> None:
    tools = list(per_tool)
    styles = sorted(next(iter(per_tool.values())))
    header = "".join(f" | {t[:20]:>20s}" for t in tools)
    print(f"{'style (clips)':22s}{header}")
    print(f"{'':22s}" + " | tempo  oct    key " * len(tools))
    for style in styles:
        first = per_tool[tools[0]][style]
        cells = []
        for tool in tools:
            s = per_tool[tool].get(style)
            if s is None:
                cells.append(f" | {'':>20s}")
                continue
            key = "  -  " if s["key_mirex"] is None else f"{s['key_mirex']:.2f}"
            cells.append(f" | {_pct(s['tempo_4pct'])} {_pct(s['tempo_octave'])} {key:>5s}")
        label = f"{style} ({first['clips']})"
        print(f"{label:22s}{''.join(cells)}")


# ---- enrich: analysis against decode time, memory ---------------------------------------------

def decode_ratio(clips: list[dict], folder: Path, repeats: int) -> dict:
    from enrich.analysis.decode import decode
    from enrich.analysis.settings import AnalysisConfig
    from enrich.analysis.worker import analyse

    settings = AnalysisConfig()
    long = [c for c in clips if 200 <= c["seconds"] <= 300][:3]
    if not long:
        return {}
    rows = []
    for clip in long:
        path = str(folder / clip["path"])
        decode_times, analyse_times, full_times = [], [], []
        for _ in range(repeats):
            t = time.process_time()
            decode(path, sr=settings.sample_rate, excerpt=settings.excerpt, windows=settings.excerpt_windows,
                   seconds=settings.excerpt_seconds, max_seconds=settings.max_seconds)
            decode_times.append(time.process_time() - t)
            t = time.process_time()
            analyse(path, settings)
            analyse_times.append(time.process_time() - t)
            t = time.process_time()
            decode(path, sr=settings.sample_rate, excerpt=False, windows=1, seconds=settings.excerpt_seconds,
                   max_seconds=10_000)
            full_times.append(time.process_time() - t)
        row = {"id": clip["id"], "seconds": clip["seconds"], "format": clip["format"],
               "decode_excerpts_s": statistics.median(decode_times), "analyse_s": statistics.median(analyse_times),
               "decode_whole_s": statistics.median(full_times)}
        row["ratio"] = row["analyse_s"] / row["decode_excerpts_s"]
        rows.append(row)
    return {"tracks": rows, "median_ratio": statistics.median(r["ratio"] for r in rows)}


RSS_PROBE = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from enrich.analysis.settings import AnalysisConfig
from enrich.analysis.worker import analyse
settings = AnalysisConfig()
peaks = []
for path in sys.argv[2:]:
    analyse(path, settings)
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(peaks))
"""


def peak_rss(clips: list[dict], folder: Path) -> list[float]:
    """Peak RSS (MB) of one fresh process after each of a run of analyses, long tracks included."""
    chosen = sorted(clips, key=lambda c: -c["seconds"])[:4] + [c for c in clips if 20 < c["seconds"] < 60][:4]
    paths = [str(folder / c["path"]) for c in chosen * 2]
    done = subprocess.run([sys.executable, "-c", RSS_PROBE, str(REPO), *paths], check=False,
                          capture_output=True, text=True, timeout=900)
    return json.loads(done.stdout) if done.returncode == 0 else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tools", default="enrich,essentia,librosa")
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips (a quick look)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the decode-time comparison")
    parser.add_argument("--refresh", action="store_true", help="re-run essentia and librosa despite the cache")
    args = parser.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    folder = args.corpus or default_folder()
    load_before = os.getloadavg()
    manifest = load_corpus(folder, args.jobs)
    clips = manifest["clips"][: args.limit or None]
    generator = manifest["generator"]
    audio_minutes = sum(c["seconds"] for c in clips) / 60
    print(f"corpus {folder}: generator {generator}, {len(clips)} clips, {audio_minutes:.0f} min of audio, "
          f"{len({c['style'] for c in clips})} styles; load average {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}", flush=True)

    estimates: dict[str, dict[str, Estimate]] = {}
    if "enrich" in tools:
        started = time.monotonic()
        estimates["enrich"] = run_enrich(clips, folder, args.jobs)
        print(f"enrich: {time.monotonic() - started:.0f} s", flush=True)
    if "essentia" in tools:
        raw = cached("essentia", generator, clips, lambda todo: run_essentia(todo, folder, args.jobs), args.refresh)
        if raw:
            estimates["essentia (edma)"] = as_estimates(raw)
            estimates["essentia, key bgate"] = as_estimates(raw, "key_bgate")
            estimates["essentia, key temperley"] = as_estimates(raw, "key_temperley")
    if "librosa" in tools:
        raw = cached("librosa", generator, clips, lambda todo: run_librosa(todo, folder, args.jobs), args.refresh)
        estimates["librosa"] = as_estimates(raw)

    overall = {tool: summarise(clips, found) for tool, found in estimates.items()}
    long_clips = [c for c in clips if c["seconds"] >= 120]
    overall_long = {tool: summarise(long_clips, found) for tool, found in estimates.items()}
    styles = {tool: by_style(clips, found) for tool, found in estimates.items()}
    print()
    print(f"== all {len(clips)} clips (tempo on clips of 5 s or more; key on pitched clips; "
          f"tuning on clips detuned 9 cents or more) ==")
    print_table(overall, clips)
    if long_clips:
        print(f"\n== the {len(long_clips)} clips of 2 minutes or more ==")
        print_table(overall_long, long_clips)
    halves = {}
    for tool in ("enrich", "essentia (edma)"):
        if tool in estimates:
            for half, parity in (("even", 0), ("odd", 1)):
                chosen = [c for c in clips if int(c["id"].split("-")[0]) % 2 == parity]
                halves[f"{tool}, {half}"] = summarise(chosen, estimates[tool])
    if halves:
        print("\n== even- and odd-numbered clips (enrich's tempo weights were fitted with the even ones and other "
              "renderings; its key settings are scored held out by tests/bench/learn_key_settings.py) ==")
        print_table(halves, clips)
    print("\n== by style ==")
    print_by_style(styles)
    if "enrich" in overall and overall["enrich"]["tempo_confidence_right"] is not None:
        e = overall["enrich"]
        wrong = e["tempo_confidence_wrong"]
        print(f"\nenrich tempo confidence: mean {e['tempo_confidence_right']:.2f} on answers within 4 %, "
              f"{'-' if wrong is None else f'{wrong:.2f}'} on the others")
    if "enrich" in estimates and "essentia (edma)" in estimates:
        e, s = overall["enrich"], overall["essentia (edma)"]
        if e["cpu_mean_s"] and s["cpu_mean_s"]:
            print(f"\nenrich CPU per track / essentia's: {e['cpu_mean_s'] / s['cpu_mean_s']:.2f} (mean), "
                  f"{e['cpu_median_s'] / s['cpu_median_s']:.2f} (median)")

    ratio, rss = {}, []
    if "enrich" in tools:
        ratio = decode_ratio(clips, folder, args.repeats)
        if ratio:
            print("\n== enrich: analysis vs decode-only CPU, ~4-minute tracks (same excerpts; medians of "
                  f"{args.repeats}) ==")
            for r in ratio["tracks"]:
                print(f"  {r['id']:18s} {r['seconds']:5.0f} s {r['format']:4s}  decode {r['decode_excerpts_s']:.3f} s  "
                      f"analyse {r['analyse_s']:.3f} s  ratio {r['ratio']:.2f}  (whole-file decode "
                      f"{r['decode_whole_s']:.3f} s)")
            print(f"  median ratio {ratio['median_ratio']:.2f}")
        rss = peak_rss(clips, folder)
        if rss:
            print(f"peak RSS over {len(rss)} analyses in one process: first {rss[0]:.0f} MB, "
                  f"last {rss[-1]:.0f} MB, growth after the first pass {rss[-1] - rss[len(rss) // 2 - 1]:.1f} MB")
    load_after = os.getloadavg()
    print(f"\nload average at the end: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")

    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "corpus": str(folder), "generator": generator,
        "clips": len(clips), "load_before": load_before, "load_after": load_after,
        "overall": overall, "long_clips": overall_long, "halves": halves, "by_style": styles, "decode_ratio": ratio,
        "peak_rss_mb": rss,
        "estimates": {tool: {k: asdict(v) for k, v in found.items()} for tool, found in estimates.items()},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for name in (f"accuracy-{stamp}.json", "accuracy-latest.json"):
        (OUT / name).write_text(json.dumps(report, indent=1))
    print(f"results: {OUT / 'accuracy-latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
