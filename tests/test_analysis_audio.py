"""Decoding real files of every kind the analysis meets, good and bad.

Also home of ``write_audio``, the helper other analysis tests use to put
synthesised music into real files of a given format.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from enrich.analysis.decode import Window, decode, plan_windows
from enrich.analysis.settings import AnalysisConfig
from enrich.analysis.worker import analyse
from enrich.errors import AnalysisError
from fixtures.synth import render

SF_FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
              "mp3": ("MP3", "MPEG_LAYER_III"), "aiff": ("AIFF", "PCM_16")}
AV_CODECS = {"m4a": ("aac", "mp4", "fltp"), "alac.m4a": ("alac", "mp4", "s16p"), "wma": ("wmav2", "asf", "fltp")}


def write_audio(path: Path, samples: np.ndarray, sr: int, fmt: str | None = None) -> Path:
    """Write (samples,) or (channels, samples) float audio as ``fmt`` (default: from the name)."""
    fmt = fmt or ("alac.m4a" if path.name.endswith(".alac.m4a") else path.suffix.lstrip("."))
    data = np.atleast_2d(samples).astype(np.float32)
    if fmt in SF_FORMATS:
        container, subtype = SF_FORMATS[fmt]
        sf.write(path, data.T, sr, format=container, subtype=subtype)
        return path
    import av

    codec, container, sample_fmt = AV_CODECS[fmt]
    layout = "mono" if data.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=sr)
        stream.layout = layout
        stream.bit_rate = 128000  # wmav2 will not open without one
        step = 1024
        for i in range(0, data.shape[1], step):
            chunk = np.ascontiguousarray(data[:, i:i + step])
            if sample_fmt == "s16p":
                chunk = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(chunk, format=sample_fmt, layout=layout)
            frame.sample_rate, frame.pts = sr, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def music(seconds=12.0, sr=22050, tempo=120.0, key="A", mode="minor", drums=True, seed=0, stereo=False):
    y = render(tempo=tempo, key=key, mode=mode, seconds=seconds, sr=sr, drums=drums, seed=seed)
    return np.stack([y, 0.8 * y]) if stereo else y


def decode_all(path, sr=22050, **plan):
    args = dict(excerpt=False, windows=3, seconds=30.0, max_seconds=600.0) | plan
    return decode(str(path), sr=sr, **args)


# ---------------------------------------------------------------- window plans

@pytest.mark.parametrize("duration, excerpt, expected", [
    (0.0, True, []),
    (60.0, True, [Window(0.0, 60.0)]),  # shorter than 3 x 30 s: whole
    (90.0, True, [Window(0.0, 90.0)]),
    (240.0, True, [Window(25.0, 30.0), Window(105.0, 30.0), Window(185.0, 30.0)]),
    (10800.0, True, [Window(1785.0, 30.0), Window(5385.0, 30.0), Window(8985.0, 30.0)]),
    (240.0, False, [Window(0.0, 240.0)]),
    (10800.0, False, [Window(0.0, 600.0)]),  # capped at max_seconds
])
def test_plan_windows(duration, excerpt, expected):
    assert plan_windows(duration, excerpt=excerpt, windows=3, seconds=30.0, max_seconds=600.0) == expected


# ---------------------------------------------------------------- formats

@pytest.mark.parametrize("name", ["a.wav", "a.flac", "a.ogg", "a.mp3", "a.aiff", "a.m4a", "a.alac.m4a", "a.wma"])
def test_every_format_decodes_to_mono_at_the_analysis_rate(tmp_path, name):
    source = music(seconds=8, sr=44100, stereo=True)
    path = write_audio(tmp_path / name, source, 44100)
    audio = decode_all(path)
    assert audio.sr == 22050 and audio.native_sr == 44100 and audio.channels == 2
    assert abs(audio.seconds - 8.0) < 0.15
    assert abs(audio.duration - 8.0) < 0.15
    expected_decoder = "ffmpeg" if name.endswith((".m4a", ".wma")) else "libsndfile"
    assert audio.decoder == expected_decoder
    mono = audio.mono()[0]
    assert mono.dtype == np.float32 and np.abs(mono).max() > 0.3


@pytest.mark.parametrize("name", ["b.flac", "b.m4a"])
def test_excerpts_are_the_right_stretches_of_the_file(tmp_path, name):
    sr = 22050
    source = music(seconds=120, sr=sr, seed=5)
    path = write_audio(tmp_path / name, source, sr)
    audio = decode_all(path, excerpt=True, windows=3, seconds=10.0)
    assert len(audio.segments) == 3 and abs(audio.seconds - 30.0) < 0.1
    for window, segment in zip(plan_windows(120.0, excerpt=True, windows=3, seconds=10.0, max_seconds=600), audio.segments, strict=False):
        start = int(window.start * sr)
        reference = source[start:start + segment.shape[1]]
        got = segment[0]
        # Lossy codecs shift by their priming delay: find the best lag within +-0.1 s.
        a, b = got[sr:4 * sr].astype(np.float64), reference[sr:4 * sr].astype(np.float64)
        lags = range(-sr // 10, sr // 10 + 1, 8)
        best = max(np.dot(a[max(0, lag):len(a) + min(0, lag)], b[max(0, -lag):len(b) - max(0, lag)]) for lag in lags)
        assert best / np.sqrt(np.dot(a, a) * np.dot(b, b)) > 0.8


def test_eight_kilohertz_mono_is_upsampled(tmp_path):
    path = write_audio(tmp_path / "phone.wav", music(seconds=6, sr=8000), 8000)
    audio = decode_all(path)
    assert audio.native_sr == 8000 and audio.channels == 1 and abs(audio.seconds - 6) < 0.05


def test_eight_channels_at_192_khz_keep_their_channels(tmp_path):
    y = music(seconds=5, sr=192000)
    data = np.stack([y * (0.3 + 0.1 * c) for c in range(8)])
    path = tmp_path / "surround.wav"
    sf.write(path, data.T, 192000, subtype="PCM_24")
    audio = decode_all(path)
    assert audio.channels == 8 and audio.native_sr == 192000
    assert audio.segments[0].shape[0] == 8 and abs(audio.seconds - 5) < 0.05
    features = analyse(str(path), AnalysisConfig())
    assert features.loudness is not None and features.tempo is not None


def test_a_wrong_extension_does_not_matter(tmp_path):
    flac_named_mp3 = write_audio(tmp_path / "really-flac.mp3", music(seconds=6), 22050, fmt="flac")
    aac_named_flac = write_audio(tmp_path / "really-aac.flac", music(seconds=6), 22050, fmt="m4a")
    assert decode_all(flac_named_mp3).decoder == "libsndfile"
    assert decode_all(aac_named_flac).decoder == "ffmpeg"


# ---------------------------------------------------------------- bad input

def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    with pytest.raises(AnalysisError, match="empty file"):
        decode_all(path)


def test_corrupt_file_names_both_decoders(tmp_path):
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(AnalysisError) as err:
        decode_all(path)
    assert str(path) in str(err.value) and "not decodable audio" in err.value.reason


def test_a_text_file_is_not_audio(tmp_path):
    path = tmp_path / "notes.ogg"
    path.write_text("these are not the droids\n" * 100)
    with pytest.raises(AnalysisError, match="not decodable audio"):
        decode_all(path)


@pytest.mark.parametrize("name, keep", [("cut.wav", 0.5), ("cut.flac", 0.5), ("cut.mp3", 0.5), ("cut.m4a", 0.5)])
def test_truncated_files_give_what_they_hold(tmp_path, name, keep):
    whole = write_audio(tmp_path / ("whole." + name.split(".")[-1]), music(seconds=20), 22050)
    data = whole.read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: int(len(data) * keep)])
    try:
        audio = decode_all(cut)
    except AnalysisError as exc:  # a clear one-line reason is an acceptable end
        assert str(cut) in str(exc) and "\n" not in str(exc)
        return
    assert 3.0 <= audio.seconds <= 20.5
    assert np.all(np.isfinite(audio.segments[0]))


@pytest.mark.parametrize("seconds, bpm", [(1.0, 60), (1.5, 90), (2.8, 100)])
def test_a_short_file_gives_what_it_can_measure(tmp_path, seconds, bpm):
    """1-3 s: loudness, timbre and key; a tempo only where two of its beats fit."""
    path = write_audio(tmp_path / f"short-{seconds}.flac", music(seconds=seconds, sr=44100, tempo=bpm), 44100)
    features = analyse(str(path), AnalysisConfig())
    assert features.seconds == pytest.approx(seconds, abs=0.05)
    assert features.loudness is not None and -40 < features.loudness < 0
    assert any(features.mfcc_mean) and features.key_pc is not None
    if seconds < 2 * 60.0 / bpm:
        assert features.tempo is None and features.tempo_alt is None
    else:
        assert features.tempo == pytest.approx(bpm, rel=0.04)


def test_a_clip_too_short_to_have_a_spectrum_is_refused_in_one_line(tmp_path):
    path = write_audio(tmp_path / "blip.wav", music(seconds=0.05), 22050)
    with pytest.raises(AnalysisError) as err:
        decode_all(path)
    assert err.value.reason == "only 0.05 s of audio decoded; at least 0.1 s needed"


def test_a_deleted_file(tmp_path):
    path = write_audio(tmp_path / "gone.flac", music(seconds=5), 22050)
    os.unlink(path)
    with pytest.raises(AnalysisError, match="file is gone"):
        decode_all(path)


def test_digital_silence_is_a_row_without_tempo_or_key(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(22050 * 10, dtype=np.float32), 22050)
    features = analyse(str(path), AnalysisConfig())
    assert features.tempo is None and features.key_pc is None and features.camelot is None
    assert features.loudness is None and features.energy == 0.0 and features.seconds == pytest.approx(10.0)
    assert np.all(np.isfinite(np.frombuffer(features.vector(), dtype="<f4")))


@pytest.mark.parametrize("suffix", ["flac", "mp3", "m4a"])
def test_a_file_name_that_is_not_utf8_decodes(tmp_path, suffix):
    """Latin-1 bytes in the name: soundfile cannot encode the escaped str, so the raw bytes are opened."""
    made = write_audio(tmp_path / f"made.{suffix}", music(seconds=6, sr=44100, tempo=120), 44100)
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9 \xff." + suffix.encode())
    os.rename(made, raw)
    name = os.fsdecode(raw)  # what the pipeline hands the worker: surrogate escapes
    features = analyse(name, AnalysisConfig())
    assert features.tempo == pytest.approx(120, rel=0.04) and features.seconds == pytest.approx(6.0, abs=0.1)


def test_a_three_hour_file_costs_only_its_excerpts(tmp_path):
    """Three hours of 2 kHz 8-bit mono, written in chunks (21 MB): analysis reads 3 x 30 s of it."""
    sr = 2000
    path = tmp_path / "long.wav"
    block = music(seconds=60, sr=sr, tempo=100, key="D", mode="major")
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_U8", format="WAV") as f:
        for _ in range(180):
            f.write(block)
    started = time.perf_counter()
    features = analyse(str(path), AnalysisConfig())
    elapsed = time.perf_counter() - started
    assert features.seconds == pytest.approx(90.0, abs=0.1)
    assert elapsed < 10.0
    capped = analyse(str(path), AnalysisConfig(excerpt=False, max_seconds=120.0))
    assert capped.seconds == pytest.approx(120.0, abs=0.1)


def test_a_pipe_is_refused_rather_than_waited_on(tmp_path):
    fifo = tmp_path / "stream.wav"
    os.mkfifo(fifo)
    with pytest.raises(AnalysisError, match="not a regular file"):
        decode_all(fifo)
