"""Reading tags and audio properties, normalised across containers.

Each container names things its own way (ID3 frames, Vorbis comments, MP4
atoms, APEv2 keys, ASF attributes). ``raw_fields`` turns any of them into one
mapping ``field -> list of strings``; ``normalise`` (pure) turns that into the
values of the ``tracks`` columns. ``read_file`` is what the scan's reader
processes call: one file in, one plain dict out, or a :class:`FileError`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import mutagen
from mutagen.apev2 import APEv2
from mutagen.asf import ASFTags
from mutagen.id3 import ID3, Encoding
from mutagen.mp4 import MP4Tags

from enrich.errors import FileError

# Vorbis comment and APEv2 keys (lower case) -> our field. Both are case-insensitive.
TEXT_KEYS = {
    "artist": "artist",
    "albumartist": "album_artist",
    "album artist": "album_artist",
    "album_artist": "album_artist",
    "album": "album",
    "title": "title",
    "tracknumber": "track",
    "track": "track",
    "tracktotal": "track_total",
    "totaltracks": "track_total",
    "discnumber": "disc",
    "disc": "disc",
    "disctotal": "disc_total",
    "totaldiscs": "disc_total",
    "date": "date",
    "year": "date",
    "genre": "genre",
    "bpm": "bpm",
    "initialkey": "key",
    "key": "key",
    "musicbrainz_trackid": "mb_track",
    "musicbrainz_artistid": "mb_artist",
    "musicbrainz_albumid": "mb_album",
    "musicbrainz_releasegroupid": "mb_releasegroup",
}

ID3_FRAMES = {
    "TPE1": "artist", "TPE2": "album_artist", "TALB": "album", "TIT2": "title", "TRCK": "track",
    "TPOS": "disc", "TDRC": "date", "TYER": "date", "TBPM": "bpm", "TKEY": "key",
}

# TXXX descriptions (lower case) and the MusicBrainz ids they hold.
ID3_TXXX = {
    "musicbrainz artist id": "mb_artist",
    "musicbrainz album id": "mb_album",
    "musicbrainz release group id": "mb_releasegroup",
    "musicbrainz track id": "mb_track",  # old taggers; Picard uses UFID
    "initialkey": "key",
}

MP4_ATOMS = {
    "©ART": "artist", "aART": "album_artist", "©alb": "album", "©nam": "title", "©day": "date",
    "©gen": "genre", "tmpo": "bpm",
    "----:com.apple.iTunes:MusicBrainz Track Id": "mb_track",
    "----:com.apple.iTunes:MusicBrainz Artist Id": "mb_artist",
    "----:com.apple.iTunes:MusicBrainz Album Id": "mb_album",
    "----:com.apple.iTunes:MusicBrainz Release Group Id": "mb_releasegroup",
    "----:com.apple.iTunes:initialkey": "key",
    "----:com.apple.iTunes:BPM": "bpm",
}

ASF_KEYS = {
    "Author": "artist", "WM/AlbumArtist": "album_artist", "WM/AlbumTitle": "album", "Title": "title",
    "WM/TrackNumber": "track", "WM/PartOfSet": "disc", "WM/Year": "date", "WM/Genre": "genre",
    "WM/BeatsPerMinute": "bpm", "WM/InitialKey": "key",
    "MusicBrainz/Track Id": "mb_track", "MusicBrainz/Artist Id": "mb_artist",
    "MusicBrainz/Album Id": "mb_album", "MusicBrainz/Release Group Id": "mb_releasegroup",
}

# Codec by mutagen class, where the container holds one codec only.
CODECS = {
    "MP3": "mp3", "FLAC": "flac", "OggVorbis": "vorbis", "OggOpus": "opus", "OggFLAC": "flac",
    "OggSpeex": "speex", "AIFF": "pcm", "WAVE": "pcm", "MonkeysAudio": "ape", "WavPack": "wavpack",
    "Musepack": "musepack", "DSF": "dsd", "DSDIFF": "dsd", "TrueAudio": "tta", "OptimFROG": "ofr",
    "AAC": "aac", "AC3": "ac3",
}


# ---------------------------------------------------------------- pure parts


def repair_latin1(text: str) -> str:
    """Undo UTF-8 bytes stored in a frame declared latin-1 ("BjÃ¶rk" -> "Björk"), when clean."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def number_pair(value: str | None) -> tuple[int | None, int | None]:
    """'3/12' -> (3, 12); '03' -> (3, None); junk -> (None, None)."""
    if not value:
        return None, None
    head, _, tail = str(value).partition("/")
    return to_int(head), to_int(tail)


def to_int(value: Any) -> int | None:
    match = re.match(r"\s*(\d{1,6})", str(value)) if value is not None else None
    return int(match.group(1)) if match else None


def to_year(value: str | None) -> int | None:
    """The first four-digit number of a date tag (its range is checked by ``implausible``)."""
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", str(value or ""))
    year = int(match.group(1)) if match else 0
    return year or None  # "0000" is how some taggers say unknown


def to_bpm(value: str | None) -> float | None:
    try:
        bpm = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return bpm if 0 < bpm < 1000 and math.isfinite(bpm) else None


def clean(values: Iterable[Any]) -> list[str]:
    """Strings without blanks, NULs or repeats, in order."""
    out: list[str] = []
    for value in values:
        for part in str(value).split("\x00"):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def split_genres(values: Iterable[str]) -> list[str]:
    """Multi-valued genres: separate values, and ';'-joined ones split."""
    return clean(part for value in values for part in str(value).split(";"))


def normalise(raw: Mapping[str, list[str]]) -> dict[str, Any]:
    """The ``tracks`` tag columns from ``field -> values`` (pure)."""
    first: dict[str, str | None] = {k: next(iter(clean(v)), None) for k, v in raw.items()}
    track, track_total = number_pair(first.get("track"))
    disc, disc_total = number_pair(first.get("disc"))
    return {
        "artist": "; ".join(clean(raw.get("artist", []))) or None,
        "album_artist": "; ".join(clean(raw.get("album_artist", []))) or None,
        "album": first.get("album"),
        "title": first.get("title"),
        "track_number": track,
        "track_total": to_int(first.get("track_total")) or track_total,
        "disc_number": disc,
        "disc_total": to_int(first.get("disc_total")) or disc_total,
        "year": to_year(first.get("date")),
        "mb_track_id": first.get("mb_track"),
        "mb_artist_id": first.get("mb_artist"),
        "mb_album_id": first.get("mb_album"),
        "mb_releasegroup_id": first.get("mb_releasegroup"),
        "tag_genres": json.dumps(split_genres(raw.get("genre", [])), ensure_ascii=False),
        "tag_bpm": to_bpm(first.get("bpm")),
        "tag_key": first.get("key"),
    }


# What a value may be, per column (inclusive); 0 means "unknown" in many taggers
# and headers, so it becomes NULL without a note. A value outside is NULL with a note.
RANGES: dict[str, tuple[float, float]] = {
    "duration": (0.0, 100 * 3600.0),       # a day-long mix fits; a year does not
    "sample_rate": (1000, 50_000_000),     # DSD runs at MHz
    "channels": (1, 64),
    "bitrate": (100, 200_000_000),         # bits per second
    "track_number": (1, 999),
    "track_total": (1, 999),
    "disc_number": (1, 999),
    "disc_total": (1, 999),
    "year": (1000, 2100),
}
# Less than this many bytes per second of audio is no audio: a header claiming a
# duration that the file's size cannot hold is wrong (silence in FLAC takes ~200 B/s).
MIN_BYTES_PER_SECOND = 16


def implausible(values: dict[str, Any], size: int | None) -> list[str]:
    """Set to None the values in ``values`` that cannot be true; one note per value cleared."""
    notes = []
    for name, (low, high) in RANGES.items():
        value = values.get(name)
        if value is None:
            continue
        if value == 0:
            values[name] = None
        elif not low <= value <= high:
            values[name] = None
            notes.append(f"{name} {value:g} is outside {low:g}..{high:g}; stored as unknown")
    duration = values.get("duration")
    if duration is not None and size is not None and duration * MIN_BYTES_PER_SECOND > size:
        values["duration"] = None
        notes.append(f"duration {duration:g} s cannot fit in {size} bytes; stored as unknown")
    return notes


# ---------------------------------------------------------------- per container


def raw_fields(tags: Any) -> dict[str, list[str]]:
    """Any mutagen tag object -> ``field -> values``."""
    if tags is None:
        return {}
    if isinstance(tags, ID3):
        return id3_fields(tags)
    if isinstance(tags, MP4Tags):
        return mp4_fields(tags)
    if isinstance(tags, ASFTags):
        return asf_fields(tags)
    if isinstance(tags, APEv2):
        ape: Any = tags  # mutagen's tag mappings are not annotated
        pairs = ((k, list(v)) for k, v in ape.items() if getattr(v, "kind", 0) == 0)  # text values only
        return keyed_fields(pairs)
    if isinstance(tags, list):  # Vorbis comments: a list of (key, value)
        return keyed_fields((k, [v]) for k, v in tags)
    return {}


def add(raw: dict[str, list[str]], name: str, values: Iterable[Any]) -> None:
    raw.setdefault(name, []).extend(str(v) for v in values)


def keyed_fields(pairs: Iterable[tuple[str, list[Any]]]) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    for key, values in pairs:
        name = TEXT_KEYS.get(key.lower())
        if name:
            add(raw, name, values)
    return raw


def id3_fields(tags: ID3) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    frames: Any = tags  # mutagen's tag mappings are not annotated
    for frame in frames.values():
        fid = frame.FrameID
        latin1 = getattr(frame, "encoding", None) == Encoding.LATIN1
        fix = repair_latin1 if latin1 else str
        if fid in ID3_FRAMES:
            add(raw, ID3_FRAMES[fid], (fix(str(t)) for t in frame.text))
        elif fid == "TCON":
            add(raw, "genre", (fix(g) for g in frame.genres))
        elif fid == "TXXX" and frame.desc.lower() in ID3_TXXX:
            add(raw, ID3_TXXX[frame.desc.lower()], (fix(str(t)) for t in frame.text))
        elif fid == "UFID" and frame.owner == "http://musicbrainz.org":
            # The recording id from UFID wins over an old-style TXXX one.
            raw.setdefault("mb_track", []).insert(0, frame.data.decode("ascii", "replace"))
    return raw


def mp4_fields(tags: MP4Tags) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    atoms: Any = tags  # mutagen's tag mappings are not annotated
    for atom, values in atoms.items():
        if atom in MP4_ATOMS:
            add(raw, MP4_ATOMS[atom], (v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values))
        elif atom in ("trkn", "disk"):
            number, total = values[0] if values else (0, 0)
            name = "track" if atom == "trkn" else "disc"
            add(raw, name, [f"{number}/{total}" if total else str(number)])
        elif atom == "gnre":  # ID3v1 genre index plus one
            add(raw, "genre", (ID3_GENRES[v - 1] for v in values if 0 < v <= len(ID3_GENRES)))
    return raw


def asf_fields(tags: ASFTags) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    attributes: Any = tags  # mutagen's tag mappings are not annotated
    for key, values in attributes.items():
        name = ASF_KEYS.get(key)
        if name:
            add(raw, name, (getattr(v, "value", v) for v in values))
    return raw


def _id3_genres() -> list[str]:
    from mutagen.id3 import TCON

    return list(TCON.GENRES)


ID3_GENRES = _id3_genres()


# ---------------------------------------------------------------- files


def audio_properties(audio: Any) -> dict[str, Any]:
    info = audio.info
    kind = type(audio).__name__
    codec: str | None = CODECS.get(kind, kind.lower())
    if kind == "MP4":
        raw_codec = getattr(info, "codec", "") or ""
        codec = "aac" if raw_codec.startswith("mp4a") else raw_codec or None
    elif kind == "ASF":
        name = getattr(info, "codec_name", "") or ""
        codec = "wmalossless" if "Lossless" in name else "wmapro" if "Pro" in name else "wma"
    elif kind == "MP3" and getattr(info, "layer", 3) != 3:
        codec = f"mp{info.layer}"

    def number(name: str, cast: type[int] | type[float]) -> int | float | None:
        raw: Any = getattr(info, name, None)
        try:
            value = cast(raw)
        except (TypeError, ValueError, OverflowError):
            return None
        return value if value is not None and (cast is int or math.isfinite(value)) else None

    return {
        "format": kind,
        "codec": codec,
        "duration": number("length", float),
        # Opus always decodes at 48 kHz; mutagen does not say so.
        "sample_rate": 48000 if kind == "OggOpus" else number("sample_rate", int),
        "channels": number("channels", int),
        "bitrate": number("bitrate", int),
    }


def reason_for(exc: BaseException) -> str:
    """One line saying why a file could not be read."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, mutagen.MutagenError) and isinstance(cause, OSError):
        exc = cause  # mutagen wraps I/O errors; the I/O error says it better
    if isinstance(exc, PermissionError):
        return "cannot open: permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished during scan (deleted before it could be read)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read: {exc.strerror}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    kind = type(exc).__name__
    if isinstance(exc, mutagen.MutagenError):
        return f"not readable as audio: {text or kind}"[:300]
    return f"tag reader failed: {kind}: {text}"[:300]


def read_file(path: str) -> dict[str, Any]:
    """Audio properties and normalised tags of one file; :class:`FileError` if unreadable.

    Values that cannot be true are None, and ``notes`` says which and why.
    """
    try:
        audio = mutagen.File(path)
        size = os.path.getsize(path)
    except Exception as exc:  # mutagen raises many kinds for damaged files
        raise FileError(path, reason_for(exc)) from exc
    if audio is None:
        raise FileError(path, "not a recognised audio format")
    try:
        values = {**audio_properties(audio), **normalise(raw_fields(audio.tags))}
    except Exception as exc:  # odd tag values must not cost more than this file
        raise FileError(path, f"tags could not be interpreted: {type(exc).__name__}: {exc}"[:300]) from exc
    values["notes"] = implausible(values, size)
    return values
