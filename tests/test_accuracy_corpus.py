"""Tempo and key accuracy of `enrich analyze` on rendered multi-instrument music.

The slice (every style of tests/corpus, short clips, a third detuned, all four
formats, one 1.5 s clip) is rendered once per session and analysed by the same
function the worker pool runs. The floors are what main achieves: raise them when
accuracy improves; a drop below any of them is a regression. The whole corpus is
measured by tests/bench/bench_accuracy.py.
"""

from __future__ import annotations

import json

import pytest

from tests.corpus.build import build
from tests.corpus.estimates import enrich_estimate
from tests.corpus.plan import slice_plan
from tests.corpus.scoring import Estimate, by_style, summarise

# What main scores on the slice today (fractions; key is the MIREX weighted mean).
FLOORS = {
    "tempo_4pct": 0.84,  # 16 of 19 clips of 5 s or more
    "tempo_octave": 1.0,
    "key_mirex": 0.89,  # 16.1 over 18 pitched clips (0.894)
    "drums_only_no_key": 1.0,  # 2 of 2
    "tuning_5c": 1.0,  # 6 of 6 detuned pitched clips
}
# Every style on its own (two clips each): no style may lose its tempo level, and no
# pitched style may fall to a key score below this (today the lowest is 0.65: one
# clip right, one a relative or a fifth away).
STYLE_FLOORS = {"tempo_octave": 1.0, "key_mirex": 0.6}


@pytest.fixture(scope="session")
def corpus_slice(tmp_path_factory) -> tuple[object, dict]:
    folder = tmp_path_factory.mktemp("corpus-slice")
    manifest = json.loads(build(folder, slice_plan(), workers=1).read_text())
    return folder, manifest


@pytest.fixture(scope="session")
def enrich_on_slice(corpus_slice) -> dict[str, Estimate]:
    folder, manifest = corpus_slice
    return {c["id"]: enrich_estimate(c["id"], str(folder / c["path"])) for c in manifest["clips"]}


def _table(summary: dict) -> str:
    def pct(v):
        return "  -  " if v is None else f"{100 * v:4.0f}%"
    return (f"tempo {pct(summary['tempo_4pct'])} (octave {pct(summary['tempo_octave'])}), "
            f"key {summary['key_mirex'] if summary['key_mirex'] is None else round(summary['key_mirex'], 3)}, "
            f"drums-only no key {pct(summary['drums_only_no_key'])}, tuning 5c {pct(summary['tuning_5c'])}")


def test_accuracy_on_the_corpus_slice_does_not_regress(corpus_slice, enrich_on_slice):
    _, manifest = corpus_slice
    clips = manifest["clips"]
    overall = summarise(clips, enrich_on_slice)
    print(f"\ncorpus slice, {overall['clips']} clips: {_table(overall)}")
    for style, figures in by_style(clips, enrich_on_slice).items():
        print(f"  {style:14s} {_table(figures)}")
    for clip in clips:
        e = enrich_on_slice[clip["id"]]
        print(f"  {clip['id']:18s} truth {clip['bpm']:6.1f} {clip['tonic']} {clip['mode']} {clip['tuning_hz']:.1f}"
              f" | enrich {e.bpm} {e.tonic} {e.mode} {e.tuning_hz} {e.error or ''}")
    below = {name: (overall[name], floor) for name, floor in FLOORS.items()
             if (overall[name] or 0.0) < floor - 1e-9}
    assert not below, f"accuracy fell below main's figures (measured, floor): {below}"
    styles_below = {(style, name): (figures[name], floor)
                    for style, figures in by_style(clips, enrich_on_slice).items()
                    for name, floor in STYLE_FLOORS.items()
                    if figures[name] is not None and figures[name] < floor - 1e-9}
    assert not styles_below, f"a style fell below its floor (measured, floor): {styles_below}"


def test_the_slice_covers_what_the_issue_asks(corpus_slice):
    _, manifest = corpus_slice
    clips = manifest["clips"]
    assert len({c["style"] for c in clips}) >= 8
    assert {c["format"] for c in clips} == {"mp3", "ogg", "flac", "m4a"}
    assert any(c["seconds"] < 3 for c in clips)
    assert any(abs(c["tuning_hz"] - 440) > 4 for c in clips)
    assert {c["mode"] for c in clips if c["pitched"]} == {"major", "minor"}
    assert any(not c["pitched"] and c["tonic"] is None for c in clips)
