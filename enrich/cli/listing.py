"""Lists of failed or skipped items in a command's text report: the first few, then a pointer."""

from __future__ import annotations

from typing import Any

SHOWN = 50


def item_lines(title: str, items: list[dict[str, Any]], *, total: int | None = None, reason: str = "error",
               more: str = "--json lists all", shown: int = SHOWN) -> list[str]:
    """``title (N):`` then one ``  item: reason`` line each, at most ``shown`` of them."""
    total = len(items) if total is None else total
    if not total:
        return []
    lines = [f"{title} ({total}):"]
    lines += [f"  {i['item']}: {i[reason]}" for i in items[:shown]]
    if total > min(shown, len(items)):
        lines.append(f"  ... and {total - min(shown, len(items))} more ({more})")
    return lines
