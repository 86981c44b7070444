"""Decoding audio files to float32 at the analysis rate, only the parts analysed.

libsndfile (through soundfile) reads wav, flac, ogg/opus, mp3 and aiff; what it
cannot open (m4a/aac, alac, wma, ape, ...) goes to PyAV, whose wheels carry
FFmpeg's decoders. Both paths read in blocks and resample as they go, so a
3-hour file or an 8-channel 192 kHz file never sits in memory at its native rate.

Channels are kept (loudness weights them before any downmix); ``Audio.mono``
gives the downmix the other features use.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf
import soxr

from enrich.errors import AnalysisError

if TYPE_CHECKING:
    import av

BLOCK_SECONDS = 2.0
# One analysis frame: anything shorter has no spectrum to measure. Short clips
# are analysed for what they can carry (loudness, timbre, key); the tempo
# estimator decides for itself whether there are beats enough.
MIN_SECONDS = 0.1
MAX_CHANNELS = 16


@dataclass(frozen=True)
class Window:
    start: float  # seconds into the file
    length: float  # seconds


@dataclass
class Audio:
    """Decoded windows of one file: ``segments[i]`` is (channels, samples) at ``sr``."""

    segments: list[np.ndarray]
    sr: int
    duration: float  # the whole file, in seconds (as far as the container knows)
    native_sr: int
    channels: int
    decoder: str

    @property
    def seconds(self) -> float:
        return float(sum(s.shape[1] for s in self.segments) / self.sr)

    def mono(self) -> list[np.ndarray]:
        return [s.mean(axis=0, dtype=np.float32) if s.shape[0] > 1 else s[0] for s in self.segments]


def plan_windows(duration: float, *, excerpt: bool, windows: int, seconds: float, max_seconds: float) -> list[Window]:
    """Which parts of a file of ``duration`` seconds to analyse.

    Excerpts sit at evenly spaced points (for three: 1/6, 1/2, 5/6 of the way),
    so intros and fades weigh little; a track shorter than the excerpts together
    is analysed whole. Without excerpts, the first ``max_seconds`` are.
    """
    if duration <= 0:
        return []
    if not excerpt:
        return [Window(0.0, min(duration, max_seconds))]
    if duration <= windows * seconds:
        return [Window(0.0, min(duration, max_seconds))]
    spots = []
    for i in range(windows):
        centre = duration * (i + 0.5) / windows
        start = min(max(0.0, centre - seconds / 2), duration - seconds)
        spots.append(Window(round(start, 3), seconds))
    return spots


def decode(path: str, *, sr: int, excerpt: bool, windows: int, seconds: float, max_seconds: float) -> Audio:
    """Decode the windows of ``path`` that analysis needs. Raises AnalysisError with a one-line reason."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise AnalysisError(path, "file is gone (deleted or moved since the scan)") from None
    except OSError as exc:
        raise AnalysisError(path, f"cannot read the file: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise AnalysisError(path, "not a regular file (a pipe, device or folder)")
    if info.st_size == 0:
        raise AnalysisError(path, "empty file (0 bytes)")
    plan = dict(excerpt=excerpt, windows=windows, seconds=seconds, max_seconds=max_seconds)
    try:
        audio = _decode_soundfile(path, sr, plan)
    except sf.LibsndfileError as sf_exc:
        first = str(sf_exc)
        try:
            audio = _decode_pyav(path, sr, plan)
        except AnalysisError:
            raise
        except Exception as av_exc:  # PyAV raises many FFmpeg error types
            second = getattr(av_exc, "strerror", None) or str(av_exc)
            reason = f"not decodable audio (libsndfile: {_short(first)}; ffmpeg: {_short(second)})"
            raise AnalysisError(path, reason) from av_exc
    except OSError as exc:
        raise AnalysisError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    if audio.seconds < MIN_SECONDS:
        if audio.duration <= 0 and not audio.segments:
            raise AnalysisError(path, f"no audio in the file ({audio.decoder} found a stream of 0 samples)")
        raise AnalysisError(path, f"only {audio.seconds:.2f} s of audio decoded; at least {MIN_SECONDS:.1f} s needed")
    return audio


def _short(text: str) -> str:
    text = " ".join(text.split())
    for prefix in ("Error opening ",):
        if text.startswith(prefix):
            text = text.split(": ", 1)[-1]
    return text[:120]


class _Collector:
    """Resamples blocks of (samples, channels) as they arrive into one (channels, samples) array."""

    def __init__(self, native_sr: int, sr: int, channels: int, limit: int):
        self.stream = (None if native_sr == sr
                       else soxr.ResampleStream(native_sr, sr, channels, dtype="float32", quality="MQ"))
        self.parts: list[np.ndarray] = []
        self.count = 0
        self.limit = limit

    def add(self, block: np.ndarray, last: bool = False) -> None:
        block = np.ascontiguousarray(block, dtype=np.float32)
        out = self.stream.resample_chunk(block, last=last) if self.stream is not None else block
        if out.size:
            out = out[: self.limit - self.count]
            self.parts.append(out)
            self.count += out.shape[0]

    @property
    def full(self) -> bool:
        return self.count >= self.limit

    def result(self, channels: int) -> np.ndarray:
        if self.stream is not None and not self.full:
            self.add(np.zeros((0, channels), dtype=np.float32), last=True)
        if not self.parts:
            return np.zeros((channels, 0), dtype=np.float32)
        data = np.empty((channels, self.count), dtype=np.float32)  # (channels, samples), copied once
        at = 0
        for part in self.parts:
            data[:, at:at + part.shape[0]] = part.T
            at += part.shape[0]
        bad = ~np.isfinite(data)
        if bad.any():  # a damaged stream's NaN and infinities: silence
            data[bad] = 0.0
        np.clip(data, -4.0, 4.0, out=data)
        return data


def _decode_soundfile(path: str, sr: int, plan: dict[str, Any]) -> Audio:
    # The name as bytes: a name that is not UTF-8 arrives with surrogate escapes,
    # which soundfile cannot encode (UnicodeEncodeError), but the raw bytes open.
    with sf.SoundFile(os.fsencode(path)) as f:
        native_sr, channels = f.samplerate, f.channels
        _check_layout(path, native_sr, channels)
        frames = f.frames if f.frames and f.frames > 0 else 0
        duration = frames / native_sr
        segments: list[np.ndarray] = []
        block = max(1024, int(BLOCK_SECONDS * native_sr))
        for w in plan_windows(duration, **plan):
            want = round(w.length * sr)
            collector = _Collector(native_sr, sr, channels, want)
            try:
                if w.start > 0:
                    f.seek(int(w.start * native_sr))
                remaining = int(w.length * native_sr) + native_sr // 10
                while remaining > 0 and not collector.full:
                    data = f.read(min(block, remaining), dtype="float32", always_2d=True)
                    if len(data) == 0:
                        break  # truncated: the header promised more than the file holds
                    remaining -= len(data)
                    collector.add(data)
            except sf.LibsndfileError:
                if not collector.parts and not segments:
                    raise
                # A damaged stretch: keep what decoded before it.
            segment = collector.result(channels)
            if segment.shape[1]:
                segments.append(segment)
    return Audio(segments, sr, duration, native_sr, channels, "libsndfile")


def _check_layout(path: str, native_sr: int, channels: int) -> None:
    if channels < 1 or channels > MAX_CHANNELS:
        raise AnalysisError(path, f"{channels} channels; at most {MAX_CHANNELS} are supported")
    if native_sr < 1000 or native_sr > 768000:
        raise AnalysisError(path, f"implausible sample rate {native_sr} Hz")


def _frame_array(frame: av.AudioFrame) -> np.ndarray:
    """A decoded PyAV frame as float32 (samples, channels)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    data = data.reshape(-1, channels) if not frame.format.is_planar else data.T
    kind = data.dtype
    if kind == np.int16:
        return np.asarray(data.astype(np.float32) / 32768.0)
    if kind == np.int32:
        return np.asarray(data.astype(np.float32) / 2147483648.0)
    if kind == np.uint8:
        return np.asarray((data.astype(np.float32) - 128.0) / 128.0)
    return np.asarray(data.astype(np.float32))


def _decode_pyav(path: str, sr: int, plan: dict[str, Any]) -> Audio:
    import av  # the fallback; most files never need it

    with av.open(path, metadata_errors="ignore") as container:
        streams = list(container.streams.audio)
        if not streams:
            raise AnalysisError(path, "no audio stream in the file")
        stream = streams[0]
        native_sr = stream.codec_context.sample_rate or stream.rate or 0
        channels = stream.codec_context.channels or 0
        _check_layout(path, native_sr, channels)
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        # Unknown length (raw streams): read from the start, up to the cap.
        windows = plan_windows(duration, **plan) if duration > 0 else [Window(0.0, plan["max_seconds"])]
        segments: list[np.ndarray] = []
        for w in windows:
            if w.start > 0:
                container.seek(int(w.start * 1_000_000), any_frame=False, backward=True)
            collector = _Collector(native_sr, sr, channels, round(w.length * sr))
            # Codec frames are short (1024 samples of AAC): they are resampled a second at a time.
            pending: list[np.ndarray] = []
            waiting = 0
            try:
                for frame in container.decode(stream):
                    block = _frame_array(frame)
                    if block.shape[1] != channels:
                        continue  # a mid-stream layout change: skip the odd frame
                    start = frame.time if frame.time is not None else 0.0
                    if start + block.shape[0] / native_sr <= w.start:
                        continue
                    if start < w.start:
                        block = block[int((w.start - start) * native_sr):]
                    pending.append(block)
                    waiting += block.shape[0]
                    if waiting >= native_sr:
                        collector.add(np.concatenate(pending))
                        pending, waiting = [], 0
                        if collector.full:
                            break
            except av.error.FFmpegError:
                if not collector.parts and not segments and not pending:
                    raise
            if pending:
                collector.add(np.concatenate(pending))
            segment = collector.result(channels)
            if segment.shape[1]:
                segments.append(segment)
        if duration <= 0:
            duration = sum(s.shape[1] for s in segments) / sr
    return Audio(segments, sr, duration, native_sr, channels, "ffmpeg")
