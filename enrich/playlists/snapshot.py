"""The columns playlists read, kept in one file next to the database and memory-mapped.

Reading 100,000 tracks through SQL into numpy costs about a second; mapping a
file of ready columns costs milliseconds, and only the pages a playlist touches
are read. The file ``<db>-snapshot`` holds the library view
(store/library_view.py) and the sound space standardised from it, tagged with
the library generation it was read at: the writer raises that counter in the
same transaction as every change to tracks, features or genres (migration
0006). So the file is rebuilt only when the library changed (or the sound
settings did): by `genres` and `analyze` at the end of a run that changed it
(refresh.py), else by the first playlist command after the change.

A rebuild writes a temporary file and renames it into place: a crash part-way
leaves the previous file or none, never half of one, and a file that fails its
checks (magic, size, generation) is ignored and rebuilt.

Layout: magic, header length, a JSON header (what each array is and where),
then the arrays, each 64-byte aligned. Texts (paths, artists, titles) are one
UTF-8 blob per column plus row offsets; a row is decoded when it is asked for.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enrich.playlists.refresh import snapshot_path
from enrich.playlists.similarity import PARTS_CODES, SoundSpace, TrackClasses, sound_space, track_classes
from enrich.store.library_view import LibraryView, library_generation, load_library_at
from enrich.store.text_column import FileReader, TextColumn, encode_texts

log = logging.getLogger(__name__)

MAGIC = b"ENRSNAP1"
# 2: the second-best tempo and the octave-aware tempo columns of the sound space; 3: copies of one recording;
# 4: track classes
FORMAT = 4
ALIGN = 64

NUMERIC = ("ids", "duration", "missing", "tempo", "tempo_alt", "camelot", "energy", "loudness", "vectors",
           "has_features", "genre_ids", "genre_weights", "recording")
SPACE_TEMPO = ("log_tempo", "log_alt")  # optional columns of the sound space (octave-aware tempo)
TEXTS = ("paths", "artists", "titles")
COLUMN_MAJOR = ("genre_ids", "genre_weights")
CLASSES = ("of_track", "camelot", "genre_ids", "genre_weights", "odd_rows", "odd_bounds")  # similarity.TrackClasses


@dataclass
class Loaded:
    view: LibraryView
    space: SoundSpace
    source: str  # "snapshot" (mapped), "rebuilt" (read from SQL, file written) or "database" (no file)


def load(db: Path, tempo_weight: float, busy_timeout_ms: int = 30000) -> Loaded:
    """The library and its sound space: from the snapshot when it is current, else from SQL (then saved)."""
    path = snapshot_path(db)
    generation = library_generation(db, busy_timeout_ms)
    if generation is not None:
        mapped = read(path, generation, tempo_weight)
        if mapped is not None:
            return Loaded(*mapped, source="snapshot")
    generation, view = load_library_at(db, busy_timeout_ms)
    space = sound_space(view, tempo_weight)
    if generation is None:  # a database from before migration 0006: no counter to trust
        return Loaded(view, space, source="database")
    try:
        write(path, generation, view, space, tempo_weight)
    except OSError as exc:  # a read-only folder, a full disk: playlists still work, only slower
        log.info("%s: cannot save the playlists snapshot (%s); the next run reads the database again",
                 path, exc.strerror or exc)
        return Loaded(view, space, source="database")
    return Loaded(view, space, source="rebuilt")


# ---------------------------------------------------------------- writing


def write(path: Path, generation: str, view: LibraryView, space: SoundSpace, tempo_weight: float) -> None:
    """Write the snapshot beside the database: a temporary file, then one atomic rename."""
    # Two-dimensional columns are stored transposed (slot-major), and read back as the transpose.
    columns = {name: getattr(view, name) for name in NUMERIC}
    if columns["tempo_alt"] is None:
        columns["tempo_alt"] = np.full(len(view), np.nan, np.float32)
    if columns["recording"] is None:
        columns["recording"] = np.full(len(view), -1, np.int32)
    arrays: dict[str, np.ndarray] = {name: np.ascontiguousarray(a.T if name in COLUMN_MAJOR else a)
                                     for name, a in columns.items()}
    for name in SPACE_TEMPO:
        column = getattr(space, name)
        if column is not None:
            arrays[name] = np.ascontiguousarray(column)
    arrays["z"] = np.ascontiguousarray(space.z)
    arrays["norms"] = np.ascontiguousarray(space.norms)
    arrays["space_has"] = np.ascontiguousarray(space.has)
    classes = space.classes if space.classes is not None else track_classes(view, space.has)
    for name in CLASSES:
        arrays[f"class_{name}"] = np.ascontiguousarray(getattr(classes, name))
    for name in TEXTS:
        blob, offsets = encode_texts(getattr(view, name))
        arrays[f"{name}_blob"], arrays[f"{name}_offsets"] = blob, offsets
    layout: dict[str, dict[str, Any]] = {}
    header: dict[str, Any] = {
        "format": FORMAT, "generation": generation, "tempo_weight": tempo_weight,
        "total_weight": space.total_weight, "tempo_scale": space.tempo_scale, "rows": len(view),
        "usual_parts": classes.usual,
        "feature_names": list(view.feature_names),
        "genre_names": list(view.genre_names), "fs_paths": {str(k): v for k, v in view.fs_paths.items()},
        "arrays": layout, "size": 0,
    }
    # The header holds the offsets, and its own length moves them: settle it in two passes.
    for _ in range(2):
        offset = aligned(len(MAGIC) + 8 + len(json.dumps(header).encode()) + 64)
        for name, a in arrays.items():
            layout[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
            offset = aligned(offset + a.nbytes)
        header["size"] = offset
    head = json.dumps(header).encode()
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + struct.pack("<Q", len(head)) + head)
            for name, a in arrays.items():
                f.write(b"\0" * (layout[name]["offset"] - f.tell()))
                f.write(a.tobytes() if a.nbytes < (1 << 20) else memoryview(a.data).cast("B"))
            f.write(b"\0" * (header["size"] - f.tell()))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    remove_leftovers(path)


def remove_leftovers(path: Path) -> None:
    """Temporary files of rebuilds whose process died (a crash, kill -9) before renaming them."""
    for tmp in path.parent.glob(f"{path.name}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[1]
        if pid.isdigit() and not process_alive(int(pid)):
            tmp.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


# ---------------------------------------------------------------- reading


def read(path: Path, generation: str, tempo_weight: float) -> tuple[LibraryView, SoundSpace] | None:
    """The mapped snapshot if it is whole and of this generation and these settings, else None."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < len(MAGIC) + 8:
                return None
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            reader = FileReader(os.dup(f.fileno()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.info("%s: cannot read the playlists snapshot (%s); reading the database", path, exc)
        return None
    try:
        header = parse_header(mm, size)
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        log.info("%s: damaged playlists snapshot (%s); rebuilding it", path, exc)
        return None
    if header["generation"] != generation or header["tempo_weight"] != tempo_weight:
        return None
    a = {name: array_at(mm, spec) for name, spec in header["arrays"].items()}
    for name in COLUMN_MAJOR:
        a[name] = a[name].T
    texts = {name: TextColumn(mm, header["arrays"][f"{name}_blob"]["offset"], a[f"{name}_offsets"],
                              reader, header["arrays"][f"{name}_offsets"]["offset"]) for name in TEXTS}
    view = LibraryView(
        ids=a["ids"], paths=texts["paths"], artists=texts["artists"], titles=texts["titles"],
        duration=a["duration"], missing=a["missing"], tempo=a["tempo"], tempo_alt=a["tempo_alt"],
        camelot=a["camelot"], energy=a["energy"],
        loudness=a["loudness"], vectors=a["vectors"], has_features=a["has_features"],
        feature_names=list(header["feature_names"]), genre_names=list(header["genre_names"]),
        genre_ids=a["genre_ids"], genre_weights=a["genre_weights"],
        fs_paths={int(k): v for k, v in header["fs_paths"].items()}, recording=a["recording"],
    )
    classes = TrackClasses(**{name: a[f"class_{name}"] for name in CLASSES}, usual=int(header["usual_parts"]))
    if not classes.fits(int(header["rows"])):  # scoring gathers by these indices without checking them
        log.info("%s: damaged playlists snapshot (track classes out of range); rebuilding it", path)
        return None
    space = SoundSpace(z=a["z"], norms=a["norms"], total_weight=float(header["total_weight"]), has=a["space_has"],
                       log_tempo=a.get("log_tempo"), log_alt=a.get("log_alt"),
                       tempo_scale=float(header["tempo_scale"]), classes=classes)
    return view, space


def parse_header(mm: mmap.mmap, size: int) -> dict[str, Any]:
    if mm[:len(MAGIC)] != MAGIC:
        raise ValueError("not a snapshot file")
    (length,) = struct.unpack_from("<Q", mm, len(MAGIC))
    start = len(MAGIC) + 8
    if start + length > size:
        raise ValueError("header cut short")
    header: dict[str, Any] = json.loads(mm[start:start + length].decode())
    if header["format"] != FORMAT:
        raise ValueError(f"format {header['format']}, not {FORMAT}")
    if header["size"] != size:
        raise ValueError(f"{size} bytes, expected {header['size']} (cut short?)")
    rows = header["rows"]
    for name, spec in header["arrays"].items():
        end = spec["offset"] + np.dtype(spec["dtype"]).itemsize * int(np.prod(spec["shape"]))
        if spec["offset"] < start + length or end > size:
            raise ValueError(f"array {name} lies outside the file")
        if name in NUMERIC and spec["shape"][name in COLUMN_MAJOR] != rows:
            raise ValueError(f"array {name} has {spec['shape'][0]} rows, not {rows}")
    classes = [header["arrays"][f"class_{name}"]["shape"] for name in CLASSES]  # KeyError: not all there
    if classes[0] != [rows] or int(header["usual_parts"]) not in range(PARTS_CODES):
        raise ValueError("track classes do not match the rows")
    return header


def array_at(mm: mmap.mmap, spec: dict[str, Any]) -> np.ndarray:
    count = int(np.prod(spec["shape"]))
    a = np.frombuffer(mm, dtype=np.dtype(spec["dtype"]), count=count, offset=spec["offset"])
    return a.reshape(spec["shape"])
