"""The songs a playlist holds, and whether a track is one of them again.

A playlist never has one song twice. A track is another copy of a chosen one
when any of three kinds of evidence says so (the ones `enrich duplicates` uses):
the same artist and title under version notes; the same MusicBrainz recording
id whatever the tags say; or the same audio, by the stored features.
"""

from __future__ import annotations

from enrich.duplicates.audio import Taken
from enrich.playlists.titles import song_key
from enrich.store.library_view import LibraryView

# The evidence, and how a playlist's report counts the tracks it turned down for it.
EXCLUDED = {
    "name": "another version of a chosen song",
    "MusicBrainz id": "another copy of a chosen recording (same MusicBrainz id)",
    "audio": "a copy of a chosen track (same audio)",
}


class ChosenSongs:
    def __init__(self, view: LibraryView):
        self.view = view
        self.names: dict[str, int] = {}
        self.recordings: dict[int, int] = {}  # first row of a recording's copies -> the chosen copy
        self.sounds = Taken(view.vectors, view.feature_names, view.duration, view.has_features)

    def copy_of(self, row: int) -> tuple[int, str] | None:
        """(the chosen row that ``row`` is a copy of, the evidence: a key of EXCLUDED), or None for a new song."""
        chosen = self.names.get(self._name(row))
        if chosen is not None:
            return chosen, "name"
        chosen = self.recordings.get(self._recording(row))
        if chosen is not None:
            return chosen, "MusicBrainz id"
        chosen = self.sounds.copy_of(row)
        if chosen is not None:
            return chosen, "audio"
        return None

    def add(self, row: int) -> None:
        self.names.setdefault(self._name(row), row)
        recording = self._recording(row)
        if recording >= 0:
            self.recordings.setdefault(recording, row)
        self.sounds.add(row)

    def _name(self, row: int) -> str:
        return song_key(self.view.artists[row], self.view.titles[row], self.view.paths[row])

    def _recording(self, row: int) -> int:
        copies = self.view.recording
        return -1 if copies is None else int(copies[row])
