-- Tracks as read from the files, the runs of long commands and their items.

CREATE TABLE tracks (
    id               INTEGER PRIMARY KEY,
    path             TEXT NOT NULL UNIQUE,   -- absolute; bytes that are not UTF-8 shown as \xNN
    path_bytes       BLOB,                   -- the raw name when it is not UTF-8 (to reopen it)
    size             INTEGER NOT NULL,
    mtime_ns         INTEGER NOT NULL,
    format           TEXT,                   -- mutagen's name: MP3, FLAC, OggVorbis, MP4, ...
    codec            TEXT,                   -- e.g. alac / aac inside MP4
    duration         REAL,                   -- seconds
    sample_rate      INTEGER,
    channels         INTEGER,
    bitrate          INTEGER,                -- bits per second
    artist           TEXT,
    album_artist     TEXT,
    album            TEXT,
    title            TEXT,
    track_number     INTEGER,
    track_total      INTEGER,
    disc_number      INTEGER,
    disc_total       INTEGER,
    year             INTEGER,
    mb_track_id      TEXT,                   -- MusicBrainz recording id
    mb_artist_id     TEXT,
    mb_album_id      TEXT,                   -- MusicBrainz release id
    mb_releasegroup_id TEXT,
    tag_genres       TEXT NOT NULL DEFAULT '[]',  -- JSON list: multi-valued
    tag_bpm          REAL,
    tag_key          TEXT,
    scanned_at       REAL NOT NULL,          -- unix time
    missing          INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT
);
CREATE INDEX tracks_artist ON tracks(artist);
-- Partial: finds the few missing tracks, and adding present ones never touches it.
CREATE INDEX tracks_missing ON tracks(id) WHERE missing = 1;

-- Files the scan could not read, remembered with their state so an unchanged
-- bad file is not read again every night and never enters `tracks`.
CREATE TABLE unreadable_files (
    path        TEXT PRIMARY KEY,            -- as tracks.path
    path_bytes  BLOB,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    error       TEXT NOT NULL,
    seen_at     REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    command      TEXT NOT NULL,              -- scan, genres, analyze, ...
    work_key     TEXT NOT NULL,              -- what the run works on; resume matches it
    args         TEXT NOT NULL DEFAULT '{}', -- JSON of the options given
    started_at   REAL NOT NULL,
    finished_at  REAL,
    status       TEXT NOT NULL CHECK (status IN
                   ('running', 'interrupted', 'done', 'failed', 'abandoned')),
    counts       TEXT NOT NULL DEFAULT '{}', -- JSON
    state        TEXT NOT NULL DEFAULT '{}'  -- JSON: what a resumed run must know
);
CREATE INDEX runs_command ON runs(command, status);

CREATE TABLE run_items (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    item        TEXT NOT NULL,               -- a path, a track id, ...
    status      TEXT NOT NULL CHECK (status IN ('done', 'failed', 'skipped')),
    error       TEXT,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (run_id, item)
) WITHOUT ROWID;
