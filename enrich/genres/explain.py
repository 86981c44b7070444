"""`enrich genres --explain`: why a track has its genres, as readable lines (pure)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts)) if ts else "-"


def explain_lines(explanation: dict[str, Any]) -> list[str]:
    """``explanation``: track (artist, title, album, path), genres (stored rows), state."""
    track = explanation["track"]
    name = f"{track.get('artist') or '?'} - {track.get('title') or '?'}"
    lines = [f"{name}  ({track.get('album') or 'no album'})", f"  file: {track['path']}"]
    state = explanation.get("state")
    if state:
        lines.append(f"  enriched {when(state.get('enriched_at'))}; status {state.get('status')}"
                     + (f"; classifier asked: {state['classifier']}" if state.get("classifier") else ""))
    genres = explanation.get("genres") or []
    if not genres:
        lines.append("  no genres stored" + ("" if state else " (not enriched yet: run `enrich genres`)"))
    for row in genres:
        lines.append(f"  {row['rank'] + 1}. {row['genre']}  score {row['score']:.2f}  from {row['level']} evidence")
        by_source = defaultdict(list)
        for vote in row["provenance"]:
            via = f" via {vote['via']}" if vote.get("via") else ""
            by_source[vote["source"]].append(f"\"{vote['raw']}\" ({vote['weight']:g}{via})")
        for source, votes in sorted(by_source.items()):
            lines.append(f"       {source}: " + ", ".join(votes))
    dropped = (state or {}).get("dropped") or []
    if dropped:
        lines.append("  tags not used:")
        for item in dropped:
            lines.append(f"       \"{item['raw']}\" ({item['source']}, {item['level']}): {item['reason']}")
    return lines
