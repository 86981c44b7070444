-- What the tempo and key estimates rest on, beside the estimates themselves.
ALTER TABLE features ADD COLUMN tuning_hz REAL;     -- estimated reference pitch of A4, Hz (440 = standard)
ALTER TABLE features ADD COLUMN key_strength REAL;  -- 0..1: how clearly the music sits in its key; NULL key when weak
ALTER TABLE features ADD COLUMN tempo_alt REAL;     -- second-best tempo candidate, BPM (often the other metrical level)
