-- Audio features per track, versioned: raising the feature-set version makes
-- `enrich analyze` redo the tracks analysed with an older one.
-- Contract read by playlists: track_id, version, tempo, key_pc, mode, camelot,
-- loudness, energy, vector (float32 little-endian, names in feature_sets).

CREATE TABLE features (
    track_id         INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    analyzed_at      REAL NOT NULL,
    file_size        INTEGER NOT NULL,          -- the file state that was analysed
    file_mtime_ns    INTEGER NOT NULL,
    tempo            REAL,                      -- BPM
    tempo_confidence REAL,                      -- 0..1
    key_pc           INTEGER,                   -- pitch class: 0 = C ... 11 = B
    mode             TEXT CHECK (mode IN ('major', 'minor')),
    key_confidence   REAL,                      -- 0..1
    camelot          TEXT,                      -- e.g. '8A' (A minor), '8B' (C major)
    loudness         REAL,                      -- integrated loudness, LUFS
    energy           REAL,                      -- 0..1
    vector           BLOB NOT NULL              -- float32 little-endian
);

CREATE TABLE feature_sets (
    version  INTEGER PRIMARY KEY,
    names    TEXT NOT NULL                      -- JSON list naming each vector element
);

-- Added by analysis: readable summaries beside the vector, and what was analysed.
ALTER TABLE features ADD COLUMN seconds REAL;             -- audio analysed (excerpts together)
ALTER TABLE features ADD COLUMN centroid REAL;            -- spectral centroid mean, Hz
ALTER TABLE features ADD COLUMN rolloff REAL;             -- 85 % spectral rolloff mean, Hz
ALTER TABLE features ADD COLUMN flatness REAL;            -- spectral flatness mean, 0..1
ALTER TABLE features ADD COLUMN zcr REAL;                 -- zero-crossing rate mean, 0..1

-- Files analysis failed on, in the state they failed in: not retried until the
-- file changes, the feature version rises, or `enrich analyze --retry-failed`.
CREATE TABLE analysis_failures (
    track_id       INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    file_size      INTEGER NOT NULL,
    file_mtime_ns  INTEGER NOT NULL,
    error          TEXT NOT NULL,
    failed_at      REAL NOT NULL
);
