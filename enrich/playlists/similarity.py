"""How alike each track is to the seeds: sound, key and genre, over the whole library at once.

* Sound: features standardised over the library (z-scores) with tempo
  down-weighted, compared by weighted mean squared difference -> exp(-msd).
  Tempo is compared in octaves, and a track's second-best tempo (the other
  metrical level analysis found) counts too, for a small extra distance: a
  song measured at 70 BPM with 140 as runner-up sits next to 140 BPM songs.
* Key: compatibility of the two keys on the Camelot wheel.
* Genre: the canonical tree: the same genre counts 1, a shared parent (or
  parent and child) ``genre_parent``, only a shared root ``genre_root``.

Each part is used when both sides have it, so a library with features but no
genres (or the reverse) still works; a track compared on fewer parts than the
seed has is scaled by ``partial_penalty``. With several seeds a track scores
its *lowest* similarity to any of them, so the playlist sits between the seeds.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from enrich.playlists.settings import PlaylistsConfig
from enrich.store.library_view import LibraryView

# Extra readable columns appended to the stored vector before standardising.
EXTRA_COLUMNS = ("tempo (log2)", "energy", "loudness")
LOG_TEMPO = "tempo (log2)"
RAW_TEMPO = "tempo"  # the vector's BPM: the log2 column (octave-aware below) speaks for it
ALT_TEMPO_COST = 0.15  # octaves added when a side is heard at its second-best tempo


Tempi = np.ndarray | np.floating[Any] | float  # log2 BPM: one, or one per track


def tempo_distance(a: Tempi, a_alt: Tempi, b: Tempi, b_alt: Tempi, alt_cost: float = ALT_TEMPO_COST) -> np.ndarray:
    """Octaves between tempi (log2 BPM), either side allowed its alternative level for ``alt_cost``.

    NaN where ``a`` or ``b`` is unknown; an unknown alternative is simply not an option.
    """
    direct = np.abs(a - b)
    with np.errstate(invalid="ignore"):
        via = np.fmin(np.abs(a_alt - b), np.abs(a - b_alt)) + alt_cost
    return np.asarray(np.where(np.isnan(direct), np.nan, np.fmin(direct, via)))


def camelot_table() -> np.ndarray:
    """24x24 key compatibility: same key 1, a neighbour or the relative key 0.8, ..."""
    idx = np.arange(24)
    number, letter = idx // 2, idx % 2
    steps = np.abs(number[:, None] - number[None, :])
    steps = np.minimum(steps, 12 - steps)
    same_letter = letter[:, None] == letter[None, :]
    table = np.zeros((24, 24), dtype=np.float32)
    table[(steps == 0) & same_letter] = 1.0
    table[(steps == 0) & ~same_letter] = 0.8   # relative major / minor
    table[(steps == 1) & same_letter] = 0.8    # a fifth up or down
    table[(steps == 1) & ~same_letter] = 0.4
    table[(steps == 2) & same_letter] = 0.3    # energy boost: two steps
    return table


CAMELOT = camelot_table()


def root_of(genre: str, parents: Mapping[str, str]) -> str:
    seen = {genre}
    while genre in parents and parents[genre] and parents[genre] not in seen:
        genre = parents[genre]
        seen.add(genre)
    return genre


def genre_relation(names: list[str], parents: Mapping[str, str], parent_score: float,
                   root_score: float) -> np.ndarray:
    """GxG similarity of the library's genres under the tree ``parents`` (child -> parent)."""
    g = len(names)
    index = {n: i for i, n in enumerate(names)}
    # A parent outside the library's genres still links its children: give it its own id.
    extra = {p for n in names if (p := parents.get(n)) and p not in index}
    ids = {**index, **{p: g + i for i, p in enumerate(sorted(extra))}}
    parent = np.array([ids.get(parents.get(n) or "", -1) for n in names], dtype=np.int64)
    root_ids: dict[str, int] = {}
    root = np.array([root_ids.setdefault(root_of(n, parents), len(root_ids)) for n in names], dtype=np.int64)
    own = np.arange(g)
    same = own[:, None] == own[None, :]
    siblings = (parent[:, None] == parent[None, :]) & (parent[:, None] >= 0)
    lineage = (parent[:, None] == own[None, :]) | (own[:, None] == parent[None, :])
    rel = np.zeros((g, g), dtype=np.float32)
    rel[root[:, None] == root[None, :]] = root_score
    rel[siblings | lineage] = parent_score
    rel[same] = 1.0
    return rel


# Bits of a track's parts code: which parts of a comparison it has.
SOUND, KEY, GENRE = 1, 2, 4
PARTS_CODES = 8


@dataclass
class TrackClasses:
    """Tracks grouped by what scoring reads of them besides their sound (computed once, stored in the snapshot).

    A library has few distinct (key, genre slots, slot weights): per target, the key and genre
    parts are worked out once per class and handed to every track with one gather, instead
    of lookups and slot-by-slot maxima over every track. And most tracks have every part:
    only the rows of the other parts codes are listed, so the sum of weights and the
    penalty of those few are fixed row by row instead of looked up for all.
    """

    of_track: np.ndarray      # intp (n,): each track's class
    camelot: np.ndarray       # intp (C,): the class's key, -1 unknown
    genre_ids: np.ndarray     # intp (slots, C): genre of each slot, -1 empty
    genre_weights: np.ndarray  # float32 (slots, C)
    usual: int                # the commonest parts code (bits SOUND, KEY, GENRE)
    odd_rows: np.ndarray      # intp: the rows of every other code, by code
    odd_bounds: np.ndarray    # int64 (PARTS_CODES + 1,): odd_rows[b[c]:b[c + 1]] have code c

    def rows_of(self, code: int) -> np.ndarray:
        return self.odd_rows[self.odd_bounds[code]:self.odd_bounds[code + 1]]

    def fits(self, rows: int) -> bool:
        """Whether every index is in range (for arrays read from a file)."""
        count, bounds = len(self.camelot), self.odd_bounds
        return (len(self.of_track) == rows and self.genre_ids.shape[1] == self.genre_weights.shape[1] == count
                and within(self.of_track, count) and within(self.odd_rows, rows)
                and len(bounds) == PARTS_CODES + 1 and bounds[0] == 0 and bounds[-1] == len(self.odd_rows)
                and bool((np.diff(bounds) >= 0).all()))


def within(indices: np.ndarray, size: int) -> bool:
    return len(indices) == 0 or (int(indices.min()) >= 0 and int(indices.max()) < size)


def track_classes(view: LibraryView, has: np.ndarray) -> TrackClasses:
    """Group the tracks of ``view`` (``has``: with sound) into ``TrackClasses``."""
    n, slots = len(view), view.genre_ids.shape[1]
    keys = np.empty((n, 1 + 2 * slots), dtype=np.int32)  # key, slot genres, slot weights' bits
    keys[:, 0] = view.camelot
    keys[:, 1:1 + slots] = view.genre_ids
    keys[:, 1 + slots:] = np.ascontiguousarray(view.genre_weights, dtype=np.float32).view(np.int32)
    first, of_track = unique_rows(keys)
    code = (has.astype(np.uint8) * SOUND) | ((view.camelot >= 0).view(np.uint8) * KEY)
    code |= (view.genre_ids[:, 0] >= 0).view(np.uint8) * GENRE
    counts = np.bincount(code, minlength=PARTS_CODES)
    usual = int(counts.argmax()) if n else SOUND | KEY | GENRE
    odd = np.flatnonzero(code != usual)
    odd = odd[np.argsort(code[odd], kind="stable")]
    counts[usual] = 0
    bounds = np.zeros(PARTS_CODES + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    return TrackClasses(
        of_track=of_track, camelot=keys[first, 0].astype(np.intp),
        genre_ids=np.ascontiguousarray(keys[first, 1:1 + slots].T, dtype=np.intp),
        genre_weights=np.ascontiguousarray(keys[first, 1 + slots:].T).view(np.float32),
        usual=usual, odd_rows=odd.astype(np.intp), odd_bounds=bounds)


def unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a row of each distinct row of ``keys``, each row's index among them): by a 64-bit hash,
    checked against the rows themselves (exact sorting only if two distinct rows share a hash)."""
    h = np.zeros(len(keys), dtype=np.uint64)
    for column in keys.T:
        h ^= column.astype(np.uint32).astype(np.uint64)
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    if not (keys[first][inverse] == keys).all():  # a collision: hash no more
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1).astype(np.intp)


@dataclass
class SoundSpace:
    """Standardised, weighted feature rows of the whole library (computed once)."""

    z: np.ndarray          # float32 (n, d), weights folded in as sqrt(w)
    norms: np.ndarray      # float32 (n,), squared row norms
    total_weight: float
    has: np.ndarray        # bool (n,)
    log_tempo: np.ndarray | None = None  # float32 (n,) log2 BPM, NaN unknown
    log_alt: np.ndarray | None = None    # float32 (n,) log2 BPM of the second-best tempo, NaN unknown
    tempo_scale: float = 0.0             # weight / variance of the log2 tempo column: its units in msd
    classes: TrackClasses | None = None  # what scoring reads of each track besides its sound


def sound_space(view: LibraryView, tempo_weight: float) -> SoundSpace:
    has = view.has_features
    names = list(view.feature_names) + list(EXTRA_COLUMNS)
    weights = np.array([0.0 if n == RAW_TEMPO else tempo_weight if ("tempo" in n.lower() or "bpm" in n.lower())
                        else 1.0 for n in names], dtype=np.float32)
    z = np.zeros((len(view), len(names)), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        track_tempo = np.where(has & (view.tempo > 0), np.log2(view.tempo), np.nan).astype(np.float32)
        alt = view.tempo_alt if view.tempo_alt is not None else np.full(len(view), np.nan, np.float32)
        log_alt = np.where(has & (alt > 0), np.log2(alt), np.nan).astype(np.float32)
    tempo_scale = 0.0
    if has.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            log_tempo = np.log2(view.tempo[has])
        rows = np.concatenate([view.vectors[has], log_tempo[:, None], view.energy[has, None],
                               view.loudness[has, None]], axis=1)
        unknown = ~np.isfinite(rows)
        if unknown.any():  # an unknown value counts as the library's mean
            rows[unknown] = np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fill = np.nan_to_num(np.nanmean(rows, axis=0))
            rows[unknown] = np.take(fill, np.nonzero(unknown)[1])
        mean = rows.mean(axis=0)
        rows -= mean
        std = np.sqrt((rows * rows).mean(axis=0))
        usable = std > 1e-6
        weights = np.where(usable, weights, 0.0).astype(np.float32)
        rows *= (np.sqrt(weights) / np.where(usable, std, 1.0)).astype(np.float32)
        z[has] = rows
        column = names.index(LOG_TEMPO)
        if usable[column]:
            tempo_scale = float(weights[column] / std[column] ** 2)
    total = float(weights.sum()) or 1.0
    return SoundSpace(z=z, norms=np.einsum("ij,ij->i", z, z), total_weight=total, has=has,
                      log_tempo=track_tempo, log_alt=log_alt, tempo_scale=tempo_scale,
                      classes=track_classes(view, has))


def tempo_correction(space: SoundSpace, target: Target,
                     scratch: Sequence[np.ndarray] = ()) -> tuple[np.ndarray, np.ndarray] | None:
    """What to add to the squared sound distance of some tracks so that their tempo part is the
    octave-aware ``tempo_distance`` instead of the plain difference of log2 tempi: (rows, amounts <= 0).

    Only tracks for which a runner-up tempo (theirs or the target's) is closer than the plain
    difference change; for every other track the correction is exactly 0, so it is left out
    (at a million tracks, a full-width correction cost as much as the sound comparison itself).
    ``scratch``: up to three float32 buffers of the library's length to work in.
    """
    t, t_alt = target.tempo
    if space.log_tempo is None or space.log_alt is None or space.tempo_scale <= 0 or not np.isfinite(t):
        return None
    # Few full-width temporaries: at a million tracks each new one costs its page faults.
    buffers = iter(scratch)
    direct = np.subtract(space.log_tempo, np.float32(t), out=next(buffers, None))
    np.abs(direct, out=direct)
    via = np.subtract(space.log_alt, np.float32(t), out=next(buffers, None))
    np.abs(via, out=via)
    if np.isfinite(t_alt):
        other = np.subtract(space.log_tempo, np.float32(t_alt), out=next(buffers, None))
        np.fmin(via, np.abs(other, out=other), out=via)
    via += np.float32(ALT_TEMPO_COST)
    rows = np.flatnonzero(via < direct)  # NaN (no runner-up, no tempo) compares false
    closer, plain = via[rows], space.log_tempo[rows] - np.float32(t)
    amounts: np.ndarray = np.float32(space.tempo_scale) * (closer * closer - plain * plain)
    return rows, amounts


@dataclass
class Target:
    """What a playlist is alike to: a seed track, or a genre with its sound centroid."""

    sound: np.ndarray | None      # row in the sound space
    camelot: int                  # -1 unknown
    genre_profile: np.ndarray | None  # (G,) similarity of each library genre to the target
    label: str
    tempo: tuple[float, float] = (float("nan"), float("nan"))  # log2 BPM and of its second-best tempo


def track_target(view: LibraryView, space: SoundSpace, relation: np.ndarray, i: int) -> Target:
    profile = None
    slots = view.genre_ids[i] >= 0
    if slots.any():
        rows = relation[view.genre_ids[i][slots]] * view.genre_weights[i][slots][:, None]
        profile = rows.max(axis=0)
    return Target(
        sound=space.z[i] if space.has[i] else None,
        camelot=int(view.camelot[i]),
        genre_profile=profile,
        label=f"{view.artists[i]} - {view.titles[i]}",
        tempo=(float(space.log_tempo[i]), float(space.log_alt[i])) if space.log_tempo is not None and
        space.log_alt is not None else (float("nan"), float("nan")),
    )


def genre_target(view: LibraryView, space: SoundSpace, profile: np.ndarray, genre: int, label: str) -> Target:
    """A genre as a target: its row of the relation, and the sound of the tracks tagged with it.

    ``genre`` may be past the library's genres (a genre of the tree no track has yet).
    """
    tagged = (view.genre_ids == genre).any(axis=1) & space.has
    sound = space.z[tagged].mean(axis=0) if tagged.any() else None
    return Target(sound=sound, camelot=-1, genre_profile=profile, label=label)


@dataclass
class Scores:
    total: np.ndarray   # float32 (n,); -inf where the track cannot be compared
    sound: np.ndarray   # float32 (n,), NaN where not compared
    key: np.ndarray
    genre: np.ndarray


def slot_similarity(genre_ids: np.ndarray, genre_weights: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """The best (genre similarity x slot weight) over the slots: ids and weights (slots, m), slot by slot.

    Slot by slot, as whole columns: a max over the short axis of an (m, 3)
    array costs ten times more at a million rows.
    """
    padded = np.append(profile.astype(np.float32), np.float32(0.0))  # slot -1 -> 0
    best: np.ndarray = np.take(padded, genre_ids[0])
    best *= genre_weights[0]
    column = np.empty_like(best)  # one buffer for the other slots: fresh memory costs page faults
    for slot in range(1, genre_ids.shape[0]):
        np.take(padded, genre_ids[slot], out=column)
        column *= genre_weights[slot]
        np.maximum(best, column, out=best)
    return best


def score_one(view: LibraryView, space: SoundSpace, target: Target, cfg: PlaylistsConfig) -> Scores:
    """One target against every track, over a few float32 columns (a million tracks in a few tens of ms).

    The arithmetic is that of the plain formulation (each part added where the track has it,
    weights summed in float64 and rounded to float32, parts in float32), so scores do not depend
    on how it is laid out. The sound is one matrix-vector product and a few passes in place;
    the key and genre parts are worked out per class of tracks (``TrackClasses``) and gathered;
    what depends only on which parts a track has (the sum of weights, whether it is comparable,
    the partial penalty) is applied to the usual tracks at once and to the few others by rows.
    """
    classes = space.classes if space.classes is not None else track_classes(view, space.has)
    n = len(view)
    nan = np.float32(np.nan)
    sound = key = genre = None
    # Fresh memory costs its page faults (a millisecond or more per million floats on a busy
    # machine): the sum, the buffer of gathered addends and the total serve as scratch before.
    num, gathered, total = (np.empty(n, dtype=np.float32) for _ in range(3))
    weights: list[tuple[int, float, bool]] = []  # (bit, weight, makes tracks comparable) of the target's parts
    if target.sound is not None and cfg.weight_sound > 0:
        sound = sound_similarity(space, target, scratch=(num, gathered, total))
        np.multiply(sound, np.float32(cfg.weight_sound), out=num)  # 0 + part: the sum starts here
        silent = lacking(classes, SOUND, space.has)
        num[silent] = 0.0
        sound[silent] = nan
        weights.append((SOUND, cfg.weight_sound, True))
    else:
        num.fill(0.0)
    if target.camelot >= 0 and cfg.weight_key > 0:
        known = classes.camelot >= 0
        per_class = np.where(known, CAMELOT[target.camelot][classes.camelot], nan)  # -1 (unknown) is masked
        add_gathered(num, np.where(known, per_class * np.float32(cfg.weight_key), np.float32(0.0)), classes,
                     gathered)
        key = np.take(per_class, classes.of_track)
        weights.append((KEY, cfg.weight_key, False))  # the key alone does not make two tracks comparable
    if target.genre_profile is not None and cfg.weight_genre > 0:
        tagged = classes.genre_ids[0] >= 0
        per_class = slot_similarity(classes.genre_ids, classes.genre_weights, target.genre_profile)
        add_gathered(num, np.where(tagged, per_class * np.float32(cfg.weight_genre), np.float32(0.0)), classes,
                     gathered)
        per_class[~tagged] = nan
        genre = np.take(per_class, classes.of_track)
        weights.append((GENRE, cfg.weight_genre, True))
    weighted_total(num, classes, *by_parts(weights, cfg.partial_penalty), out=total)

    def nothing() -> np.ndarray:
        return np.full(n, nan, dtype=np.float32)

    return Scores(total=total, sound=nothing() if sound is None else sound,
                  key=nothing() if key is None else key, genre=nothing() if genre is None else genre)


PRODUCT_ROWS = 1 << 16  # rows of the float32 sound matrix cast to float64 at a time


def sound_products(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``z @ t``. A float64 target would have numpy cast the whole float32 matrix first (280 MB
    at a million tracks); a block at a time, each row's product is the same but for the last
    bit of the few rows where BLAS splits its work (as it splits the whole matrix its own way)."""
    if t.dtype == z.dtype or len(z) <= PRODUCT_ROWS:
        product: np.ndarray = z @ t
        return product
    out = np.empty(len(z), dtype=np.result_type(z, t))
    for start in range(0, len(z), PRODUCT_ROWS):
        np.matmul(z[start:start + PRODUCT_ROWS], t, out=out[start:start + PRODUCT_ROWS])
    return out


def sound_similarity(space: SoundSpace, target: Target, scratch: Sequence[np.ndarray] = ()) -> np.ndarray:
    """exp(-weighted msd) of every track's sound to the target's (float32; rows without sound are meaningless).

    ``scratch``: float32 buffers of the library's length it may use for the tempo correction.
    """
    t = np.asarray(target.sound)  # float32, or float64 for points between two seeds
    msd = sound_products(space.z, t)
    kind = msd.dtype.type
    msd *= kind(-2.0)
    msd += space.norms
    msd += kind(float(t @ t))
    correction = tempo_correction(space, target, scratch)  # tempo in octaves, either side at its runner-up
    if correction is not None:
        msd[correction[0]] += correction[1]
    np.maximum(msd, kind(0.0), out=msd)
    np.negative(msd, out=msd)
    msd /= kind(space.total_weight)
    sound: np.ndarray = np.exp(msd, out=msd).astype(np.float32, copy=False)
    return sound


def lacking(classes: TrackClasses, bit: int, present: np.ndarray) -> np.ndarray:
    """The rows without the part ``bit``: the listed rows of the codes without it, or, when
    most tracks lack it, every row ``present`` says."""
    if not classes.usual & bit:
        return np.flatnonzero(~present)
    return np.concatenate([classes.rows_of(code) for code in range(PARTS_CODES) if not code & bit])


def add_gathered(num: np.ndarray, per_class: np.ndarray, classes: TrackClasses, buffer: np.ndarray) -> None:
    """num += each track's class's value (0 where the track lacks the part: adding +0 leaves num as it is)."""
    np.take(per_class, classes.of_track, out=buffer, mode="clip")  # "raise" would copy through a buffer first
    num += buffer


def weighted_total(num: np.ndarray, classes: TrackClasses, den: np.ndarray, factor: np.ndarray,
                   out: np.ndarray | None = None) -> np.ndarray:
    """num / (the sum of weights of the parts a track has) x its factor; -inf where the factor is 0."""
    total = np.empty_like(num) if out is None else out
    with np.errstate(divide="ignore", invalid="ignore"):
        for code in (classes.usual, *(c for c in range(PARTS_CODES) if c != classes.usual)):
            rows = classes.rows_of(code) if code != classes.usual else None
            if rows is not None and not len(rows):
                continue
            if factor[code] == 0:
                total[slice(None) if rows is None else rows] = -np.inf
            elif rows is None:
                np.divide(num, den[code], out=total)
                if factor[code] != 1:
                    total *= factor[code]
            else:
                part = num[rows] / den[code]
                part *= factor[code]
                total[rows] = part
    return total


def by_parts(weights: list[tuple[int, float, bool]], partial_penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """For each combination of parts a track has (index = its bits): the sum of their weights
    (float64 sums rounded to float32 after each part, as adding them column by column does), and
    the factor its score is multiplied by: 1, the partial penalty when it lacks a part the target
    has, or 0 when it cannot be compared at all (no sound or genre in common, or no weight)."""
    den = np.zeros(8, dtype=np.float32)
    factor = np.ones(8, dtype=np.float32)
    for bits in range(8):
        total = np.float32(0.0)
        compared = lacking = False
        for bit, weight, comparable in weights:
            if bits & bit:
                total = np.float32(np.float64(total) + np.float64(weight))
                compared |= comparable
            elif comparable:
                lacking = True
        den[bits] = total
        if not (compared and total > 0):
            factor[bits] = 0.0
        elif lacking:
            factor[bits] = np.float32(partial_penalty)
    return den, factor


def best_of(scored: Iterable[Scores]) -> Scores:
    """Per track, the parts of the target it matched best (NaN totals last; of equals, the first)
    and the highest total (NaN where any target's is NaN): what stacking every target's scores
    and taking argmax and max gives, one target at a time. A million tracks' scores for each
    of an A -> B path's points, all held at once, cost more than the rest of the command."""
    kept: Scores | None = None
    for scores in scored:
        rank = np.nan_to_num(scores.total, nan=-np.inf)
        if kept is None:
            kept = Scores(total=scores.total.copy(), sound=scores.sound.copy(), key=scores.key.copy(),
                          genre=scores.genre.copy())
            kept_rank = rank
            continue
        better = rank > kept_rank  # strictly: of equals the first target's stays, as argmax picks
        kept_rank[better] = rank[better]
        kept.sound[better], kept.key[better], kept.genre[better] = \
            scores.sound[better], scores.key[better], scores.genre[better]
        np.maximum(kept.total, scores.total, out=kept.total)  # NaN propagates, as max over the stack
    if kept is None:
        raise ValueError("nothing to score against")
    kept.total = kept.total.astype(np.float32, copy=False)
    return kept


def score(view: LibraryView, space: SoundSpace, targets: list[Target], cfg: PlaylistsConfig,
          combine: str = "min") -> Scores:
    """Similarity of every track to the targets.

    ``min``: a track counts as alike as it is to the seed it is least like, so
    several seeds pull the playlist between them. ``max``: alike to any target
    (the points along an A -> B path).
    """
    if len(targets) == 1:
        return score_one(view, space, targets[0], cfg)
    if combine == "max":  # explain each track by the point it matched best
        return best_of(score_one(view, space, t, cfg) for t in targets)
    each = [score_one(view, space, t, cfg) for t in targets]
    totals = np.array([s.total for s in each])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: a part nobody has
        return Scores(
            total=totals.min(axis=0).astype(np.float32),
            sound=np.nanmean([s.sound for s in each], axis=0).astype(np.float32),
            key=np.nanmean([s.key for s in each], axis=0).astype(np.float32),
            genre=np.nanmean([s.genre for s in each], axis=0).astype(np.float32),
        )
