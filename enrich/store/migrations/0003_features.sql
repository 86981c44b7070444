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
