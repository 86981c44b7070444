"""`--auto N`: N playlists covering the library, one per cluster of sound and genre.

k-means (seeded k-means++ start, a fixed number of Lloyd steps) over the
standardised sound features next to a one-hot of each track's root genre.
Each cluster is named from its dominant genre and its tempo and energy.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from enrich.playlists.similarity import SoundSpace, root_of
from enrich.store.library_view import LibraryView

INIT_SAMPLE = 20000  # rows k-means++ picks its start from: enough to find every big cluster


def cluster_matrix(view: LibraryView, space: SoundSpace, parents: dict[str, str],
                   weight_sound: float, weight_genre: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(rows, usable mask, root names): sound and root-genre parts scaled to their weights."""
    roots = [root_of(g, parents) for g in view.genre_names]
    root_names = sorted(set(roots))
    root_index = np.array([root_names.index(r) for r in roots], dtype=np.int64)
    top = view.genre_ids[:, 0]
    tagged = top >= 0
    onehot = np.zeros((len(view), len(root_names)), dtype=np.float32)
    if tagged.any():
        onehot[np.flatnonzero(tagged), root_index[top[tagged]]] = 1.0
    sound = space.z * np.float32(np.sqrt(max(weight_sound, 0.0) / space.total_weight))
    genre = onehot * np.float32(np.sqrt(max(weight_genre, 0.0)))
    return np.concatenate([sound, genre], axis=1), space.has | tagged, root_names


def kmeans(x: np.ndarray, k: int, iterations: int, rng: np.random.Generator,
           restarts: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centroids) of ``x`` in ``k`` clusters; deterministic for a given rng.

    The start is the best of ``restarts`` k-means runs on a sample (a bad
    k-means++ start can merge two clusters for good); the result is refined on all rows.
    """
    n = len(x)
    k = max(1, min(k, n))
    sample = x[rng.choice(n, size=INIT_SAMPLE, replace=False)] if n > INIT_SAMPLE else x
    best, best_inertia = None, np.inf
    for _ in range(max(1, restarts)):
        _, centroids, inertia = lloyd(sample, plus_plus(sample, k, rng), iterations)
        if inertia < best_inertia:
            best, best_inertia = centroids, inertia
    assert best is not None  # at least one restart ran
    labels, centroids, _ = lloyd(x, best, iterations if sample is x else max(2, iterations // 3))
    return labels, centroids


def plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ start: each next centre drawn with probability proportional to its squared distance."""
    centroids = [x[rng.integers(len(x))]]
    nearest = ((x - centroids[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = float(nearest.sum())
        pick = rng.choice(len(x), p=nearest / total) if total > 0 else rng.integers(len(x))
        centroids.append(x[pick])
        nearest = np.minimum(nearest, ((x - x[pick]) ** 2).sum(axis=1))
    return np.array(centroids, dtype=np.float32)


def lloyd(x: np.ndarray, centroids: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels, centroids, inertia) after at most ``iterations`` Lloyd steps."""
    c = centroids.copy()
    k = len(c)
    sq = np.einsum("ij,ij->i", x, x)
    labels = np.full(len(x), -1, dtype=np.int64)
    dist = np.zeros((len(x), k), dtype=np.float32)
    for _ in range(max(1, iterations)):
        dist = sq[:, None] - 2.0 * (x @ c.T) + np.einsum("ij,ij->i", c, c)[None, :]
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        filled = counts > 0
        for j in range(x.shape[1]):  # per-column sums per cluster: bincount beats np.add.at by far
            column = np.bincount(labels, weights=x[:, j], minlength=k)
            c[filled, j] = column[filled] / counts[filled]
    inertia = float(np.maximum(dist[np.arange(len(x)), labels], 0).sum())
    return labels, c, inertia


def describe_cluster(view: LibraryView, members: np.ndarray, parents: dict[str, str],
                     energy_cuts: tuple[float, float]) -> str:
    """E.g. 'Energetic rock, 128 BPM', 'Calm ambient, 80 BPM', 'Mix, 120 BPM'."""
    tops = view.genre_ids[members, 0]
    tops = tops[tops >= 0]
    genre = ""
    if len(tops):
        counts = Counter(tops.tolist())
        best, n = counts.most_common(1)[0]
        genre = view.genre_names[best]
        if n < 0.4 * len(tops):  # no single genre leads: name the family instead
            roots = Counter(root_of(view.genre_names[g], parents) for g in tops.tolist())
            genre = roots.most_common(1)[0][0]
    energy = view.energy[members]
    energy = energy[np.isfinite(energy)]
    mood = ""
    if len(energy):
        median = float(np.median(energy))
        mood = "Calm" if median < energy_cuts[0] else "Energetic" if median > energy_cuts[1] else ""
    tempo = view.tempo[members]
    tempo = tempo[np.isfinite(tempo) & (tempo > 0)]
    name = f"{mood} {genre}".strip() if genre else (f"{mood} mix".strip() if mood else "Mix")
    name = name[0].upper() + name[1:]
    if len(tempo):
        name += f", {round(float(np.median(tempo)))} BPM"
    return name


def distinct_names(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    result = []
    for name in names:
        seen[name] += 1
        result.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return result
