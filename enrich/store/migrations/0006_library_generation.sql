-- A counter the writer raises in every transaction that changes what playlists
-- read (tracks, features, feature sets, track genres), in that same transaction.
-- The playlists' columnar snapshot records the generation it was built from and
-- is rebuilt only when the counter has moved. `library` is random per database,
-- so a snapshot left beside a database that was replaced is never taken for its.
CREATE TABLE library_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    library TEXT NOT NULL,
    generation INTEGER NOT NULL
);
INSERT INTO library_generation (id, library, generation) VALUES (1, lower(hex(randomblob(16))), 1);
