"""Looking at what the database knows: the query language, keys, listings, stats, export and the report.

Pure parts only (parsing, key names, formatting); the SQL they lead to lives in
``enrich/store/browse.py`` and ``enrich/store/stats.py``.
"""
