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
