"""Tag write-back across formats: real files made here, read back with mutagen."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import av
import mutagen
import numpy as np
import pytest
import soundfile as sf

from enrich.errors import FileError
from enrich.library.tagwrite import read_back, write_tags
from tests.conftest import REPO, unprivileged_prefix

SR = 22050


def tone(seconds=0.3):
    t = np.arange(int(SR * seconds)) / SR
    return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def encode_av(path, container, codec, rate=SR):
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        stream.bit_rate = 64000
        samples = tone()
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, len(samples), frame_size):
            chunk = samples[start:start + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def make(tmp_path, kind):
    path = tmp_path / f"song.{kind}"
    if kind in ("wav", "flac"):
        sf.write(path, tone(), SR, format=kind.upper())
    elif kind == "ogg":
        sf.write(path, tone(), SR, format="OGG", subtype="VORBIS")
    elif kind == "opus":
        sf.write(path, tone(), 48000, format="OGG", subtype="OPUS")
    elif kind == "mp3":
        sf.write(path, tone(), SR, format="MP3", subtype="MPEG_LAYER_III")
    elif kind == "aiff":
        sf.write(path, tone(), SR, format="AIFF")
    elif kind == "m4a":
        encode_av(path, "ipod", "aac")
    elif kind == "wma":
        encode_av(path, "asf", "wmav2")
    return path


FORMATS = ["mp3", "flac", "ogg", "opus", "m4a", "wav", "aiff", "wma"]


@pytest.mark.parametrize("kind", FORMATS)
def test_write_genres_bpm_key_and_read_back(tmp_path, kind):
    path = make(tmp_path, kind)
    write_tags(path, genres=["hard rock", "rock"], bpm=123.4, key="8A")
    assert read_back(str(path)) == {"genres": ["hard rock", "rock"], "bpm": "123", "key": "8A"}
    assert mutagen.File(path).info.length > 0.1          # still audio
    # a second write replaces, a None leaves alone, [] removes
    write_tags(path, genres=["jazz"])
    assert read_back(str(path)) == {"genres": ["jazz"], "bpm": "123", "key": "8A"}
    write_tags(path, genres=[])
    assert read_back(str(path))["genres"] == []
    assert [p.name for p in tmp_path.iterdir()] == [path.name]     # no temp file left behind


@pytest.mark.parametrize("kind, raw_check", [
    ("mp3", lambda f: f.tags.version == (2, 4, 0) and f.tags["TCON"].text == ["hard rock", "rock"]),
    ("flac", lambda f: f.tags["GENRE"] == ["hard rock", "rock"]),
    ("ogg", lambda f: f.tags["GENRE"] == ["hard rock", "rock"]),
    ("m4a", lambda f: f.tags["\xa9gen"] == ["hard rock", "rock"] and f.tags["tmpo"] == [120]),
])
def test_each_format_uses_its_own_multi_value_convention(tmp_path, kind, raw_check):
    path = make(tmp_path, kind)
    write_tags(path, genres=["hard rock", "rock"], bpm=120)
    assert raw_check(mutagen.File(path))


def test_existing_tags_survive(tmp_path):
    path = make(tmp_path, "flac")
    f = mutagen.File(path)
    f["ARTIST"] = "Somebody"
    f["TITLE"] = "Ünïcode"
    f.save()
    write_tags(path, genres=["folk"])
    f = mutagen.File(path)
    assert f["ARTIST"] == ["Somebody"] and f["TITLE"] == ["Ünïcode"] and f["GENRE"] == ["folk"]


@pytest.mark.parametrize("content, message", [
    (b"", "cannot write tags"),
    (b"this is a text file, not audio\n" * 20, "cannot write tags"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\xff" * 40, "cannot write tags"),
])
def test_bad_files_raise_file_error_and_stay_unchanged(tmp_path, content, message):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(FileError, match=message) as info:
        write_tags(path, genres=["rock"])
    assert str(path) in str(info.value)
    assert path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["bad.mp3"]


def test_missing_file(tmp_path):
    with pytest.raises(FileError, match=r"gone\.flac"):
        write_tags(tmp_path / "gone.flac", genres=["rock"])


@pytest.mark.slow
def test_read_only_folder_leaves_file_untouched(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = make(folder, "flac")
    before = path.read_bytes()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    # In a process without root's power to ignore permissions.
    script = (
        "import sys\n"
        "from enrich.errors import FileError\n"
        "from enrich.library.tagwrite import write_tags\n"
        "try:\n"
        "    write_tags(sys.argv[1], genres=['rock'])\n"
        "except FileError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    try:
        done = subprocess.run([*unprivileged_prefix(), sys.executable, "-c", script, str(path)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        folder.chmod(stat.S_IRWXU)
    assert done.returncode == 3, done.stderr
    assert "not writable" in done.stdout and str(path) in done.stdout
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == [path.name]


def test_truncated_flac_is_refused_and_kept(tmp_path):
    path = make(tmp_path, "flac")
    data = path.read_bytes()[:60]
    path.write_bytes(data)
    with pytest.raises(FileError):
        write_tags(path, genres=["rock"])
    assert path.read_bytes() == data


def test_a_file_reached_through_a_link_is_written_and_the_link_kept(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    real = make(tmp_path / "elsewhere", "flac")
    link = tmp_path / "linked.flac"
    link.symlink_to(real)
    write_tags(link, genres=["rock"])
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert read_back(str(real))["genres"] == ["rock"]
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == [real.name]
