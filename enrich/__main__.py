"""`python -m enrich`, and the `enrich` command (pyproject's console script)."""

import contextlib
import gc
import logging
import os
import signal
import sys

INTERRUPTED = 130


def interrupted_early(signum: int, frame: object) -> None:
    # Ctrl-C while Python is still importing the command line: nothing has started, nothing to save.
    os.write(2, b"error: interrupted; nothing was started\n")
    os._exit(INTERRUPTED)


def run() -> None:
    signal.signal(signal.SIGINT, interrupted_early)  # the command line takes Ctrl-C over once loaded
    from enrich.cli import main

    try:
        main()
    except SystemExit as exc:
        if exc.code != INTERRUPTED:
            raise
        # Everything is saved by now. End at once, with 130: exit handlers would wait
        # for the analysis fork server to finish importing before they see its
        # children end (seconds), and a Ctrl-C that landed while an extension module
        # was starting up leaves CPython bent on ending by SIGINT, not with our code.
        # Children see their pipes close and leave.
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(INTERRUPTED)
    finally:
        # The process ends here. The interpreter's exit would run one last full
        # collection over every object it made (50-90 ms after a genres run), for
        # memory the process hands back whole: park them where the collector does not look.
        gc.freeze()


if __name__ == "__main__":
    run()
