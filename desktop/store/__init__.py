"""Persistence: the SQLite registry (source of truth, with FTS5), the Chroma vectors, the embedder."""
