"""Which copy of a song to keep, and why (pure).

In order: a file that is present over one the scan saw disappear; lossless
over lossy; between lossy copies the higher bitrate (in whole kbit/s; a
lossless file's bitrate says how well it compressed, not how it sounds); the
more complete tags; and, all else equal, the track scanned first.
"""

from __future__ import annotations

from dataclasses import dataclass

LOSSLESS_CODECS = frozenset({"flac", "pcm", "alac", "ape", "wavpack", "tta", "ofr", "dsd", "wmalossless"})
# Tag fields counted for completeness (``tags`` of a copy is how many of them are filled).
TAG_FIELDS = ("artist", "album_artist", "album", "title", "track_number", "disc_number", "year", "mb_track_id",
              "mb_artist_id", "mb_album_id", "genres")


@dataclass(frozen=True)
class Copy:
    row: int
    id: int
    missing: bool
    codec: str      # lower case, '' unknown
    format: str
    bitrate: int    # bit/s, 0 unknown
    tags: int       # how many of TAG_FIELDS the file fills

    @property
    def lossless(self) -> bool:
        return self.codec in LOSSLESS_CODECS

    @property
    def kbps(self) -> int:
        return self.bitrate // 1000

    def rank(self) -> tuple[bool, bool, int, int, int]:
        """Larger is better."""
        return (not self.missing, self.lossless, 0 if self.lossless else self.kbps, self.tags, -self.id)

    def sound(self) -> str:
        kind = "lossless" if self.lossless else "lossy"
        rate = f" {self.kbps} kbit/s" if self.kbps else ""
        return f"{self.codec or self.format or 'unknown'} ({kind}{rate})"


def choose(copies: list[Copy]) -> tuple[Copy, str]:
    """The copy to keep and the reason, in words, it beats the next best."""
    ranked = sorted(copies, key=Copy.rank, reverse=True)
    best, runner = ranked[0], ranked[1]
    if best.missing != runner.missing:
        return best, "the other copies' files are missing"
    if best.lossless != runner.lossless:
        return best, f"lossless over lossy: {best.sound()} over {runner.sound()}"
    if not best.lossless and best.kbps != runner.kbps:
        return best, f"higher bitrate: {best.sound()} over {runner.sound()}"
    if best.tags != runner.tags:
        return best, (f"more complete tags: {best.tags} of {len(TAG_FIELDS)} fields over {runner.tags}"
                      f" (same sound: {best.sound()})")
    return best, f"alike in sound ({best.sound()}) and tags; the one scanned first"
