"""A realistic evaluation corpus for tempo and key, made by the tests.

Generated scores (drums, bass, chords, melody) in several styles are rendered
through a General MIDI soundfont and encoded as mp3/ogg/flac/m4a. Tempo, meter,
key and tuning are known by construction and written to a ``manifest.json``.
Raise ``GENERATOR_VERSION`` whenever a change alters any clip: the cache folder
is named after it, so old clips are never mistaken for new ones.
"""

GENERATOR_VERSION = 1
