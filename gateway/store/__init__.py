"""Local persistence: SQLite with one writer, and the content-addressed blob store."""
