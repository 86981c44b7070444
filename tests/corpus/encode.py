"""Writes rendered audio as mp3/ogg/flac (libsndfile) or m4a (AAC through PyAV)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

FORMATS = ("mp3", "ogg", "flac", "m4a")
LIBSNDFILE = {"mp3": ("MPEG_LAYER_III", None, "MP3"), "ogg": ("VORBIS", None, "OGG"), "flac": ("PCM_16", None, "FLAC")}
BLOCK = 65536


def write(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """``audio``: float32 frames x 2. The format is the file's suffix."""
    fmt = path.suffix.lstrip(".")
    audio = np.clip(audio, -1.0, 1.0)
    if fmt in LIBSNDFILE:
        # in blocks: libsndfile's MP3 encoder overflows the stack on a long single write
        with sf.SoundFile(path, "w", sample_rate, 2, *LIBSNDFILE[fmt]) as out:
            for start in range(0, len(audio), BLOCK):
                out.write(audio[start:start + BLOCK])
    elif fmt == "m4a":
        _write_aac(path, audio, sample_rate)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _write_aac(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    import av

    with av.open(str(path), "w", format="ipod") as container:
        stream = container.add_stream("aac", rate=sample_rate)
        stream.bit_rate = 160_000
        stream.layout = "stereo"
        planar = np.ascontiguousarray(audio.T.astype(np.float32))
        block = 1024 * 8
        for start in range(0, planar.shape[1], block):
            frame = av.AudioFrame.from_ndarray(planar[:, start:start + block], format="fltp", layout="stereo")
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
