"""enrich: genres, audio features and playlists for a local music library."""

__version__ = "0.1.0"

__all__ = ["Library", "__version__"]


def __getattr__(name: str) -> object:
    # Imported on first use so the command line starts without it.
    if name == "Library":
        from enrich.api import Library

        return Library
    raise AttributeError(f"module 'enrich' has no attribute {name!r}")
