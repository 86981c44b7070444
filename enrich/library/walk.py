"""Finding the audio files under the folders the user names.

Hidden entries (a leading dot) are skipped. Symbolic links are followed when
asked, without looping (every folder is entered once, by device and inode) and
without leaving the given roots unless asked. The walk never raises for one bad
entry: it notes a :class:`Problem` and goes on. Folders it could not list are
remembered, so nobody concludes that the files under them are gone.
"""

from __future__ import annotations

import array
import errno
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, cast


class Found(NamedTuple):
    """A regular audio file, with the state the incremental scan compares.

    A named tuple, not a dataclass: a rescan makes one per file and little else.
    """

    path: str  # absolute, as reached; undecodable bytes are surrogate-escaped
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    reason: str


@dataclass
class Walked:
    roots: list[str]  # the roots that exist, resolved
    files: list[Found] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # errors: reported as failed items
    skipped: list[Problem] = field(default_factory=list)  # deliberate skips: noted, not errors
    unlisted: list[str] = field(default_factory=list)  # folders whose content is unknown


def display(path: str) -> str:
    """The path as text that SQLite and JSON can hold: bytes that are not UTF-8 become \\xNN."""
    if path.isascii():
        return path  # the common case, and cheap: a rescan calls this for every file
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def raw_name(path: str) -> bytes | None:
    """The path's bytes when they are not valid UTF-8 (needed to reopen the file), else None."""
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    return None


def is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_roots(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Absolute, link-free, de-duplicated roots in the order given."""
    roots: list[str] = []
    for p in paths:
        r = os.path.realpath(os.path.abspath(os.fspath(p)))
        if r not in roots:
            roots.append(r)
    return roots


def link_problem(path: str, exc: OSError) -> Problem:
    if exc.errno == errno.ELOOP:
        return Problem(path, "symbolic link loop (the link points back to itself)")
    if isinstance(exc, FileNotFoundError):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return Problem(path, f"broken symbolic link (points to {display(target)}, which does not exist)")
    return Problem(path, f"cannot follow symbolic link: {exc.strerror or exc}")


def walk(
    roots: list[str],
    *,
    extensions: Iterable[str],
    follow_symlinks: bool = True,
    leave_roots: bool = False,
    on_file: Callable[[int], None] | None = None,
) -> Walked:
    """Every audio file under ``roots`` (already resolved), depth-first in name order.

    A file reached twice (a link, a hard link) is kept once, under its path
    without links when it has one.
    """
    wanted = {"." + e.lower().lstrip(".") for e in extensions}
    result = Walked(roots=[])
    seen_dirs: set[tuple[int, int]] = set()
    # Every file in walk order, as a compact record (a stat result costs ~0.7 KB a file: at
    # 100,000 files that was most of a scan's memory), with its device and inode in two
    # arrays (16 bytes). A file can be reached twice only if one way goes through a link
    # or it has several hard links: the indexes of those are noted in ``twice``.
    candidates: list[Found] = []
    devices, inodes = array.array("Q"), array.array("Q")
    twice: list[int] = []
    reached_by_link: set[int] = set()

    def inside(target: str) -> bool:
        return leave_roots or any(is_under(target, r) for r in result.roots)

    reported = 0

    def note_files(files: list[tuple[str, os.stat_result, bool]]) -> None:
        nonlocal reported
        for path, st, linked in files:
            if linked or st.st_nlink > 1:
                twice.append(len(candidates))
                if linked:
                    reached_by_link.add(len(candidates))
            candidates.append(Found(path, st.st_size, st.st_mtime_ns))
            devices.append(st.st_dev)
            inodes.append(st.st_ino)
        if on_file and len(candidates) - reported >= 500:
            on_file(len(candidates) - reported)
            reported = len(candidates)

    def enter_folder(path: str, st: os.stat_result) -> bool:
        """True the first time a folder is reached; a second time is a loop or a duplicate."""
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            result.skipped.append(Problem(path, "link to a folder already scanned (loop or duplicate)"))
            return False
        seen_dirs.add(key)
        return True

    def follow_link(path: str) -> tuple[str, os.stat_result | None, bool] | None:
        """What a symbolic link leads to, if it is to be walked: a folder or an audio file."""
        ext = os.path.splitext(path)[1].lower()
        try:
            st = os.stat(path)
        except OSError as exc:
            # A broken link to cover.jpg is no concern of ours; one that may have been audio or a folder is.
            if ext in wanted or not ext or exc.errno == errno.ELOOP:
                result.problems.append(link_problem(path, exc))
            return None
        if not inside(os.path.realpath(path)):
            result.skipped.append(Problem(path, "link leads outside the scanned folders (scan.leave_roots = false)"))
            return None
        if stat.S_ISDIR(st.st_mode):
            return (path, None, True) if enter_folder(path, st) else None
        if stat.S_ISREG(st.st_mode) and ext in wanted:
            return (path, st, True)
        return None

    def list_folder(folder: str, linked: bool) -> list[tuple[str, os.stat_result | None, bool]]:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except FileNotFoundError:
            result.problems.append(Problem(folder, "folder vanished during scan"))
            result.unlisted.append(folder)
            return []
        except OSError as exc:
            result.problems.append(Problem(folder, f"cannot list folder: {exc.strerror or exc}"))
            result.unlisted.append(folder)
            return []
        found = []
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                if entry.is_symlink():
                    if follow_symlinks:
                        item = follow_link(entry.path)
                        if item is not None:
                            found.append(item)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    if enter_folder(entry.path, st):
                        found.append((entry.path, None, linked))
                    continue
                dot = name.rfind(".")
                if dot < 0 or name[dot:].lower() not in wanted:
                    continue  # not audio: no stat needed (the type comes with the listing)
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted while we listed: it is simply not there
            except OSError as exc:
                result.problems.append(Problem(entry.path, f"cannot stat: {exc.strerror or exc}"))
                continue
            if stat.S_ISREG(st.st_mode):
                found.append((entry.path, st, linked))
        return found

    # Every existing root first: a link from one root into another stays inside.
    starts = []
    for root in roots:
        try:
            st = os.stat(root)
        except FileNotFoundError:
            result.problems.append(Problem(root, "folder does not exist"))
            continue
        except OSError as exc:
            result.problems.append(Problem(root, f"cannot open: {exc.strerror or exc}"))
            continue
        result.roots.append(root)
        starts.append((root, st))
    # The stack holds (path, stat or None for a folder to list, linked), popped in name order.
    stack: list[tuple[str, os.stat_result | None, bool]] = []
    for root, st in starts:
        if stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue  # a root inside another root
            seen_dirs.add((st.st_dev, st.st_ino))
            stack.append((root, None, False))
        elif stat.S_ISREG(st.st_mode) and os.path.splitext(root)[1].lower() in wanted:
            note_files([(root, st, False)])
        while stack:
            path, file_st, linked = stack.pop()
            if file_st is not None:
                note_files([(path, file_st, linked)])
                continue
            found = list_folder(path, linked)
            # The files before the folder's first sub-folder come next in walk order: take them
            # at once (an album folder holds only files) and stack the rest.
            first_folder = next((i for i, item in enumerate(found) if item[1] is None), len(found))
            note_files(cast("list[tuple[str, os.stat_result, bool]]", found[:first_folder]))  # files only
            stack.extend(reversed(found[first_folder:]))

    # Keep each file once: the first path without a link if there is one, else the first.
    # Only links and hard links can reach a file twice; without them, skip the bookkeeping.
    if not twice:
        result.files = candidates
    else:
        suspects = {(devices[i], inodes[i]) for i in twice}
        chosen: dict[tuple[int, int], int] = {}  # (device, inode) -> index kept
        reached: set[int] = set()  # every index whose file is a suspect
        for i in range(len(candidates)):
            key = (devices[i], inodes[i])
            if key not in suspects:
                continue
            reached.add(i)
            j = chosen.get(key)
            if j is None or (j in reached_by_link and i not in reached_by_link):
                chosen[key] = i
        drop = reached - set(chosen.values())
        for i, file in enumerate(candidates):
            if i in drop:
                result.skipped.append(Problem(file.path, "same file as one found elsewhere in the scanned folders"))
            else:
                result.files.append(file)
    if on_file and len(candidates) > reported:
        on_file(len(candidates) - reported)
    return result
