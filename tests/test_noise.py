"""What a nightly cron job mails: only our own lines.

Native decoders (libmpg123 here) printed straight to stderr past `-q`; playlist
files were made 0600, unreadable by a media server running as another user; a
full disk (here a real file size limit, RLIMIT_FSIZE) is one line.
"""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO, run_enrich


@pytest.fixture(scope="module")
def damaged_mp3(tmp_path_factory):
    """An MP3 with a stretch of garbage in the middle: libmpg123 resyncs, and says so on fd 2."""
    folder = tmp_path_factory.mktemp("noisy")
    signal_ = (np.random.default_rng(1).standard_normal(44100 * 6) * 0.1).astype("float32")
    good = folder / "good.mp3"
    sf.write(good, signal_, 44100, format="MP3")
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(2)
    for i in range(len(data) // 3, len(data) // 3 + 4000, 7):
        data[i] = int(rng.integers(0, 256))
    (folder / "damaged.mp3").write_bytes(bytes(data))
    probe = subprocess.run([sys.executable, "-c", f"import soundfile; soundfile.read({str(folder / 'damaged.mp3')!r})"],
                           capture_output=True, text=True)
    assert "Illegal Audio-MPEG-Header" in probe.stderr  # the decoder does talk: the check below means something
    return folder


@pytest.mark.parametrize("command", ["scan", "analyze"])
def test_decoder_messages_do_not_reach_stderr(tmp_path, damaged_mp3, command):
    done = run_enrich(command, "-q", "--db", str(tmp_path / "lib.db"), str(damaged_mp3), timeout=300)
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_playlist_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    script = ("import sys\nfrom enrich.playlists import m3u8\n"
              "m3u8.write([m3u8.Entry('/music/a.flac', 1.0, 'A', 'B')], sys.argv[1], 'Mix')\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "lists")], check=True, umask=umask,
                   env={**os.environ, "PYTHONPATH": str(REPO)})
    assert stat.S_IMODE((tmp_path / "lists" / "Mix.m3u8").stat().st_mode) == mode


def limited_to(size: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


LIBRARY = REPO / "fixtures" / "library"


def test_a_full_disk_while_opening_the_database_is_one_line(tmp_path):
    db = tmp_path / "lib.db"
    done = subprocess.run([sys.executable, "-m", "enrich", "scan", "--db", str(db), str(LIBRARY)],
                          preexec_fn=limited_to(60_000), capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1:] == [
        f"error: {db}: cannot write the database: the disk is full or failing (disk I/O error);"
        " point --db at another file or move this one away"]
    assert "Traceback" not in done.stderr



def test_the_fork_server_lets_go_of_the_output_while_it_is_still_importing():
    """`enrich analyze | tee log`: the pipe closes when enrich exits, not when the fork
    server, started at once and then left behind, has finished importing numpy and scipy."""
    script = ("import time\nfrom enrich.analysis import pool\n"
              "pool.start_fork_server()\nprint('started', flush=True)\n")
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.stdout.readline() == b"started\n"
    child.wait(timeout=60)
    exited = time.monotonic()
    assert child.stdout.read() == b"" and child.stderr.read() == b""  # EOF: every writer has let go
    held = time.monotonic() - exited
    # What the fork server takes to import the analysis code alone, for scale.
    probe = subprocess.run([sys.executable, "-X", "importtime", "-c", "import enrich.analysis.worker"],
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    imports_s = int(probe.stderr.strip().splitlines()[-1].split("|")[1]) / 1e6
    assert held < min(0.5, imports_s / 2), (held, imports_s, exited - started)
