"""Writing listings as they are read: text lines, one JSON array, CSV, paths.

Rows go out as they come, so the first line appears at once and memory stays
flat; a reader that stops early (`| head`) ends the command quietly.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any


@contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """`enrich ls | head`: when the reader goes away, stop without a traceback."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # flushing at exit must not fail again
        sys.exit(0)


def lines(out: IO[str], rows: Iterable[Any], render: Callable[[Any], str]) -> int:
    count = 0
    for row in rows:
        out.write(render(row) + "\n")
        count += 1
    return count


def json_array(out: IO[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """One JSON document (an array), written element by element."""
    out.write("[")
    count = 0
    for row in rows:
        out.write(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False, default=str))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def json_lines(out: IO[str], rows: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


def csv_rows(out: IO[str], rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
        count += 1
    return count


def cell(value: Any) -> Any:
    """A CSV cell: lists joined with '; ', None empty, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value
