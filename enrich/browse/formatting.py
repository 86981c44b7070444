"""`--format` lines: Python format specs over a record's fields, with unknown values shown as '-'."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

from enrich.errors import UsageError

# fill/align/sign/width of a format spec: kept for '-' so columns stay aligned
_LAYOUT = re.compile(r"^(?P<layout>(?:.?[<>=^])?[+\- ]?z?#?0?\d*)")


class FormatError(UsageError):
    """A --format string that names an unknown field or has a bad spec."""


class LineFormat(string.Formatter):
    def __init__(self, template: str, fields: Iterable[str]) -> None:
        super().__init__()
        self.template = template
        allowed = set(fields)
        try:
            named = [name for _, name, _, _ in self.parse(template) if name is not None]
        except ValueError as exc:
            raise FormatError(f"bad --format {template!r}: {exc}") from None
        for name in named:
            base = re.split(r"[.\[]", name, maxsplit=1)[0]
            if not base or base not in allowed:
                raise FormatError(f"unknown field {{{name}}} in --format; fields: {', '.join(sorted(allowed))}")

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return format(UNKNOWN, format_spec)
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        try:
            return format(value, format_spec)
        except (ValueError, TypeError) as exc:
            raise FormatError(f"--format: {value!r} cannot be shown with ':{format_spec}' ({exc})") from None

    def line(self, data: Mapping[str, Any]) -> str:
        # str.format_map runs in C; unknown values and lists are wrapped to look as format_field shows them.
        values = {k: UNKNOWN if v is None else ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v
                  for k, v in data.items()}
        try:
            return self.template.format_map(values)
        except (ValueError, TypeError):
            return self.vformat(self.template, (), data)  # the slow path names the value at fault


class Unknown:
    """A value that is not known: '-' in the width the spec asks for."""

    def __format__(self, spec: str) -> str:
        match = _LAYOUT.match(spec)
        layout = match.group("layout") if match else ""
        return format("-", layout.lstrip("+- ").replace("0", "") if layout else "")


UNKNOWN = Unknown()
