"""A collection's store as release 0.1 wrote it: documents, chunks with their vectors, the
state table and the FTS5 lexical index. A store written before Alembic managed it already has
these tables: each is created only where it is missing, so the store is adopted as it is.

Revision ID: s0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    """CREATE TABLE IF NOT EXISTS documents (
    id VARCHAR NOT NULL,
    title VARCHAR,
    source VARCHAR,
    url VARCHAR,
    published_at DATE,
    metadata JSON NOT NULL,
    text VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    char_count INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE TABLE IF NOT EXISTS state (
    "key" VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY ("key")
)""",
    # AUTOINCREMENT: a deleted chunk's id is never handed out again, so a vector index id
    # always names the same chunk.
    """CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    document_id VARCHAR NOT NULL,
    chunk_index INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    token_count INTEGER NOT NULL,
    sentences JSON NOT NULL,
    vector BLOB NOT NULL,
    sentence_vectors BLOB,
    FOREIGN KEY(document_id) REFERENCES documents (id)
)""",
    "CREATE INDEX IF NOT EXISTS ix_documents_published_at ON documents (published_at)",
    "CREATE INDEX IF NOT EXISTS ix_documents_source ON documents (source)",
    "CREATE INDEX IF NOT EXISTS ix_chunks_document_id ON chunks (document_id)",
    # Filled from the chunks when it disagrees with them (database.py), as release 0.1 did.
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(title, body,"
    " tokenize='porter unicode61 remove_diacritics 2')",
)


def upgrade() -> None:
    for statement in _TABLES:
        op.execute(statement)


def downgrade() -> None:
    for table in ("chunks_fts", "chunks", "state", "documents"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
