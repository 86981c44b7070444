"""Fake Last.fm, MusicBrainz and Anthropic services on loopback, answering from
a small data world in the real response shapes, with the real quirks, the real
rate-limit behaviour (at a rate the test sets), and faults on demand.

    from tests.fakes import FakeServices, Faults, World

    async with FakeServices(World.sample(), rates={"musicbrainz": 20.0}) as fakes:
        config = load(fakes.write_config(tmp_path / "c.toml"), env=fakes.env())
        fakes.service("lastfm").faults.push("503", "timeout")
        ...
        assert fakes.violations() == 0

``ThreadedFakes`` runs them on a thread (for subprocess tests);
``python -m tests.fakes`` serves them until Ctrl-C and prints URLs and keys.
"""

from tests.fakes.control import FAULT_KINDS, Bucket, Counters, Faults, Service
from tests.fakes.server import ANTHROPIC_KEY, FAST_HTTP, LASTFM_KEY, SUSPENDED_LASTFM_KEY, FakeServices, ThreadedFakes
from tests.fakes.world import Album, Artist, Track, World

__all__ = [
           "ANTHROPIC_KEY",
           "FAST_HTTP",
           "FAULT_KINDS",
           "LASTFM_KEY",
           "SUSPENDED_LASTFM_KEY",
           "Album",
           "Artist",
           "Bucket",
           "Counters",
           "FakeServices",
           "Faults",
           "Service",
           "ThreadedFakes",
           "Track",
           "World",
]
