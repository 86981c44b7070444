"""A process's own peak resident memory, as it reports it before it exits.

wait4's ru_maxrss (and RUSAGE_CHILDREN) will not do for a child of a large
benchmark process: Linux keeps the high-water mark of the memory the child
started in across exec (with vfork, the parent's own), so a small command
started from a process holding a million-track library reads as that large.
VmHWM in /proc/self/status belongs to the process's own address space only.

    python -c "$(measured('import numpy'))"          # prints 'VmHWM: ... kB' on stderr at exit
    python -c "$(ENRICH)" playlists --db ...            # the enrich command line, likewise
"""

from __future__ import annotations

REPORT = (
    "import atexit as _atexit, sys as _sys\n"
    "def _peak():\n"
    "    _sys.stderr.write('\\n' + next(l for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
    "    _sys.stderr.flush()\n"
    "_atexit.register(_peak)\n"
)

ENRICH_MAIN = "import sys\nsys.argv[0] = 'enrich'\nfrom enrich.__main__ import run\nrun()\n"


def measured(code: str) -> str:
    """``code`` for ``python -c``, reporting its peak RSS on stderr at exit."""
    return REPORT + code


ENRICH = measured(ENRICH_MAIN)


def peak_mb(stderr: str) -> float:
    """The peak RSS (MB) a ``measured`` process wrote last on its stderr."""
    if "VmHWM:" not in stderr:
        raise ValueError("the process did not report its peak RSS (did it exit through os._exit?)")
    return int(stderr.rsplit("VmHWM:", 1)[1].split()[0]) / 1024.0
