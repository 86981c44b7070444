"""Copies of one song in the library: which tracks they are, and which copy to keep.

Three kinds of evidence, each found by indexing rather than comparing all pairs:

* ``recording``: the same MusicBrainz recording id (a dictionary of ids);
* ``audio``: the same sound, from the stored feature vectors, within the noise
  an encoder adds (``audio.py``; rows sorted by duration, compared in blocks);
* ``name``: the same artist and song title, version notes removed as playlists
  remove them but a live, acoustic or demo take kept apart, with durations
  within a few seconds (``names.py``; a dictionary of keys).

``groups.py`` joins the evidence into groups and ``keeper.py`` names the copy
to keep in each. Nothing here reads or writes files or the database.
"""
