"""The one exception tree of enrich.

Third-party errors are wrapped where they cross into our code
(``raise SourceError(...) from exc``), so callers only ever catch these::

    EnrichError                      anything enrich raises on purpose
    ├── UsageError                   bad command-line input            exit 2
    ├── ConfigError                  bad setting: file, key, allowed   exit 2
    ├── StoreError                   the SQLite file cannot be used    exit 2
    │   └── LockedError              another run holds the database    exit 2
    ├── ItemError                    one item failed; the run goes on  exit 1
    │   ├── FileError                a file cannot be read or written
    │   ├── AnalysisError            audio could not be analysed
    │   └── SourceError              a web source failed for an item
    │       ├── NotFound             the source does not know the item
    │       ├── SourceUnavailable    the source is off for this run
    │       │                        (bad key, breaker open, offline)
    │       └── BadReply             the reply was not what we expect
    ├── PlaylistError                a playlist cannot be built        exit 2
    └── Interrupted                  Ctrl-C / SIGTERM; resumable       exit 130

Every message is one line that names the file, source or setting at fault.
"""

from __future__ import annotations


class EnrichError(Exception):
    """Base of every error enrich raises on purpose."""

    exit_code = 1


class UsageError(EnrichError):
    exit_code = 2


class ConfigError(EnrichError):
    """A setting is wrong. The message names the file, the key and what is allowed."""

    exit_code = 2


class StoreError(EnrichError):
    exit_code = 2


class LockedError(StoreError):
    """Another enrich run is writing the same database."""


class ItemError(EnrichError):
    """One item (file, track, request) failed; the run records it and goes on."""

    def __init__(self, item: str, reason: str):
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason


class FileError(ItemError):
    pass


class AnalysisError(ItemError):
    pass


class SourceError(ItemError):
    """A web source failed. ``item`` is the source name plus what was asked."""

    def __init__(self, source: str, reason: str, *, what: str = ""):
        super().__init__(f"{source} {what}".strip(), reason)
        self.source = source


class NotFound(SourceError):
    pass


class SourceUnavailable(SourceError):
    pass


class BadReply(SourceError):
    pass


class PlaylistError(EnrichError):
    exit_code = 2


class Interrupted(EnrichError):
    exit_code = 130
