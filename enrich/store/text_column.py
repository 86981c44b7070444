"""A column of texts packed as one UTF-8 blob and row offsets, decoded a row at a time.

The library view holds paths, artists and titles this way: a million tracks as
a million Python strings per column cost ~100 MB each, packed ~40 MB, and a
playlist reads a few hundred rows. The snapshot stores the same blob and
offsets, and maps them back.
"""

from __future__ import annotations

import itertools
import mmap
import os
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

TEXT_ENCODING = ("utf-8", "surrogatepass")  # lossless for any str SQLite handed us


def encode_texts(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 blob, n + 1 row offsets into it) of a column of texts."""
    if isinstance(texts, TextColumn):  # already packed: the same blob and offsets
        return np.frombuffer(texts.raw, dtype=np.uint8), texts.offsets
    encoded = [t.encode(*TEXT_ENCODING) for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def pack_texts(joined: str | None, lengths: np.ndarray) -> TextColumn | None:
    """A column from its texts run together (as ``group_concat(x, '')`` gives them) and each one's
    length in UTF-8 bytes; None if the lengths do not add up to the whole."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    blob = (joined or "").encode(*TEXT_ENCODING)
    if len(blob) != offsets[-1]:
        return None
    return TextColumn(blob, 0, offsets)


class FileReader:
    """Reads bytes at a position of an open file (the descriptor is closed with the reader)."""

    def __init__(self, fd: int):
        self.fd = fd
        weakref.finalize(self, os.close, fd)

    def read(self, size: int, at: int) -> bytes:
        return os.pread(self.fd, size, at)


class TextColumn(Sequence[str]):
    """A column of texts in a blob (a mapped file or bytes): rows are decoded one at a time, when asked for.

    With a ``reader`` (and where the offsets lie in the file), single rows are read
    with pread instead of through the mapping: the page cache maps a touched page's
    whole folio (up to megabytes), so a few hundred rows read through the mapping
    from all over a million-track library made the whole blob resident.
    """

    def __init__(self, mm: mmap.mmap | bytes, blob_at: int, offsets: np.ndarray, reader: FileReader | None = None,
                 offsets_at: int | None = None):
        self.mm = mm
        self.blob_at = blob_at  # where the column's blob starts in the file
        self.offsets = offsets
        self.raw = memoryview(mm)[blob_at:blob_at + int(offsets[-1])]
        self.reader, self.offsets_at = reader, offsets_at

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("text column index out of range")
        if self.reader is None or self.offsets_at is None:
            start, end = int(self.offsets[i]), int(self.offsets[i + 1])
            return bytes(self.raw[start:end]).decode(*TEXT_ENCODING)
        size = self.offsets.dtype.itemsize
        start, end = np.frombuffer(self.reader.read(2 * size, self.offsets_at + size * i), self.offsets.dtype).tolist()
        return self.reader.read(end - start, self.blob_at + start).decode(*TEXT_ENCODING)

    def __iter__(self) -> Iterator[str]:
        raw, bounds = self.raw, self.offsets.tolist()
        for start, end in itertools.pairwise(bounds):
            yield bytes(raw[start:end]).decode(*TEXT_ENCODING)

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The first row equal to ``value``: a byte search over the blob, not a decode of every row."""
        if not isinstance(value, str):  # Sequence.index says ValueError for anything absent
            raise ValueError(f"{value!r} is not in the column")
        stop = len(self) if stop is None else min(stop, len(self))
        needle = value.encode(*TEXT_ENCODING)
        lengths = np.diff(self.offsets[start:stop + 1])
        if not needle:
            empty = np.flatnonzero(lengths == 0)
            if len(empty):
                return start + int(empty[0])
            raise ValueError(f"{value!r} is not in the column")
        first, last = self.blob_at + int(self.offsets[start]), self.blob_at + int(self.offsets[stop])
        at = self.mm.find(needle, first, last)
        while at != -1:
            pos = at - self.blob_at
            row = int(np.searchsorted(self.offsets, pos, side="right")) - 1
            if int(self.offsets[row]) == pos and int(self.offsets[row + 1]) - pos == len(needle):
                return row
            at = self.mm.find(needle, at + 1, last)
        raise ValueError(f"{value!r} is not in the column")

