-- What the scan took from a file's name (its tags had none) and what it found implausible.

ALTER TABLE tracks ADD COLUMN from_filename TEXT;  -- JSON list of the columns taken from the name; NULL: none
ALTER TABLE tracks ADD COLUMN read_notes TEXT;     -- JSON list of values the reader refused, with why; NULL: none

-- Read again at the next scan the files the old reader stored without names or
-- with values it now refuses (a changed mtime is what makes the scan re-read).
UPDATE tracks SET mtime_ns = -1
 WHERE (artist IS NULL AND album_artist IS NULL) OR title IS NULL
    OR duration <= 0 OR duration > 360000 OR sample_rate > 50000000 OR channels > 64
    OR track_number > 999 OR disc_number > 999 OR year > 2100;
