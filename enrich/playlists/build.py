"""Building playlists from a request: the stages in one place.

load the library (one read) -> prepare the sound space and genre relations ->
per playlist: score -> select under the rules -> order -> explain -> write M3U8.
Everything but the load and the writing is pure (``plan``).
"""

from __future__ import annotations

import asyncio
import difflib
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from enrich.config import Config
from enrich.errors import PlaylistError, UsageError
from enrich.playlists import auto, explain, m3u8, ordering, snapshot
from enrich.playlists.constraints import Rules, select
from enrich.playlists.genre_tree import load_tree, same_spelling
from enrich.playlists.listening import Affinity, blend
from enrich.playlists.seeds import resolve_seed
from enrich.playlists.settings import DIRECTIONS, PERIODS, PlaylistsConfig
from enrich.playlists.settings import check as check_settings
from enrich.playlists.similarity import (
    Scores,
    SoundSpace,
    Target,
    genre_relation,
    genre_target,
    score,
    sound_space,
    track_target,
)
from enrich.playlists.songs import ChosenSongs
from enrich.playlists.titles import artist_key
from enrich.store.library_view import LibraryView

PATH_STEPS = 5  # points between the two seeds of an A -> B playlist that tracks are scored against


@dataclass(frozen=True)
class Request:
    seeds: tuple[str, ...] = ()
    to: str | None = None              # A -> B path mode: the end seed
    genre: str | None = None
    auto: int = 0
    length: int | None = None
    minutes: float | None = None
    direction: str | None = None
    out_dir: str | None = None
    name: str | None = None
    dry_run: bool = False
    lastfm_user: str | None = None     # seeds from what this Last.fm user plays most
    period: str | None = None          # of --lastfm-user: 7day ... overall, or recent


@dataclass
class Playlist:
    name: str
    kind: str
    rows: list[int]                    # library rows in playing order
    scores: Scores
    seeds: list[int]
    rules: Rules
    notes: list[str] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)
    affinity: Affinity | None = None   # the Last.fm similar-artists part of the score, if used
    seed_why: dict[int, str] = field(default_factory=dict)


@dataclass
class Listened:
    """Seeds found in a Last.fm user's listening (``from_lastfm``), for the pure core."""

    seeds: list[int]
    label: str
    affinity: Affinity | None = None
    seed_why: dict[int, str] = field(default_factory=dict)  # row -> what the WHY column says of that seed


@dataclass
class Prepared:
    view: LibraryView
    space: SoundSpace
    relation: np.ndarray
    parents: dict[str, str]
    lookup: Callable[[str], str | None]
    extra_genres: tuple[str, ...] = ()  # genres of the tree asked for that no track has


def check_request(request: Request) -> None:
    given = sum([bool(request.seeds), bool(request.genre), bool(request.auto), request.lastfm_user is not None])
    if given != 1:
        raise UsageError("give one of --seed (repeatable), --genre, --auto N or --lastfm-user NAME")
    if request.period is not None and request.lastfm_user is None:
        raise UsageError("--period goes with --lastfm-user")
    if request.period is not None and request.period not in PERIODS:
        raise UsageError(f"--period {request.period}: use one of {', '.join(PERIODS)}")
    if request.to and len(request.seeds) != 1:
        raise UsageError("--to makes a path from one --seed to another track; give exactly one --seed")
    if request.length is not None and request.minutes is not None:
        raise UsageError("give --length or --minutes, not both")
    if request.length is not None and request.length < 1:
        raise UsageError(f"--length {request.length}: give at least 1 track")
    if request.minutes is not None and request.minutes <= 0:
        raise UsageError(f"--minutes {request.minutes:g}: give a positive number of minutes")
    if request.auto < 0:
        raise UsageError(f"--auto {request.auto}: give a positive number of playlists")
    if request.auto and request.name:
        raise UsageError("--name names one playlist; with --auto each playlist is named after its sound and genre")
    if request.direction and request.direction not in DIRECTIONS:
        raise UsageError(f"--direction {request.direction}: use one of {', '.join(DIRECTIONS)}")


def rules_from(cfg: PlaylistsConfig) -> Rules:
    return Rules(cfg.min_duration, cfg.max_duration, cfg.max_per_artist, cfg.artist_window, cfg.genre_threshold)


def prepare(view: LibraryView, cfg: PlaylistsConfig, parents: dict[str, str],
            lookup: Callable[[str], str | None], extra_genres: tuple[str, ...] = (),
            space: SoundSpace | None = None) -> Prepared:
    """The sound space (``space`` when a snapshot brought it) and the genre relations of the library."""
    names = list(view.genre_names) + [g for g in extra_genres if g not in view.genre_names]
    relation = genre_relation(names, parents, cfg.genre_parent, cfg.genre_root)
    extra = tuple(g for g in extra_genres if g not in view.genre_names)
    space = sound_space(view, cfg.tempo_weight) if space is None else space
    return Prepared(view, space, relation, parents, lookup, extra)


def library_counts(view: LibraryView) -> dict[str, int]:
    tagged = view.genre_ids[:, 0] >= 0
    return {
        "tracks": len(view),
        "with_features": int(view.has_features.sum()),
        "with_genres": int(tagged.sum()),
        "genres_only": int((tagged & ~view.has_features).sum()),
        "skipped_no_features_no_genres": int((~tagged & ~view.has_features).sum()),
        "missing_files": int(view.missing.sum()),
    }


# ---------------------------------------------------------------- pure core


def check_library(view: LibraryView) -> None:
    """A library playlists can be made of: tracks, some with features or genres."""
    if len(view) == 0:
        raise PlaylistError("the database has no tracks yet; run `enrich scan` first")
    if not (view.has_features.any() or (view.genre_ids[:, 0] >= 0).any()):
        raise PlaylistError("no track has features or genres yet; run `enrich analyze` or `enrich genres` first")


def plan(prep: Prepared, request: Request, cfg: PlaylistsConfig,
         exists: Callable[[str], bool] = os.path.exists, timings: dict[str, Any] | None = None,
         listened: Listened | None = None) -> list[Playlist]:
    """The playlists ``request`` asks for (nothing is written); ``listened`` brings --lastfm-user's seeds."""
    timings = {} if timings is None else timings
    view = prep.view
    check_library(view)
    count = request.length if request.length is not None else (None if request.minutes else cfg.length)
    seconds = request.minutes * 60 if request.minutes else None
    rules = rules_from(cfg)
    if request.auto:
        return plan_auto(prep, request, cfg, rules, count, seconds, exists, timings)

    end = None
    n_genres = len(view.genre_names)
    if request.genre:
        genre, label = resolve_genre(prep, request.genre)
        profile = prep.relation[genre, :n_genres].copy()
        # Tracks of a narrower genre belong to this one: "house" takes "deep house" in full.
        profile[[j for j, g in enumerate(view.genre_names) if label in ancestors(g, prep.parents)]] = 1.0
        targets = [genre_target(view, prep.space, profile, genre, label)]
        seeds: list[int] = []
        # A genre playlist keeps to the genre and its close relatives.
        rules = replace(rules, genre_threshold=max(rules.genre_threshold, cfg.genre_parent))
        name, kind = request.name or label[:1].upper() + label[1:], "genre"
    elif request.lastfm_user is not None:
        if listened is None:
            raise UsageError("--lastfm-user: the user's listening was not read (make_playlists reads it)")
        # A track fits when it is like any of the user's favourites (not like all of them at once).
        seeds = list(listened.seeds)
        relation = prep.relation[:n_genres, :n_genres]
        targets = [track_target(view, prep.space, relation, i) for i in seeds]
        name, kind = request.name or listened.label, "lastfm"
    else:
        seeds = [resolve_seed(view, s) for s in request.seeds]
        if request.to:
            end = resolve_seed(view, request.to)
            if end == seeds[0]:
                raise UsageError("--to names the same track as --seed; a path needs two tracks")
            seeds.append(end)
        songs = ChosenSongs(view)
        for i in seeds:
            copy = songs.copy_of(i)
            if copy is not None and copy[0] != i:
                raise PlaylistError(f"seeds {view.paths[copy[0]]} and {view.paths[i]} are the same song "
                                    f"(by {copy[1]}); give different songs")
            songs.add(i)
            if view.missing[i] or not exists(view.fs_path(i)):
                raise PlaylistError(f"seed {view.paths[i]}: the file is missing; pick another seed "
                                    "or run `enrich scan` again")
            if not (prep.space.has[i] or view.genre_ids[i, 0] >= 0):
                raise PlaylistError(f"seed {view.paths[i]}: has neither features nor genres; "
                                    "run `enrich analyze` or `enrich genres` on it first")
        relation = prep.relation[:n_genres, :n_genres]
        targets = [track_target(view, prep.space, relation, i) for i in dict.fromkeys(seeds)]
        if end is not None:
            targets = path_targets(targets[0], targets[1])
            kind, label = "path", f"From {label_of(view, seeds[0])} to {label_of(view, end)}"
        else:
            kind = "seed"
            label = "Like " + " + ".join(label_of(view, i) for i in dict.fromkeys(seeds))
        name = request.name or label

    started = time.perf_counter()
    scores = score(view, prep.space, targets, cfg, combine="max" if end is not None or listened else "min")
    if listened is not None and listened.affinity is not None:
        scores.total = blend(scores.total, listened.affinity.value, cfg.weights.lastfm_similar)
    if end is not None:
        scores.total[seeds] = np.inf  # the two ends are in the playlist whatever they score
    timings["score_ms"] = round((time.perf_counter() - started) * 1000, 2)
    if not seeds:
        start = best_present(view, np.where(~view.missing, scores.total, -np.inf), exists)
        if start is None:
            raise PlaylistError(f"no track can be compared with the genre '{request.genre}'")
        seeds = [start]
    playlist = assemble(prep, cfg, scores, seeds, rules, count, seconds, request.direction, end, exists, timings)
    playlist.name, playlist.kind = name, kind
    if listened is not None:
        playlist.affinity, playlist.seed_why = listened.affinity, dict(listened.seed_why)
    return [playlist]


def assemble(prep: Prepared, cfg: PlaylistsConfig, scores: Scores, seeds: list[int], rules: Rules,
             count: int | None, seconds: float | None, direction: str | None, end: int | None,
             exists: Callable[[str], bool], timings: dict[str, Any], allowed: np.ndarray | None = None) -> Playlist:
    view = prep.view
    started = time.perf_counter()
    if end is not None:
        seeds = [s for s in seeds if s != end] + [end]
    picked = select(view, scores.total, scores.genre, seeds, rules, count=count, seconds=seconds,
                    allowed=allowed, exists=exists)
    timings["select_ms"] = round(timings.get("select_ms", 0) + (time.perf_counter() - started) * 1000, 2)
    started = time.perf_counter()
    rows = picked.chosen
    if end is not None:  # the end seed goes last: keep it out of the middle of the selection
        rows = [r for r in rows if r != end] + [end]
    rows_arr = np.array(rows, dtype=np.int64)
    flow = ordering.Flow(cfg.flow_tempo, cfg.flow_key, cfg.flow_energy, cfg.flow_sound, cfg.flow_direction)
    sound = prep.space.z[rows_arr] / np.float32(np.sqrt(prep.space.total_weight / max(prep.space.z.shape[1], 1)))
    cost = ordering.transition_costs(view.tempo[rows_arr], view.camelot[rows_arr], view.energy[rows_arr],
                                     sound, flow, direction,
                                     None if view.tempo_alt is None else view.tempo_alt[rows_arr])
    artists = [artist_key(view.artists[r], view.paths[r]) for r in rows]
    window = picked.rules.artist_window
    order = ordering.flowing_order(cost, artists, window, end=len(rows) - 1 if end is not None else None)
    notes = list(picked.notes)
    breaks = ordering.window_breaks(order, artists, window)
    if breaks:
        notes.append(f"could not keep every artist {window} tracks apart with these tracks "
                     f"({breaks} place(s) closer); artist_window relaxed")
    timings["order_ms"] = round(timings.get("order_ms", 0) + (time.perf_counter() - started) * 1000, 2)
    return Playlist(name="", kind="", rows=[rows[i] for i in order], scores=scores, seeds=list(seeds),
                    rules=picked.rules, notes=notes, excluded=picked.excluded)


def plan_auto(prep: Prepared, request: Request, cfg: PlaylistsConfig, rules: Rules, count: int | None,
              seconds: float | None, exists: Callable[[str], bool], timings: dict[str, Any]) -> list[Playlist]:
    view = prep.view
    started = time.perf_counter()
    x, usable, _ = auto.cluster_matrix(view, prep.space, prep.parents, cfg.weight_sound, cfg.weight_genre)
    rows = np.flatnonzero(usable & ~view.missing)
    if len(rows) == 0:
        raise PlaylistError("no track can join a playlist (all missing or without features and genres)")
    rng = np.random.default_rng(cfg.random_seed)
    labels, _ = auto.kmeans(x[rows], request.auto, cfg.auto_iterations, rng)
    timings["cluster_ms"] = round((time.perf_counter() - started) * 1000, 2)
    energy = view.energy[np.isfinite(view.energy)]
    cuts = (float(np.quantile(energy, 0.33)), float(np.quantile(energy, 0.67))) if len(energy) else (0.0, 1.0)
    clusters = sorted((rows[labels == c] for c in np.unique(labels)), key=len, reverse=True)
    relation = prep.relation[:len(view.genre_names), :len(view.genre_names)]
    playlists = []
    timings["score_ms"] = 0.0
    for members in clusters:
        allowed = np.zeros(len(view), dtype=bool)
        allowed[members] = True
        with_sound = members[prep.space.has[members]]
        tops = view.genre_ids[members, 0]
        tops = tops[tops >= 0]
        target = Target(
            sound=prep.space.z[with_sound].mean(axis=0) if len(with_sound) else None,
            camelot=-1,
            genre_profile=relation[np.bincount(tops).argmax()] if len(tops) else None,
            label="cluster",
        )
        started = time.perf_counter()
        scores = score(view, prep.space, [target], cfg)
        timings["score_ms"] = round(timings["score_ms"] + (time.perf_counter() - started) * 1000, 2)
        start = best_present(view, np.where(allowed, scores.total, -np.inf), exists)
        if start is None:
            continue
        playlist = assemble(prep, cfg, scores, [start], rules, count, seconds, request.direction, None,
                            exists, timings, allowed=allowed)
        playlist.name = auto.describe_cluster(view, members, prep.parents, cuts)
        playlist.kind = "auto"
        playlist.notes.insert(0, f"cluster of {len(members)} tracks")
        playlists.append(playlist)
    if len(playlists) < request.auto:
        note = f"the library splits into only {len(playlists)} distinct groups, not {request.auto}"
        for p in playlists:
            p.notes.append(note)
    names = auto.distinct_names([p.name for p in playlists])
    for p, n in zip(playlists, names, strict=False):
        p.name = n
    return playlists


def best_present(view: LibraryView, total: np.ndarray, exists: Callable[[str], bool]) -> int | None:
    """The best-scoring row with a finite score whose file is on disk (the start of a playlist)."""
    for i in np.argsort(-total, kind="stable").tolist():
        if not np.isfinite(total[i]):
            return None
        if exists(view.fs_path(i)):
            return int(i)
    return None


def path_targets(a: Target, b: Target) -> list[Target]:
    """Points from A to B; a track scores its best match to any of them."""
    points = []
    for t in np.linspace(0.0, 1.0, PATH_STEPS):
        sound = None if a.sound is None or b.sound is None else (1 - t) * a.sound + t * b.sound
        profile = None if a.genre_profile is None or b.genre_profile is None else \
            (1 - t) * a.genre_profile + t * b.genre_profile
        points.append(Target(sound=sound if sound is not None else (a.sound if t < 0.5 else b.sound),
                             camelot=a.camelot if t < 0.5 else b.camelot,
                             genre_profile=profile if profile is not None else
                             (a.genre_profile if t < 0.5 else b.genre_profile),
                             label=f"{t:.2f}"))
    return points


def label_of(view: LibraryView, i: int) -> str:
    return " - ".join(p for p in (view.artists[i], view.titles[i]) if p) or Path(view.paths[i]).stem


def resolve_genre(prep: Prepared, text: str) -> tuple[int, str]:
    """(index in the relation, canonical name) of a genre of the tree or of the library."""
    names = prep.view.genre_names
    canonical = prep.lookup(text)
    if canonical is None:
        canonical = next((g for g in names if same_spelling(g, text)), None)
    if canonical is None:
        known = sorted(set(names) | set(prep.parents) | {p for p in prep.parents.values()})
        close = difflib.get_close_matches(text.casefold(), known, n=6, cutoff=0.6)
        hint = f"; close: {', '.join(close)}" if close else ""
        raise PlaylistError(f"genre '{text}' is neither in the genre tree nor in the library{hint}")
    extended = list(names) + [g for g in prep.extra_genres if g not in names]
    if canonical not in extended:
        raise PlaylistError(f"genre '{canonical}' was not prepared; this is a bug")
    return extended.index(canonical), canonical


# ---------------------------------------------------------------- async shell


async def make_playlists(config: Config, request: Request,
                         exists: Callable[[str], bool] = os.path.exists) -> dict[str, Any]:
    """Build what ``request`` asks for from the database; write M3U8 files unless a dry run."""
    check_request(request)
    cfg = check_settings(config.section("playlists", PlaylistsConfig))
    timings: dict[str, float] = {}
    started = time.perf_counter()
    loaded = await asyncio.to_thread(snapshot.load, config.paths.db, cfg.tempo_weight,
                                     config.store.busy_timeout_ms)
    view = loaded.view
    timings["load_ms"] = round((time.perf_counter() - started) * 1000, 2)
    started = time.perf_counter()
    parents, lookup = load_tree()
    wanted = (lookup(request.genre) or request.genre,) if request.genre else ()
    prep = prepare(view, cfg, parents, lookup, wanted, space=loaded.space)
    timings["prepare_ms"] = round((time.perf_counter() - started) * 1000, 2)
    heard = None
    if request.lastfm_user is not None:
        from enrich.playlists.from_lastfm import read_listening  # the network layer only when it is needed

        check_library(view)  # before asking Last.fm anything
        heard = await read_listening(config, cfg, view, request.lastfm_user, request.period, exists, timings)
    listened = None if heard is None else Listened(heard.seeds, heard.label, heard.affinity, heard.seed_why())
    playlists = plan(prep, request, cfg, exists, timings, listened)
    out_dir = Path(request.out_dir or cfg.out_dir or os.getcwd()).expanduser()
    written: set[str] = set()
    data = []
    for playlist in playlists:
        file = None
        if not request.dry_run:
            entries = [m3u8.Entry(view.fs_path(r), None if not np.isfinite(view.duration[r]) else
                                  float(view.duration[r]), view.artists[r], view.titles[r]) for r in playlist.rows]
            try:
                file = str(await asyncio.to_thread(m3u8.write, entries, out_dir, playlist.name, written))
            except OSError as exc:
                raise PlaylistError(f"{out_dir}: cannot write the playlist '{playlist.name}': "
                                    f"{exc.strerror or exc}") from exc
        data.append(explain.playlist_data(view, playlist, file))
    return {
        "dry_run": request.dry_run,
        "out_dir": None if request.dry_run else str(out_dir),
        "library": library_counts(view),
        "playlists": data,
        "timings_ms": timings,
        "library_from": loaded.source,
        **({"lastfm": heard.report()} if heard is not None else {}),
    }


def ancestors(genre: str, parents: dict[str, str]) -> list[str]:
    found, up = [], parents.get(genre)
    while up and up not in found:
        found.append(up)
        up = parents.get(up)
    return found
