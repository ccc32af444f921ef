"""The embedded backend: SQLite (the source of truth), FAISS and tantivy (derived caches) in one
data directory that one process owns.

config.py     EmbeddedConfig: the data directory and the tuning only this backend reads
backend.py    EmbeddedBackend and its collections (the seam's implementation)
catalog.py    collections' counts read without opening them; opened.py: open on use, close idle
database.py   SqliteDatabase: one collection's documents, chunks and vectors
schema.py     Alembic migrations of the SQLite files (migrations/store, migrations/jobs)
vectors.py    the FAISS index; tantivy_index.py the top-k BM25 index; fts5.py SQLite's own
jobs.py       ingest jobs in jobs.sqlite3; lock.py the data-directory lock; rwlock.py
"""
