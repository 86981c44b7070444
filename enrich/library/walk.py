"""Finding the audio files under the folders the user names.

Hidden entries (a leading dot) are skipped. Symbolic links are followed when
asked, without looping (every folder is entered once, by device and inode) and
without leaving the given roots unless asked. The walk never raises for one bad
entry: it notes a :class:`Problem` and goes on. Folders it could not list are
remembered, so nobody concludes that the files under them are gone.

Files come in path order as SQLite orders the stored paths (by the readable
form, a folder as its name plus "/"), so the scan can compare them with the
stored rows as two sorted streams, holding neither side whole.
"""

from __future__ import annotations

import array
import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, cast


class Found(NamedTuple):
    """A regular audio file, with the state the incremental scan compares.

    A named tuple, not a dataclass: a rescan makes one per file and little else.
    """

    path: str  # absolute, as reached; undecodable bytes are surrogate-escaped
    size: int
    mtime_ns: int
    # Set for a file reached through a symbolic link: it may be a file found elsewhere under
    # its own name, which is only known when the walk ends (see Walk.settle).
    identity: tuple[int, int] | None = None


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


def sort_key(path: str) -> str:
    """A path as the stored paths sort in SQLite: the readable form (UTF-8 bytes order = code point order)."""
    return display(path)


def folder_key(path: str) -> str:
    """A folder sorts as its name plus "/": ``a/x.mp3`` comes after ``a.mp3`` and before ``a0.mp3``, as stored."""
    return display(path).rstrip("/") + "/"


def subtree(root: str, is_folder: bool) -> tuple[str, str]:
    """The stored paths a root covers, as ``low <= path < high`` (readable form)."""
    if not is_folder:
        return display(root), display(root) + "\0"
    low = folder_key(root)
    return low, low[:-1] + "0"  # "0" follows "/": every path that starts with low, and nothing else


Item = tuple[str, "os.stat_result | None", bool]  # (path, stat of a file or None for a folder, reached via a link)


class Walk:
    """One walk over ``roots``: :meth:`batches` yields files in path order, a folder at a time.

    Files reached twice (a link, a hard link) are kept once: a plain name is kept over a
    name through a link, else the first reached. Hard links are decided as they come (their
    identities are remembered); a file reached through a link is yielded with its identity
    set, and :meth:`settle`, once the walk is over, says which of those are kept.
    """

    BATCH = 256

    def __init__(self, roots: list[str], *, extensions: Iterable[str], follow_symlinks: bool = True,
                 leave_roots: bool = False, on_file: Callable[[int], None] | None = None,
                 result: Walked | None = None):
        self.wanted = {"." + e.lower().lstrip(".") for e in extensions}
        self.follow_symlinks, self.leave_roots, self.on_file = follow_symlinks, leave_roots, on_file
        self.result = result if result is not None else Walked(roots=[])
        self.seen_dirs: set[tuple[int, int]] = set()
        self.starts = self.open_roots(roots)
        # Every plain file's device and inode (16 bytes a file), read only when links were followed.
        self.devices, self.inodes = array.array("Q"), array.array("Q")
        self.hard_linked: set[tuple[int, int]] = set()  # plain files with several names, kept once
        self.through_links: dict[tuple[int, int], str] = {}  # first file reached through a link, by identity
        self.dropped: set[str] = set()  # files through a link found since under a plain name
        self.count = self.reported = 0

    def open_roots(self, roots: list[str]) -> list[tuple[str, os.stat_result]]:
        """The roots that exist, in path order, leaving out a root inside another."""
        starts = []
        for root in roots:
            try:
                st = os.stat(root)
            except FileNotFoundError:
                self.result.problems.append(Problem(root, "folder does not exist"))
                continue
            except OSError as exc:
                self.result.problems.append(Problem(root, f"cannot open: {exc.strerror or exc}"))
                continue
            self.result.roots.append(root)
            starts.append((root, st))
        # Every existing root first: a link from one root into another stays inside.
        self.seen_dirs.update((st.st_dev, st.st_ino) for _, st in starts if stat.S_ISDIR(st.st_mode))
        starts.sort(key=lambda s: folder_key(s[0]) if stat.S_ISDIR(s[1].st_mode) else sort_key(s[0]))
        kept: list[tuple[str, os.stat_result]] = []
        for root, st in starts:
            if not any(is_under(root, k) for k, _ in kept):
                kept.append((root, st))
        return kept

    def ranges(self) -> list[tuple[str, str]]:
        """The stored paths this walk covers, in order: one range per root walked."""
        return [subtree(r, stat.S_ISDIR(st.st_mode)) for r, st in self.starts]

    def inside(self, target: str) -> bool:
        return self.leave_roots or any(is_under(target, r) for r in self.result.roots)

    def enter_folder(self, path: str, st: os.stat_result) -> bool:
        """True the first time a folder is reached; a second time is a loop or a duplicate."""
        key = (st.st_dev, st.st_ino)
        if key in self.seen_dirs:
            self.result.skipped.append(Problem(path, "link to a folder already scanned (loop or duplicate)"))
            return False
        self.seen_dirs.add(key)
        return True

    def follow_link(self, path: str) -> Item | None:
        """What a symbolic link leads to, if it is to be walked: a folder or an audio file."""
        ext = os.path.splitext(path)[1].lower()
        try:
            st = os.stat(path)
        except OSError as exc:
            # A broken link to cover.jpg is no concern of ours; one that may have been audio or a folder is.
            if ext in self.wanted or not ext or exc.errno == errno.ELOOP:
                self.result.problems.append(link_problem(path, exc))
            return None
        if not self.inside(os.path.realpath(path)):
            self.result.skipped.append(
                Problem(path, "link leads outside the scanned folders (scan.leave_roots = false)"))
            return None
        if stat.S_ISDIR(st.st_mode):
            return (path, None, True) if self.enter_folder(path, st) else None
        if stat.S_ISREG(st.st_mode) and ext in self.wanted:
            return (path, st, True)
        return None

    def list_folder(self, folder: str, linked: bool) -> list[Item]:
        """The folder's audio files and sub-folders, in path order."""
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except FileNotFoundError:
            self.result.problems.append(Problem(folder, "folder vanished during scan"))
            self.result.unlisted.append(folder)
            return []
        except OSError as exc:
            self.result.problems.append(Problem(folder, f"cannot list folder: {exc.strerror or exc}"))
            self.result.unlisted.append(folder)
            return []
        found: list[tuple[str, Item]] = []
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                if entry.is_symlink():
                    if self.follow_symlinks:
                        item = self.follow_link(entry.path)
                        if item is not None:
                            found.append((display(name) + ("/" if item[1] is None else ""), item))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    if self.enter_folder(entry.path, st):
                        found.append((display(name) + "/", (entry.path, None, linked)))
                    continue
                dot = name.rfind(".")
                if dot < 0 or name[dot:].lower() not in self.wanted:
                    continue  # not audio: no stat needed (the type comes with the listing)
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted while we listed: it is simply not there
            except OSError as exc:
                self.result.problems.append(Problem(entry.path, f"cannot stat: {exc.strerror or exc}"))
                continue
            if stat.S_ISREG(st.st_mode):
                found.append((display(name) if not name.isascii() else name, (entry.path, st, linked)))
        found.sort(key=lambda kv: kv[0])
        return [item for _, item in found]

    def file(self, path: str, st: os.stat_result, linked: bool) -> Found | None:
        """The file to yield, or None when it is a second name of one kept."""
        identity = (st.st_dev, st.st_ino)
        if linked:
            if identity in self.hard_linked or identity in self.through_links:
                self.twice(path)
                return None
            self.through_links[identity] = path
            return Found(path, st.st_size, st.st_mtime_ns, identity)
        if st.st_nlink > 1:
            if identity in self.hard_linked:
                self.twice(path)
                return None
            self.hard_linked.add(identity)
        if self.follow_symlinks:
            self.devices.append(st.st_dev)
            self.inodes.append(st.st_ino)
            if self.through_links:
                first = self.through_links.get(identity)
                if first is not None:
                    self.dropped.add(first)  # a plain name wins over the name through a link
        return Found(path, st.st_size, st.st_mtime_ns)

    def twice(self, path: str) -> None:
        self.result.skipped.append(Problem(path, "same file as one found elsewhere in the scanned folders"))

    def batches(self) -> Iterator[list[Found]]:
        """Every audio file in path order (depth first, names sorted as stored), in lists of a folder or so."""
        batch: list[Found] = []
        for root, st in self.starts:
            stack: list[Item] = []
            if stat.S_ISDIR(st.st_mode):
                stack.append((root, None, False))
            elif stat.S_ISREG(st.st_mode) and os.path.splitext(root)[1].lower() in self.wanted:
                stack.append((root, st, False))
            while stack:
                path, file_st, linked = stack.pop()
                if file_st is None:
                    items = self.list_folder(path, linked)
                    # The files before the folder's first sub-folder come next: take them at once
                    # (an album folder holds only files) and stack the rest.
                    first_folder = next((i for i, item in enumerate(items) if item[1] is None), len(items))
                    stack.extend(reversed(items[first_folder:]))
                    files = cast("list[tuple[str, os.stat_result, bool]]", items[:first_folder])
                else:
                    files = [(path, file_st, linked)]
                for file_path, file_stat, file_linked in files:
                    found = self.file(file_path, file_stat, file_linked)
                    if found is not None:
                        batch.append(found)
                self.count += len(files)
                if len(batch) >= self.BATCH:
                    yield batch
                    batch = []
                    self.report()
        if batch:
            yield batch
        self.report(final=True)

    def report(self, final: bool = False) -> None:
        if self.on_file and (self.count - self.reported >= 500 or (final and self.count > self.reported)):
            self.on_file(self.count - self.reported)
            self.reported = self.count

    def settle(self) -> set[str]:
        """Once the walk is over: the files reached through a link that are kept (noting the others)."""
        pending = {identity: path for identity, path in self.through_links.items() if path not in self.dropped}
        if pending:  # a plain name reached before the link: look it up among every plain file
            for device, inode in zip(self.devices, self.inodes, strict=True):
                path = pending.pop((device, inode), None)
                if path is not None:
                    self.dropped.add(path)
        for path in sorted(self.dropped):
            self.twice(path)
        return {path for path in self.through_links.values() if path not in self.dropped}


def walk(
    roots: list[str],
    *,
    extensions: Iterable[str],
    follow_symlinks: bool = True,
    leave_roots: bool = False,
    on_file: Callable[[int], None] | None = None,
) -> Walked:
    """Every audio file under ``roots`` (already resolved) in path order, held in one list.

    The scan streams :meth:`Walk.batches` instead; this is for callers that want the list.
    """
    walking = Walk(roots, extensions=extensions, follow_symlinks=follow_symlinks, leave_roots=leave_roots,
                   on_file=on_file)
    files = [f for batch in walking.batches() for f in batch]
    kept = walking.settle()
    walking.result.files = [f._replace(identity=None) for f in files if f.identity is None or f.path in kept]
    return walking.result
