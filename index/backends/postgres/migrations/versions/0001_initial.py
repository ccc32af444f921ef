"""Documents, chunks with their vectors and lexical vectors, and the state table.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DIMENSION = 384  # all-MiniLM-L6-v2


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        """
        CREATE TABLE documents (
            id text PRIMARY KEY,
            title text,
            source text,
            url text,
            published_at date,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            text text NOT NULL,
            content_hash text NOT NULL,
            char_count integer NOT NULL,
            chunk_count integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX documents_source ON documents (source)")
    op.execute("CREATE INDEX documents_published_at ON documents (published_at)")
    op.execute("CREATE INDEX documents_metadata ON documents USING gin (metadata jsonb_path_ops)")
    # A chunk id comes from a sequence: never handed out twice, as with SQLite's AUTOINCREMENT.
    # `lexical` is the weighted title (A) and chunk text (B), written with the chunk.
    op.execute(
        f"""
        CREATE TABLE chunks (
            id bigserial PRIMARY KEY,
            document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            chunk_index integer NOT NULL,
            char_start integer NOT NULL,
            char_end integer NOT NULL,
            token_count integer NOT NULL,
            sentences jsonb NOT NULL,
            embedding vector({DIMENSION}) NOT NULL,
            sentence_vectors bytea,
            lexical tsvector NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX chunks_document ON chunks (document_id)")
    op.execute("CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)")
    op.execute("CREATE INDEX chunks_lexical ON chunks USING gin (lexical)")
    op.execute("CREATE TABLE state (key text PRIMARY KEY, value text NOT NULL)")


def downgrade() -> None:
    op.execute("DROP TABLE state")
    op.execute("DROP TABLE chunks")
    op.execute("DROP TABLE documents")
