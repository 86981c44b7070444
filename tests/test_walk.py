"""Walking folders (hidden entries, links, loops, odd names) and planning what to read (pure)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from enrich.library.changes import Counts, Pending, compare, scanned_under, settle
from enrich.library.walk import Found, Walked, display, raw_name, resolve_roots, walk
from enrich.store.tracks import BadFile, FileState

EXTS = ("mp3", "flac")


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def names(walked: Walked, root: Path) -> list[str]:
    return [os.path.relpath(f.path, root) for f in walked.files]


def run(root: Path, **kwargs) -> Walked:
    return walk(resolve_roots([root]), extensions=EXTS, **kwargs)


def test_sorted_audio_only_hidden_skipped(tmp_path):
    for rel in ("b/2.mp3", "b/1.FLAC", "a.mp3", "cover.jpg", ".hidden.mp3", ".git/x.mp3", "c/.d/y.mp3", "c/z.flac"):
        touch(tmp_path / rel)
    walked = run(tmp_path)
    assert names(walked, tmp_path) == ["a.mp3", "b/1.FLAC", "b/2.mp3", "c/z.flac"]
    assert not walked.problems


def test_state_is_size_and_mtime(tmp_path):
    path = touch(tmp_path / "a.mp3", b"12345")
    os.utime(path, ns=(1_000_000_000, 1_500_000_000))
    assert run(tmp_path).files == [Found(str(path.resolve()), 5, 1_500_000_000)]


def test_links_loops_and_broken_links(tmp_path):
    root = tmp_path / "music"
    touch(root / "a/song.mp3")
    (root / "a/back").symlink_to(root)  # a loop back to the root
    (root / "loop.mp3").symlink_to(root / "loop.mp3")  # a link to itself
    (root / "gone.mp3").symlink_to(root / "nowhere.mp3")
    (root / "gone.jpg").symlink_to(root / "nowhere.jpg")  # not audio: nobody cares
    (root / "same.mp3").symlink_to(root / "a/song.mp3")
    walked = run(root)
    assert names(walked, root.resolve()) == ["a/song.mp3"]
    problems = {os.path.basename(p.path): p.reason for p in walked.problems}
    assert set(problems) == {"loop.mp3", "gone.mp3"}
    assert "loop" in problems["loop.mp3"] and "broken symbolic link" in problems["gone.mp3"]
    skipped = {os.path.basename(p.path): p.reason for p in walked.skipped}
    assert "already scanned" in skipped["back"] and "same file" in skipped["same.mp3"]


def test_links_leaving_the_roots_only_when_asked(tmp_path):
    outside = touch(tmp_path / "elsewhere/far.mp3").parent
    root = tmp_path / "music"
    touch(root / "near.mp3")
    (root / "far").symlink_to(outside)
    assert names(run(root), root) == ["near.mp3"]
    assert "outside" in run(root).skipped[0].reason
    assert names(run(root, leave_roots=True), root) == ["far/far.mp3", "near.mp3"]
    assert names(run(root, follow_symlinks=False), root) == ["near.mp3"]


def test_link_between_two_given_roots_is_inside(tmp_path):
    touch(tmp_path / "one/a.mp3")
    touch(tmp_path / "two/b.mp3")
    (tmp_path / "one/to-two").symlink_to(tmp_path / "two")
    walked = walk(resolve_roots([tmp_path / "one", tmp_path / "two"]), extensions=EXTS)
    assert [os.path.basename(f.path) for f in walked.files] == ["a.mp3", "b.mp3"]


def test_missing_root_is_a_problem_and_others_go_on(tmp_path):
    touch(tmp_path / "a.mp3")
    walked = walk(resolve_roots([tmp_path / "nope", tmp_path]), extensions=EXTS)
    assert [p.reason for p in walked.problems] == ["folder does not exist"]
    assert len(walked.files) == 1 and walked.roots == [str(tmp_path.resolve())]


def test_non_utf8_names(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9 \xff.mp3"
    with open(raw, "wb") as fh:
        fh.write(b"x")
    [found] = run(tmp_path).files
    assert display(found.path).endswith("/caf\\xe9 \\xff.mp3")
    assert raw_name(found.path) == raw and os.path.exists(os.fsdecode(raw_name(found.path)))
    assert raw_name(str(tmp_path / "café.mp3")) is None


def test_a_single_file_can_be_a_root(tmp_path):
    path = touch(tmp_path / "one.mp3")
    assert [f.path for f in walk(resolve_roots([path]), extensions=EXTS).files] == [str(path.resolve())]


# ---------------------------------------------------------------- plan (pure)

ROOT = "/music"


def walked_with(*files: tuple[str, int, int], unlisted=()) -> Walked:
    return Walked(roots=[ROOT], files=[Found(p, s, m) for p, s, m in files], unlisted=list(unlisted))


@dataclass
class Plan:
    """The scan's comparison held in lists, to test its rules one case at a time."""

    to_read: list[Found] = field(default_factory=list)  # new and changed, in walk order
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    reappeared: list[str] = field(default_factory=list)
    newly_missing: list[str] = field(default_factory=list)
    missing: int = 0
    still_unreadable: int = 0
    forget_unreadable: list[str] = field(default_factory=list)


def plan(walked: Walked, known: Mapping[str, FileState], bad: Mapping[str, BadFile]) -> Plan:
    counts, pending = Counts(), list[Pending]()
    events = list(compare(walked.files, sorted(known.items()), sorted(bad.items()),
                          scanned_under(walked.roots, walked.unlisted), counts, pending))
    events += settle(pending, {p.found.path for p in pending}, counts)
    result = Plan(new=counts.new, changed=counts.changed, unchanged=counts.unchanged, missing=counts.missing,
                  still_unreadable=counts.still_unreadable)
    for kind, item in events:
        if isinstance(item, Found):
            result.to_read.append(item)
        else:
            {"reappeared": result.reappeared, "missing": result.newly_missing,
             "forget": result.forget_unreadable}[kind].append(item)
    return result


@pytest.mark.parametrize("known, bad, expect", [
    ({}, {}, dict(new=1, changed=0, unchanged=0, read=1)),
    ({"/music/a.mp3": FileState(1, 1)}, {}, dict(new=0, changed=0, unchanged=1, read=0)),
    ({"/music/a.mp3": FileState(1, 2)}, {}, dict(new=0, changed=1, unchanged=0, read=1)),
    ({"/music/a.mp3": FileState(2, 1)}, {}, dict(new=0, changed=1, unchanged=0, read=1)),
    ({}, {"/music/a.mp3": BadFile(1, 1, "boom")}, dict(new=0, changed=0, unchanged=0, read=0, bad=1)),
    ({}, {"/music/a.mp3": BadFile(1, 9, "boom")}, dict(new=1, changed=0, unchanged=0, read=1, bad=0)),
    ({"/music/a.mp3": FileState(1, 1, missing=True)}, {}, dict(unchanged=1, read=0, reappeared=1)),
])
def test_plan_one_file(known, bad, expect):
    result = plan(walked_with(("/music/a.mp3", 1, 1)), known, bad)
    got = dict(new=result.new, changed=result.changed, unchanged=result.unchanged, read=len(result.to_read),
               bad=result.still_unreadable, reappeared=len(result.reappeared))
    assert {k: got[k] for k in expect} == expect


def test_plan_missing_only_under_scanned_and_listed_folders():
    known = {
        "/music/gone.mp3": FileState(1, 1),
        "/music/already-gone.mp3": FileState(1, 1, missing=True),
        "/music/locked/inside.mp3": FileState(1, 1),  # its folder could not be listed: unknown, not gone
        "/musical/other-root.mp3": FileState(1, 1),  # a sibling folder with a common prefix
        "/elsewhere/x.mp3": FileState(1, 1),
    }
    bad = {"/music/bad-gone.mp3": BadFile(1, 1, "x"), "/elsewhere/bad.mp3": BadFile(1, 1, "x")}
    result = plan(walked_with(unlisted=["/music/locked"]), known, bad)
    assert result.newly_missing == ["/music/gone.mp3"]
    assert result.missing == 2
    assert result.forget_unreadable == ["/music/bad-gone.mp3"]
