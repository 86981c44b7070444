"""Progress on stderr: a bar redrawn in place on a terminal, plain lines under cron."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys

import pytest

from enrich.cli.progress import PlainProgress, TerminalProgress, clock_text
from fixtures.generate import generate_bulk
from tests.conftest import REPO


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_clock_text():
    assert [clock_text(s) for s in (0, 59, 61, 3600 + 62)] == ["0:00", "0:59", "1:01", "1:01:02"]


def test_terminal_bar_shows_share_rate_and_eta_and_redraws_in_place():
    out, clock = io.StringIO(), Clock()
    bar = TerminalProgress(out, clock=clock)
    bar.start("reading", 100)
    clock.now = 10.0
    bar.advance(25)
    frame = out.getvalue().split("\r")[-1]
    assert "[#######---------------------]" in frame
    assert "reading: 25/100 (25%) 2.5/s ETA 0:30" in frame
    clock.now = 10.05
    bar.advance(1)  # within 0.1 s of the last draw: not redrawn
    assert out.getvalue().count("\r") == 2
    bar.finish()
    assert out.getvalue().endswith("\n") and "26/100" in out.getvalue().split("\r")[-1]


def test_terminal_bar_clears_itself_for_a_log_line():
    out, clock = io.StringIO(), Clock()
    bar = TerminalProgress(out, clock=clock)
    bar.start("genres", None)
    bar.clear()
    assert out.getvalue().endswith("\r\x1b[K")


def test_plain_lines_come_every_interval_not_every_item():
    out, clock = io.StringIO(), Clock()
    plain = PlainProgress(out, every=10.0, clock=clock)
    plain.start("reading", 1000)
    for i in range(1000):
        clock.now = i * 0.025  # 25 s in all
        plain.advance()
    plain.finish()
    lines = out.getvalue().splitlines()
    assert 3 <= len(lines) <= 5  # start, every 10 s, end: not one per item
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[-1].startswith("reading: 1000/1000 (100%)")


@pytest.mark.slow
def test_a_real_terminal_gets_the_bar_and_a_pipe_gets_plain_lines(tmp_path):
    generate_bulk(tmp_path / "music", 40, seconds=0.2)
    args = [sys.executable, "-m", "enrich", "scan", str(tmp_path / "music")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    piped = subprocess.run([*args, "--db", str(tmp_path / "a.db")], capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0 and "\r" not in piped.stderr and "reading: 40/40 (100%)" in piped.stderr

    leader, follower = pty.openpty()
    proc = subprocess.Popen([*args, "--db", str(tmp_path / "b.db")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(60)
    os.close(leader)
    assert proc.returncode == 0
    assert b"\r\x1b[K[" in seen and b"reading: 40/40 (100%)" in seen
