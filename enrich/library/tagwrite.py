"""Writing genres, BPM and key into audio files, safely.

Each format gets its own convention: ID3v2.4 TCON/TBPM/TKEY (mp3, aiff, wav,
dsf), Vorbis comments GENRE/BPM/INITIALKEY (flac, ogg, opus), MP4 ©gen/tmpo and
an iTunes initialkey atom (m4a), ASF WM/Genre... (wma), APEv2 Genre/BPM/Key
(ape, wavpack, musepack). Genres are multi-valued in every one of them.

Safety: the tags are written into a copy next to the file, the copy is read
back and compared, and only then it replaces the original atomically. A file
that cannot be written raises :class:`FileError` and is left as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mutagen
from mutagen.aiff import AIFF
from mutagen.apev2 import APEv2File
from mutagen.asf import ASF
from mutagen.dsf import DSF
from mutagen.flac import FLAC
from mutagen.id3 import TBPM, TCON, TKEY, ID3FileType
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.ogg import OggFileType
from mutagen.wave import WAVE

from enrich.errors import FileError

MP4_KEY = "----:com.apple.iTunes:initialkey"


# mutagen's tag objects and frame classes are not annotated: they are Any here.
Writer = Callable[[Any, "Sequence[str] | None", "float | None", "str | None"], None]


def remove(tags: Any, key: str) -> None:
    if key in tags:
        del tags[key]


def _id3_tags(audio: Any) -> Any:
    if audio.tags is None:
        audio.add_tags()
    return audio.tags


def write_id3(audio: Any, genres: Sequence[str] | None, bpm: float | None, key: str | None) -> None:
    tags = _id3_tags(audio)
    if genres is not None:
        tags.delall("TCON")
        if genres:
            tags.add(TCON(encoding=3, text=list(genres)))  # type: ignore[no-untyped-call]
    if bpm is not None:
        tags.setall("TBPM", [TBPM(encoding=3, text=[str(round(bpm))])])  # type: ignore[no-untyped-call]
    if key is not None:
        tags.setall("TKEY", [TKEY(encoding=3, text=[key])])  # type: ignore[no-untyped-call]
    audio.save(v2_version=4)


def write_vorbis(audio: Any, genres: Sequence[str] | None, bpm: float | None, key: str | None) -> None:
    if audio.tags is None:
        audio.add_tags()
    if genres is not None:
        if genres:
            audio.tags["GENRE"] = list(genres)
        elif "GENRE" in audio.tags:
            del audio.tags["GENRE"]
    if bpm is not None:
        audio.tags["BPM"] = [str(round(bpm))]
    if key is not None:
        audio.tags["INITIALKEY"] = [key]
    audio.save()


def write_mp4(audio: Any, genres: Sequence[str] | None, bpm: float | None, key: str | None) -> None:
    if audio.tags is None:
        audio.add_tags()
    if genres is not None:
        remove(audio.tags, "\xa9gen")
        remove(audio.tags, "gnre")   # the old numeric genre atom would shadow ours
        if genres:
            audio.tags["\xa9gen"] = list(genres)
    if bpm is not None:
        audio.tags["tmpo"] = [round(bpm)]
    if key is not None:
        audio.tags[MP4_KEY] = [MP4FreeForm(key.encode("utf-8"))]  # type: ignore[no-untyped-call]
    audio.save()


def write_asf(audio: Any, genres: Sequence[str] | None, bpm: float | None, key: str | None) -> None:
    if genres is not None:
        remove(audio.tags, "WM/Genre")
        if genres:
            audio.tags["WM/Genre"] = list(genres)
    if bpm is not None:
        audio.tags["WM/BeatsPerMinute"] = [str(round(bpm))]
    if key is not None:
        audio.tags["WM/InitialKey"] = [key]
    audio.save()


def write_ape(audio: Any, genres: Sequence[str] | None, bpm: float | None, key: str | None) -> None:
    if audio.tags is None:
        audio.add_tags()
    if genres is not None:
        remove(audio.tags, "Genre")
        if genres:
            audio.tags["Genre"] = list(genres)
    if bpm is not None:
        audio.tags["BPM"] = str(round(bpm))
    if key is not None:
        audio.tags["Key"] = key
    audio.save()


def writer_for(audio: Any) -> Writer | None:
    if isinstance(audio, MP4):
        return write_mp4
    if isinstance(audio, (FLAC, OggFileType)):
        return write_vorbis
    if isinstance(audio, ASF):
        return write_asf
    if isinstance(audio, APEv2File):
        return write_ape
    if isinstance(audio, (ID3FileType, AIFF, WAVE, DSF)):
        return write_id3
    return None


def read_back(path: str) -> dict[str, Any]:
    """Genres, BPM and key as the file now holds them (what verification compares)."""
    audio = mutagen.File(path)
    tags = audio.tags if audio is not None else None
    if tags is None:
        return {"genres": [], "bpm": None, "key": None}

    def first(values: Sequence[Any]) -> str | None:
        return str(values[0]) if values else None

    if isinstance(audio, MP4):
        key = tags.get(MP4_KEY)
        return {"genres": list(tags.get("\xa9gen", [])), "bpm": first(tags.get("tmpo", [])),
                "key": bytes(key[0]).decode("utf-8") if key else None}
    if isinstance(audio, (FLAC, OggFileType)):
        return {"genres": list(tags.get("GENRE", [])), "bpm": first(tags.get("BPM", [])),
                "key": first(tags.get("INITIALKEY", []))}
    if isinstance(audio, ASF):
        return {"genres": [str(v) for v in tags.get("WM/Genre", [])], "bpm": first(tags.get("WM/BeatsPerMinute", [])),
                "key": first(tags.get("WM/InitialKey", []))}
    if isinstance(audio, APEv2File):
        genre = tags.get("Genre")
        return {"genres": list(genre) if genre else [], "bpm": str(tags["BPM"]) if "BPM" in tags else None,
                "key": str(tags["Key"]) if "Key" in tags else None}
    tcon = tags.get("TCON")
    return {"genres": list(tcon.text) if tcon else [], "bpm": first(tags["TBPM"].text) if "TBPM" in tags else None,
            "key": first(tags["TKEY"].text) if "TKEY" in tags else None}


def write_tags(path: str | os.PathLike[str], genres: Sequence[str] | None = None, bpm: float | None = None,
               key: str | None = None) -> None:
    """Write what is given (None leaves a field alone; genres=[] removes them) into ``path``.

    Raises FileError naming the file when it cannot be written; the file is then unchanged.
    """
    path = os.fspath(path)
    # Through a symbolic link, the file it leads to is written (the link stays a link).
    target = os.path.realpath(path)
    genres = None if genres is None else [str(g) for g in genres]
    folder = os.path.dirname(target)
    try:
        fd, temp = tempfile.mkstemp(prefix=".enrich-", suffix=Path(path).suffix, dir=folder)
        os.close(fd)
    except OSError as exc:
        raise FileError(path, f"cannot write tags: folder is not writable ({exc.strerror})") from exc
    try:
        try:
            shutil.copy2(target, temp)
            audio = mutagen.File(temp)
        except OSError as exc:
            raise FileError(path, f"cannot write tags: {exc.strerror or exc}") from exc
        except mutagen.MutagenError as exc:
            raise FileError(path, f"cannot write tags: not a readable audio file ({exc})") from exc
        if audio is None:
            raise FileError(path, "cannot write tags: not a known audio format")
        write = writer_for(audio)
        if write is None:
            raise FileError(path, f"cannot write tags: {type(audio).__name__} files are not supported")
        try:
            write(audio, genres, bpm, key)
            got = read_back(temp)
        except (mutagen.MutagenError, OSError, ValueError, KeyError, TypeError) as exc:
            raise FileError(path, f"cannot write tags: {exc}") from exc
        want_bpm = None if bpm is None else str(round(bpm))
        if (genres is not None and got["genres"] != genres) or (bpm is not None and got["bpm"] != want_bpm) \
                or (key is not None and got["key"] != key):
            raise FileError(path, "cannot write tags: they did not read back as written; file left unchanged")
        try:
            os.replace(temp, target)
        except OSError as exc:
            raise FileError(path, f"cannot replace the file: {exc.strerror}") from exc
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
