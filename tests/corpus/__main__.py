"""Build the evaluation corpus: python -m tests.corpus [--out DIR] [--workers 2] [--slice]."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from tests.corpus import GENERATOR_VERSION
from tests.corpus.build import default_folder, publish
from tests.corpus.plan import full_plan, slice_plan


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the pool, which ends its workers


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="corpus folder (default: $ENRICH_CORPUS_DIR "
                        "or ~/.cache/enrich/test-corpus/v<generator>)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slice", action="store_true", help="only the default test run's small slice")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="only the full plan's clips up to this length (a quicker first corpus)")
    parser.add_argument("--reuse", type=Path, action="append", default=[],
                        help="a folder of already rendered clips of this generator version to link from")
    args = parser.parse_args()
    folder = args.out or default_folder()
    specs = slice_plan() if args.slice else full_plan()
    if args.max_seconds is not None:
        specs = [s for s in specs if s.seconds <= args.max_seconds]
    started = time.monotonic()

    def progress(done: int, total: int, clip_id: str, elapsed: float) -> None:
        if done == total or done % 10 == 0:
            print(f"  {done}/{total} clips ({clip_id}), {elapsed:.0f} s", file=sys.stderr, flush=True)

    path = publish(folder, specs, args.workers, progress, reuse=tuple(args.reuse))
    audio = sum(s.seconds for s in specs)
    print(f"corpus generator {GENERATOR_VERSION}: {len(specs)} clips, {audio / 60:.0f} min of audio, "
          f"{path} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
