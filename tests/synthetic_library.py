"""A synthetic library with known clusters, written into a real enrich database.

Each cluster has its own genre, tempo, key, energy and timbre centre and its
own artists; tracks scatter around their centre. The schema comes from the
store's migrations; rows go in with executemany (100,000 tracks in seconds).
Used by the playlist tests and by tests/bench/bench_playlists.py.

    python tests/synthetic_library.py OUT.db 100000   # build one by hand
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enrich.store.db import open_db
from enrich.store.library_view import camelot_index

# (genre, parent in the tree, tempo, key pitch class, mode, energy)
CLUSTERS = [
    ("deep house", "house", 122.0, 9, "minor", 0.62),
    ("techno", "electronic", 132.0, 2, "minor", 0.85),
    ("ambient", "electronic", 75.0, 0, "major", 0.15),
    ("indie rock", "alternative rock", 140.0, 4, "major", 0.72),
    ("bebop", "jazz", 180.0, 5, "major", 0.45),
    ("trip hop", "electronic", 90.0, 7, "minor", 0.35),
    ("punk", "rock", 170.0, 11, "major", 0.93),
    ("soul", "rhythm and blues", 100.0, 3, "major", 0.5),
    ("cool jazz", "jazz", 92.0, 10, "minor", 0.3),
]
TREE = {  # child -> parent for the genres above (the canonical tree agrees)
    "deep house": "house", "house": "electronic", "techno": "electronic", "ambient": "electronic",
    "trip hop": "electronic", "indie rock": "alternative rock", "alternative rock": "rock", "punk": "rock",
    "bebop": "jazz", "soul": "rhythm and blues", "cool jazz": "jazz",
}
VERSION_NOTES = [" (2011 Remaster)", " - Live", " (Radio Edit)", " (feat. Guest Singer)", " [Remastered]"]


@dataclass
class Synthetic:
    db: Path
    cluster: np.ndarray          # cluster of each track, in id order (ids are 1..n)
    paths: list[str]
    artists: list[str]
    titles: list[str]
    tempo: np.ndarray
    has_features: np.ndarray
    has_genres: np.ndarray


def build_library(
    db: Path,
    n: int,
    *,
    clusters: int = 6,
    dims: int = 16,
    seed: int = 0,
    no_features: float = 0.0,
    no_genres: float = 0.0,
    neither: float = 0.0,
    missing: float = 0.0,
    versions: float = 0.02,
    files_dir: Path | None = None,
    artists_per_cluster: int | None = None,
    tempo_alts: float = 0.0,
) -> Synthetic:
    """Write ``n`` tracks in ``clusters`` clusters to a new database at ``db``."""
    rng = np.random.default_rng(seed)
    db = Path(db)
    clusters = min(clusters, len(CLUSTERS))
    conn = asyncio.run(_migrate(db))
    cluster = rng.integers(0, clusters, n)
    centres = rng.normal(0.0, 1.5, (clusters, dims)).astype(np.float32)
    vectors = (centres[cluster] + rng.normal(0.0, 0.35, (n, dims))).astype("<f4")
    spec = [CLUSTERS[c] for c in range(clusters)]
    tempo = np.array([spec[c][2] for c in cluster]) * np.exp(rng.normal(0.0, 0.03, n))
    energy = np.clip(np.array([spec[c][5] for c in cluster]) + rng.normal(0.0, 0.05, n), 0.0, 1.0)
    loudness = -14.0 + 8.0 * energy + rng.normal(0.0, 1.0, n)
    shift = rng.choice([0, 0, 0, 7, 5], n)  # mostly the cluster's key, sometimes a fifth away
    key_pc = (np.array([spec[c][3] for c in cluster]) + shift) % 12
    # A share of tracks with a runner-up tempo at half or double (its own random stream: the rest is unchanged).
    alt_rng = np.random.default_rng([seed, 1])
    tempo_alt = np.where(alt_rng.random(n) < tempo_alts, tempo * alt_rng.choice([0.5, 2.0], n), np.nan)
    duration = rng.uniform(150.0, 420.0, n)
    odd = rng.random(n)
    duration[odd < 0.01] = rng.uniform(10.0, 50.0, (odd < 0.01).sum())  # jingles
    duration[odd > 0.995] = rng.uniform(1000.0, 2400.0, (odd > 0.995).sum())  # DJ mixes

    per_cluster = artists_per_cluster or max(3, n // (clusters * 8))
    artist_no = rng.integers(0, per_cluster, n)
    artists = [f"{spec[c][0].title()} Artist {a}" for c, a in zip(cluster, artist_no, strict=False)]
    titles = [f"Song {i}" for i in range(1, n + 1)]
    # Some tracks are other versions of an earlier song by the same artist.
    # (The latest earlier track of each (cluster, artist) is remembered as we go: one pass, not n searches.)
    is_version = rng.random(n) < versions
    latest: dict[tuple[int, int], int] = {}
    for i, key in enumerate(zip(cluster.tolist(), artist_no.tolist(), strict=True)):
        earlier = latest.get(key)
        latest[key] = i
        if is_version[i] and earlier is not None:
            titles[i] = titles[earlier].split(" (")[0].split(" - ")[0].split(" [")[0] + \
                VERSION_NOTES[int(rng.integers(len(VERSION_NOTES)))]
    base = Path(files_dir) if files_dir else Path("/synthetic/music")
    paths = [str(base / f"{spec[c][0]}" / f"{i:06d} {t.replace('/', ' ')}.flac")
             for i, (c, t) in enumerate(zip(cluster, titles, strict=False), 1)]

    roll = rng.random(n)
    without_both = roll < neither
    without_features = without_both | ((roll >= neither) & (roll < neither + no_features))
    without_genres = without_both | ((roll >= neither + no_features) & (roll < neither + no_features + no_genres))
    is_missing = rng.random(n) < missing

    conn.executemany(
        "INSERT INTO tracks (id, path, size, mtime_ns, format, duration, artist, title, album, scanned_at, missing)"
        " VALUES (?, ?, 1000, 0, 'FLAC', ?, ?, ?, 'Album', 0, ?)",
        [(i, p, float(d), a, t, int(m)) for i, (p, d, a, t, m) in
         enumerate(zip(paths, duration, artists, titles, is_missing, strict=False), 1)],
    )
    names = [f"timbre_{j}" for j in range(dims)]
    conn.execute("INSERT INTO feature_sets (version, names) VALUES (1, ?)", (json.dumps(names),))
    conn.executemany(
        "INSERT INTO features (track_id, version, analyzed_at, file_size, file_mtime_ns, tempo, key_pc, mode,"
        " camelot, loudness, energy, vector, tempo_alt) VALUES (?, 1, 0, 1000, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(int(i) + 1, float(tempo[i]), int(key_pc[i]), spec[cluster[i]][4],
          camelot_code(int(key_pc[i]), spec[cluster[i]][4]), float(loudness[i]), float(energy[i]),
          vectors[i].tobytes(), None if np.isnan(tempo_alt[i]) else float(tempo_alt[i]))
         for i in np.flatnonzero(~without_features)],
    )
    genre_rows = []
    for i in np.flatnonzero(~without_genres):
        genre, parent = spec[cluster[i]][0], spec[cluster[i]][1]
        genre_rows.append((int(i) + 1, 0, genre, 0.9, "track"))
        genre_rows.append((int(i) + 1, 1, parent, 0.5, "artist"))
    conn.executemany("INSERT INTO track_genres (track_id, rank, genre, score, level) VALUES (?, ?, ?, ?, ?)",
                     genre_rows)
    conn.execute("UPDATE library_generation SET generation = generation + 1")  # as the writer would
    conn.commit()
    conn.close()
    if files_dir:
        for p, m in zip(paths, is_missing, strict=False):
            if not m:
                Path(p).parent.mkdir(parents=True, exist_ok=True)
                Path(p).touch()
    return Synthetic(db, cluster, paths, artists, titles, tempo, ~without_features, ~without_genres)


def camelot_code(key_pc: int, mode: str) -> str:
    index = camelot_index(None, key_pc, mode)
    return f"{index // 2 + 1}{'AB'[index % 2]}"


async def _migrate(db: Path) -> sqlite3.Connection:
    conn = await open_db(db)
    await conn.close()
    plain = sqlite3.connect(db)
    plain.execute("PRAGMA synchronous = OFF")
    return plain


if __name__ == "__main__":
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    build_library(out, count)
    print(f"{out}: {count} synthetic tracks")
