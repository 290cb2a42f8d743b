"""Stage 4, recording: the SQLite ledger of every file received, its values, issues and supersessions,
and the lock that keeps one run at a time on it."""
