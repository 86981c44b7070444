-- Genres resolved for each track, with the evidence behind them.
-- Contract read by playlists: (track_id, rank, genre, score); genre is a
-- canonical name from config/genres.

CREATE TABLE track_genres (
    track_id    INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    rank        INTEGER NOT NULL,              -- 0 = first (most specific unless configured)
    genre       TEXT NOT NULL,                 -- canonical vocabulary name
    score       REAL NOT NULL,                 -- 0..1 after weighting
    level       TEXT NOT NULL,                 -- evidence that decided: track, album or artist
    provenance  TEXT NOT NULL DEFAULT '[]',    -- JSON: votes behind it (source, raw tag, weight, fetched_at)
    PRIMARY KEY (track_id, genre)
) WITHOUT ROWID;
CREATE INDEX track_genres_genre ON track_genres(genre);

-- Per-track state of `enrich genres`: when the genres were found and from what,
-- so the nightly run redoes only new, changed (fingerprint differs) or stale tracks.
CREATE TABLE genre_state (
    track_id     INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
    fingerprint  TEXT NOT NULL,                 -- settings basis + the tags the lookup used
    enriched_at  REAL NOT NULL,                 -- unix time
    status       TEXT NOT NULL CHECK (status IN ('found', 'empty')),
    classifier   TEXT,                          -- why Claude was asked (empty, weak, conflict, always), if it was
    dropped      TEXT NOT NULL DEFAULT '[]'     -- JSON: raw tags not used, with the reason
);
CREATE INDEX genre_state_enriched ON genre_state(enriched_at);

-- Claude's answer per track, so a track is never paid for twice with the same
-- model and prompt. key = hash of model, prompt version, artist, title, album.
CREATE TABLE genre_classifications (
    key         TEXT PRIMARY KEY,
    answer      TEXT NOT NULL,                  -- JSON: [[genre, confidence], ...]
    created_at  REAL NOT NULL
) WITHOUT ROWID;
