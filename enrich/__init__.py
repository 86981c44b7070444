"""enrich: genres, audio features and playlists for a local music library."""

__version__ = "0.1.0"
