"""Key, tuning and key strength on rendered multi-instrument music, end to end.

Clips come from the corpus generator (General MIDI soundfont, real encoders):
a drums-only groove must get no key, and `--write-tags` must then write no key
(nor remove one the file already has); a band tuned 40 cents sharp must get its
key and its tuning; the tuning and key strength reach the database.
Seeds are fixed: these are regression guards on chosen clips, the accuracy over
the rendered corpus is tests/test_accuracy_corpus.py's and bench_accuracy.py's.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, TKEY

from enrich.analysis.settings import AnalysisConfig
from enrich.analysis.worker import analyse
from tests.conftest import run_enrich
from tests.corpus.build import make_clip
from tests.corpus.plan import ClipSpec
from tests.corpus.render import Renderer
from tests.corpus.scoring import cents_between, key_score

CLIPS = {
    # id: (style, bpm, tonic, mode, cents, format, seed)
    "drums-funk": ("drums_only", 104.0, None, None, 0.0, "flac", 11),
    "drums-trap": ("drums_only", 140.0, None, None, 0.0, "mp3", 14),  # electronic kit
    "sharp-rock": ("rock", 120.0, 9, "minor", 40.0, "flac", 25),  # A minor at A = 450.3 Hz
    "flat-ballad": ("ballad", 72.0, 2, "major", -30.0, "ogg", 27),  # D major at A = 432.5 Hz
}


def spec(clip_id: str) -> ClipSpec:
    style, bpm, tonic, mode, cents, fmt, seed = CLIPS[clip_id]
    return ClipSpec(id=clip_id, style=style, bpm=bpm, meter=4, tonic=tonic, mode=mode, cents=cents,
                    seconds=16.0, format=fmt, seed=seed, lead_in=0.1)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("key-clips")
    renderer = Renderer()
    return {clip_id: make_clip(renderer, spec(clip_id), folder) for clip_id in CLIPS}


@pytest.mark.parametrize("clip_id", ["drums-funk", "drums-trap"])
def test_drums_only_get_no_key_and_no_tuning(clips, clip_id):
    features = analyse(str(clips[clip_id]), AnalysisConfig())
    assert features.key_pc is None and features.mode is None and features.camelot is None
    assert features.tuning_hz is None
    assert features.key_strength is not None and features.key_strength < 0.6
    assert features.tempo is not None  # the rest of the analysis is there


@pytest.mark.parametrize("clip_id", ["sharp-rock", "flat-ballad"])
def test_detuned_music_keeps_its_key_and_its_tuning_is_measured(clips, clip_id):
    truth = spec(clip_id)
    features = analyse(str(clips[clip_id]), AnalysisConfig())
    assert key_score(features.key_pc, features.mode, truth.tonic, truth.mode) == 1.0, features
    assert features.tuning_hz is not None
    assert abs(cents_between(features.tuning_hz, truth.tuning_hz)) <= 5.0, (features.tuning_hz, truth.tuning_hz)
    assert 0.5 < features.key_strength <= 1.0


def test_write_tags_writes_no_key_for_drums_and_keeps_the_users_own(tmp_path, clips):
    folder = tmp_path / "music"
    folder.mkdir()
    for clip_id in ("drums-funk", "sharp-rock"):
        (folder / clips[clip_id].name).write_bytes(clips[clip_id].read_bytes())
    tagged = folder / "drums-trap.mp3"
    tagged.write_bytes(clips["drums-trap"].read_bytes())
    user = ID3()
    user.add(TKEY(encoding=3, text=["Fm"]))
    user.save(tagged)

    db = tmp_path / "lib.db"
    result = run_enrich("analyze", "--db", str(db), str(folder), "--write-tags", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tags_written"] == 3  # BPM everywhere, key only where there is one

    drums = mutagen.File(folder / "drums-funk.flac")
    assert "INITIALKEY" not in drums and drums["BPM"]
    assert mutagen.File(tagged)["TKEY"].text == ["Fm"]  # no key found is no reason to remove the user's
    assert mutagen.File(folder / "sharp-rock.flac")["INITIALKEY"] == ["Am"]

    with sqlite3.connect(db) as conn:
        rows = {Path(path).stem: rest for path, *rest in conn.execute(
            "SELECT t.path, f.key_pc, f.camelot, f.tuning_hz, f.key_strength FROM features f"
            " JOIN tracks t ON t.id = f.track_id")}
    assert rows["drums-funk"][:3] == [None, None, None] and rows["drums-trap"][:3] == [None, None, None]
    assert rows["drums-funk"][3] is not None  # the strength is kept: how weak the evidence was
    key_pc, camelot, tuning_hz, strength = rows["sharp-rock"]
    assert (key_pc, camelot) == (9, "8A") and abs(cents_between(tuning_hz, 440 * 2 ** (40 / 1200))) <= 5.0
    assert 0.5 < strength <= 1.0
