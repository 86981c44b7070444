"""Lines several commands' text reports share: lists of failed or skipped items (the first few,
then a pointer), and the rebuilt playlists snapshot."""

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


def snapshot_line(snapshot: dict[str, Any]) -> str:
    """What `genres` and `analyze` say when they rebuilt the playlists' snapshot at their end."""
    return (f"playlists snapshot rebuilt for the next playlist: {snapshot['tracks']:,} tracks "
            f"in {snapshot['seconds']:.1f}s")
