"""M3U8 files: UTF-8, #EXTINF with duration and "artist - title", paths relative to the file
(or a file:// URI for a name holding a newline)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
MAX_NAME_BYTES = 120


@dataclass(frozen=True)
class Entry:
    path: str
    duration: float | None
    artist: str
    title: str


def safe_filename(name: str, suffix: str = ".m3u8") -> str:
    """A file name that works on Linux, macOS and Windows: no separators, no reserved names."""
    text = unicodedata.normalize("NFC", name)
    text = UNSAFE.sub(" ", text)
    text = " ".join(text.split()).strip(" .")
    if not text or text.lower().split(".")[0] in RESERVED:
        text = f"playlist {text}".strip()
    encoded = text.encode("utf-8")[:MAX_NAME_BYTES]
    text = encoded.decode("utf-8", errors="ignore").strip(" .")
    return text + suffix


def one_line(text: str) -> str:
    return " ".join((text or "").split())


def render(entries: list[Entry], playlist_dir: Path, name: str | None = None) -> str:
    lines = ["#EXTM3U"]
    if name:
        lines.append(f"#PLAYLIST:{one_line(name)}")
    base = os.path.abspath(playlist_dir)
    for e in entries:
        seconds = round(e.duration) if e.duration is not None and e.duration == e.duration else -1
        label = " - ".join(p for p in (one_line(e.artist), one_line(e.title)) if p) or one_line(Path(e.path).stem)
        lines.append(f"#EXTINF:{seconds},{label}")
        lines.append(location(e.path, base))
    return "\n".join(lines) + "\n"


def location(path: str, base: str) -> str:
    """The entry's line: the path relative to the playlist, or a file:// URI when it cannot be a line.

    A newline or other control character in a name would split the entry; as an
    absolute URI every byte is percent-encoded, which players (VLC, mpv, foobar2000)
    decode back to the name.
    """
    if CONTROL.search(path):
        return Path(os.path.abspath(path)).as_uri()
    try:
        relative = os.path.relpath(path, base)
    except ValueError:  # another drive on Windows: only an absolute path works
        relative = path
    return relative.replace(os.sep, "/")


def write(entries: list[Entry], out_dir: Path, name: str, taken: set[str] | None = None) -> Path:
    """Write ``name``.m3u8 in ``out_dir`` atomically; a name used in this run gets a number."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    filename = safe_filename(name)
    if taken is not None:
        stem, n = filename[: -len(".m3u8")], 2
        while filename in taken:
            filename, n = f"{stem} ({n}).m3u8", n + 1
        taken.add(filename)
    target = out_dir / filename
    # Paths that were not UTF-8 on disk come back as surrogates; write their bytes as they are.
    data = render(entries, out_dir, name).encode("utf-8", errors="surrogateescape")
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".playlist-", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; a playlist is for others too (a media server
        # running as another user): the mode any new file gets under the user's umask.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def current_umask() -> int:
    """The process umask, read without changing it (os.umask would, for every thread, for a moment)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
