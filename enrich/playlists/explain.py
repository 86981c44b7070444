"""A built playlist as plain data: per track its score, tempo, key and why it was chosen."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from enrich.playlists.listening import describe as describe_affinity
from enrich.store.library_view import LibraryView

if TYPE_CHECKING:
    from enrich.playlists.build import Playlist


def camelot_code(index: int) -> str | None:
    return f"{index // 2 + 1}{'AB'[index % 2]}" if index >= 0 else None


def number(value: float | np.floating[Any], digits: int = 3) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def why(view: LibraryView, playlist: Playlist, row: int) -> str:
    if row in playlist.seed_why:
        return playlist.seed_why[row]
    if row in playlist.seeds:
        return "seed" if playlist.kind != "path" or row == playlist.seeds[0] else "end seed"
    s = playlist.scores
    parts = []
    if np.isfinite(s.sound[row]):
        parts.append(f"sound {s.sound[row]:.2f}")
    if np.isfinite(s.key[row]):
        parts.append(f"key {s.key[row]:.2f}")
    if np.isfinite(s.genre[row]):
        top = view.genre_ids[row, 0]
        parts.append(f"genre {s.genre[row]:.2f}" + (f" ({view.genre_names[top]})" if top >= 0 else ""))
    if playlist.affinity is not None:
        parts.append(describe_affinity(playlist.affinity, row))
    if not np.isfinite(s.sound[row]) and not view.has_features[row]:
        parts.append("no features: by genre")
    return ", ".join(parts) or "closest left"


def playlist_data(view: LibraryView, playlist: Playlist, file: str | None) -> dict[str, Any]:
    tracks = []
    for position, row in enumerate(playlist.rows, 1):
        tracks.append({
            "position": position,
            "path": view.paths[row],
            "artist": view.artists[row],
            "title": view.titles[row],
            "duration": number(view.duration[row], 1),
            "score": number(playlist.scores.total[row]) if np.isfinite(playlist.scores.total[row]) else None,
            "tempo": number(view.tempo[row], 1),
            "key": camelot_code(int(view.camelot[row])),
            "energy": number(view.energy[row]),
            "why": why(view, playlist, row),
        })
    seconds = float(np.nansum(view.duration[playlist.rows])) if playlist.rows else 0.0
    return {
        "name": playlist.name,
        "kind": playlist.kind,
        "file": file,
        "tracks": tracks,
        "count": len(tracks),
        "minutes": round(seconds / 60, 1),
        "notes": playlist.notes,
        "excluded": dict(playlist.excluded),
    }
