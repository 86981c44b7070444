"""A flowing order: from the seed, small tempo, key, energy and sound steps.

The cost of playing b after a is a weighted sum of the tempo jump, the key
clash on the Camelot wheel, the energy jump and the change of sound; with a
direction (energy or tempo rising or falling) a step the wrong way costs extra,
which makes the cost asymmetric. A greedy nearest-next path from the start is
then improved by 2-opt (segment reversals, evaluated all at once with numpy)
while keeping artists apart. In path mode the last track is fixed too.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from enrich.playlists.similarity import CAMELOT, tempo_distance

# Steps that count as one unit of cost: an 8% tempo change, 0.15 of energy.
TEMPO_STEP = float(np.log2(1.08))
ENERGY_STEP = 0.15
UNKNOWN = 0.5  # cost of a step whose size is unknown (a track without features)


@dataclass(frozen=True)
class Flow:
    tempo: float = 1.0
    key: float = 0.5
    energy: float = 1.0
    sound: float = 0.3
    direction: float = 2.0


def jump(a: np.ndarray, step: float) -> np.ndarray:
    """Pairwise |b - a| in steps, growing faster than linearly so big jumps are avoided."""
    d = np.abs(a[None, :] - a[:, None]) / step
    d = d + 0.5 * d * d
    return np.where(np.isnan(d), UNKNOWN, d)


def transition_costs(
    tempo: np.ndarray,
    camelot: np.ndarray,
    energy: np.ndarray,
    sound: np.ndarray | None,
    flow: Flow,
    direction: str | None = None,
    tempo_alt: np.ndarray | None = None,
) -> np.ndarray:
    """cost[a, b] of playing b right after a, for the n tracks given (float64, n x n).

    A tempo step is octave-aware through ``tempo_alt`` (each track's second-best tempo):
    70 BPM after 140 BPM is a small step when either was also heard at the other's level.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_tempo = np.log2(np.where(tempo > 0, tempo, np.nan)).astype(np.float64)
        alt = np.full(len(tempo), np.nan) if tempo_alt is None else tempo_alt
        log_alt = np.log2(np.where(alt > 0, alt, np.nan)).astype(np.float64)
    energy = energy.astype(np.float64)
    steps = tempo_distance(log_tempo[:, None], log_alt[:, None], log_tempo[None, :], log_alt[None, :]) / TEMPO_STEP
    tempo_cost = np.where(np.isnan(steps), UNKNOWN, steps + 0.5 * steps * steps)
    cost = flow.tempo * tempo_cost + flow.energy * jump(energy, ENERGY_STEP)
    known = camelot >= 0
    keys = 1.0 - CAMELOT[np.maximum(camelot, 0)][:, np.maximum(camelot, 0)]
    cost += flow.key * np.where(known[:, None] & known[None, :], keys, UNKNOWN)
    if sound is not None and flow.sound > 0:
        sq = (sound * sound).sum(axis=1)
        msd = np.maximum(sq[:, None] + sq[None, :] - 2.0 * sound @ sound.T, 0.0) / max(sound.shape[1], 1)
        cost += flow.sound * np.minimum(msd, 4.0)
    if direction:
        values, step = (energy, ENERGY_STEP) if direction.startswith("energy") else (log_tempo, TEMPO_STEP)
        rise = (values[None, :] - values[:, None]) / step
        against = np.maximum(-rise if direction.endswith("up") else rise, 0.0)
        cost += flow.direction * np.nan_to_num(against, nan=0.0)
    np.fill_diagonal(cost, 0.0)
    return cost


def window_breaks(order: list[int], artists: list[str], window: int) -> int:
    """Places where an artist repeats within ``window`` tracks (0 = the rule holds)."""
    if window <= 1:
        return 0
    last: dict[str, int] = {}
    breaks = 0
    for pos, i in enumerate(order):
        a = artists[i]
        if a in last and pos - last[a] < window:
            breaks += 1
        last[a] = pos
    return breaks


def greedy(cost: np.ndarray, artists: list[str], window: int, end: int | None = None) -> list[int]:
    """Nearest next from index 0, keeping artists ``window`` apart when any track allows it."""
    n = len(cost)
    left = np.ones(n, dtype=bool)
    left[0] = False
    if end is not None:
        left[end] = False
    order = [0]
    while left.any():
        recent = {artists[i] for i in order[-(window - 1):]} if window > 1 else set()
        candidates = np.flatnonzero(left)
        fine = [c for c in candidates.tolist() if artists[c] not in recent]
        pool = np.array(fine) if fine else candidates
        if end is not None:
            # Head for the end: the remaining tracks should also approach it.
            step = cost[order[-1], pool] + cost[pool, end] * (1.0 / max(left.sum(), 1))
        else:
            step = cost[order[-1], pool]
        nxt = int(pool[int(np.argmin(step))])
        order.append(nxt)
        left[nxt] = False
    if end is not None:
        order.append(end)
    return order


def path_cost(order: list[int], cost: np.ndarray) -> float:
    return float(sum(cost[a, b] for a, b in itertools.pairwise(order)))


def two_opt(order: list[int], cost: np.ndarray, artists: list[str], window: int,
            fixed_end: bool = False, max_rounds: int = 400) -> list[int]:
    """Reverse segments while that lowers the path cost and breaks no more artist spacing."""
    order = list(order)
    n = len(order)
    last = n - 2 if fixed_end else n - 1
    if last < 2:
        return order
    breaks = window_breaks(order, artists, window)
    i_idx, j_idx = np.triu_indices(n, k=1)
    keep = (i_idx >= 1) & (j_idx <= last)
    i_idx, j_idx = i_idx[keep], j_idx[keep]
    for _ in range(max_rounds):
        p = np.array(order)
        fwd = cost[p[:-1], p[1:]]
        back = cost[p[1:], p[:-1]]
        prefix = np.r_[0.0, np.cumsum(back - fwd)]
        nxt = np.append(p, -1)[j_idx + 1]
        has_next = j_idx + 1 < n
        tail_old = np.where(has_next, fwd[np.minimum(j_idx, n - 2)], 0.0)
        tail_new = np.where(has_next, cost[p[i_idx], np.maximum(nxt, 0)], 0.0)
        delta = (cost[p[i_idx - 1], p[j_idx]] + tail_new - fwd[i_idx - 1] - tail_old
                 + prefix[j_idx] - prefix[i_idx])
        improving = np.flatnonzero(delta < -1e-9)
        if not len(improving):
            break
        moved = False
        for m in improving[np.argsort(delta[improving])][:64].tolist():
            i, j = int(i_idx[m]), int(j_idx[m])
            candidate = order[:i] + order[i:j + 1][::-1] + order[j + 1:]
            new_breaks = window_breaks(candidate, artists, window)
            if new_breaks <= breaks:
                order, breaks, moved = candidate, new_breaks, True
                break
        if not moved:
            break
    return order


def flowing_order(cost: np.ndarray, artists: list[str], window: int, end: int | None = None) -> list[int]:
    """Indices 0..n-1 in playing order, starting at 0 (and ending at ``end`` if given)."""
    if len(cost) <= 1:
        return list(range(len(cost)))
    order = greedy(cost, artists, window, end)
    return two_opt(order, cost, artists, window, fixed_end=end is not None)
