"""Collections: named, isolated sets of documents. Every document, chunk and posting belongs
to one (the same document id in two collections names two documents), BM25's totals and
document frequencies are kept per collection, and an ingest job writes into one. What was
stored before becomes the collection `default`.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DEFAULT = "default"


def _add_collection_column(table: str) -> None:
    """A NOT NULL column filled with `default` for the rows already there. A constant default
    is stored in the catalog, not written into each row; dropping it afterwards makes every
    writer name its collection."""
    op.execute(f"ALTER TABLE {table} ADD COLUMN collection text NOT NULL DEFAULT '{DEFAULT}'")
    op.execute(f"ALTER TABLE {table} ALTER COLUMN collection DROP DEFAULT")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE collections (
            name text PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(f"INSERT INTO collections (name) VALUES ('{DEFAULT}')")
    _documents_up()
    _chunks_up()
    _postings_up()
    _totals_up()
    # As index/jobs/store.py declares it: Column("collection", String(63), nullable=False,
    # default="default", index=True); the server default fills the jobs already there.
    op.execute(
        f"ALTER TABLE ingest_jobs ADD COLUMN collection varchar(63) NOT NULL DEFAULT '{DEFAULT}'"
    )
    op.execute("CREATE INDEX ix_ingest_jobs_collection ON ingest_jobs (collection)")
    # Which collection of that name: its creation time (null for jobs from before collections,
    # all of the default one's)
    op.execute("ALTER TABLE ingest_jobs ADD COLUMN collection_created_at text")


def _documents_up() -> None:
    """Documents keyed by (collection, id), removed with their collection."""
    _add_collection_column("documents")
    # the chunks' foreign key depends on the primary key being replaced
    op.execute("ALTER TABLE chunks DROP CONSTRAINT chunks_document_id_fkey")
    op.execute("ALTER TABLE documents DROP CONSTRAINT documents_pkey")
    op.execute("ALTER TABLE documents ADD CONSTRAINT documents_pkey PRIMARY KEY (collection, id)")
    op.execute(
        "ALTER TABLE documents ADD CONSTRAINT documents_collection_fkey FOREIGN KEY (collection)"
        " REFERENCES collections (name) ON DELETE CASCADE"
    )
    # listing a collection's documents by source, filtering by date: within the collection
    op.execute("DROP INDEX documents_source")
    op.execute("CREATE INDEX documents_source ON documents (collection, source)")
    op.execute("DROP INDEX documents_published_at")
    op.execute("CREATE INDEX documents_published_at ON documents (collection, published_at)")


def _chunks_up() -> None:
    """Chunks belong to (collection, document_id); their ids stay one global sequence."""
    _add_collection_column("chunks")
    op.execute(
        "ALTER TABLE chunks ADD CONSTRAINT chunks_document_fkey"
        " FOREIGN KEY (collection, document_id) REFERENCES documents (collection, id)"
        " ON DELETE CASCADE"
    )
    op.execute("DROP INDEX chunks_document")
    op.execute("CREATE INDEX chunks_document ON chunks (collection, document_id)")


def _postings_up() -> None:
    """A term's postings per collection: its document frequency and its postings are then one
    index-only range scan of the collection's own."""
    _add_collection_column("chunk_terms")
    op.execute("ALTER TABLE chunk_terms DROP CONSTRAINT chunk_terms_pkey")
    op.execute(
        "ALTER TABLE chunk_terms ADD CONSTRAINT chunk_terms_pkey"
        " PRIMARY KEY (collection, term, chunk_id) INCLUDE (tf, length)"
    )


def _totals_up() -> None:
    """The singleton row of BM25 totals becomes the default collection's row."""
    op.execute("ALTER TABLE lexical_totals ADD COLUMN collection text")
    op.execute(f"UPDATE lexical_totals SET collection = '{DEFAULT}'")
    op.execute("ALTER TABLE lexical_totals DROP COLUMN singleton")  # with its key and check
    op.execute("ALTER TABLE lexical_totals ALTER COLUMN collection SET NOT NULL")
    op.execute(
        "ALTER TABLE lexical_totals ADD CONSTRAINT lexical_totals_pkey PRIMARY KEY (collection)"
    )
    op.execute(
        "ALTER TABLE lexical_totals ADD CONSTRAINT lexical_totals_collection_fkey"
        " FOREIGN KEY (collection) REFERENCES collections (name) ON DELETE CASCADE"
    )
    # a store at 0002 always has its row, but never leave the default collection without one
    op.execute(
        "INSERT INTO lexical_totals (collection, chunks, length)"
        f" SELECT '{DEFAULT}', count(*), coalesce(sum(lexical_length), 0) FROM chunks"
        " ON CONFLICT (collection) DO NOTHING"
    )


def downgrade() -> None:
    """Back to one store: the default collection's; every other collection is deleted."""
    # Jobs have no foreign key to their collection: remove other collections' jobs by hand.
    for table in ("ingest_job_records", "ingest_job_errors"):
        op.execute(
            f"DELETE FROM {table} WHERE job_id IN"
            f" (SELECT id FROM ingest_jobs WHERE collection <> '{DEFAULT}')"
        )
    op.execute(f"DELETE FROM ingest_jobs WHERE collection <> '{DEFAULT}'")
    # documents, chunks, postings and totals follow by cascade
    op.execute(f"DELETE FROM collections WHERE name <> '{DEFAULT}'")
    op.execute("DROP INDEX ix_ingest_jobs_collection")
    op.execute("ALTER TABLE ingest_jobs DROP COLUMN collection_created_at")
    op.execute("ALTER TABLE ingest_jobs DROP COLUMN collection")

    op.execute("ALTER TABLE lexical_totals DROP COLUMN collection")  # with its key and FK
    op.execute(
        "ALTER TABLE lexical_totals"
        " ADD COLUMN singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)"
    )

    op.execute("ALTER TABLE chunk_terms DROP COLUMN collection")  # with its key
    op.execute(
        "ALTER TABLE chunk_terms ADD CONSTRAINT chunk_terms_pkey"
        " PRIMARY KEY (term, chunk_id) INCLUDE (tf, length)"
    )

    op.execute("ALTER TABLE chunks DROP CONSTRAINT chunks_document_fkey")
    op.execute("DROP INDEX chunks_document")
    op.execute("ALTER TABLE chunks DROP COLUMN collection")
    op.execute("DROP INDEX documents_source")
    op.execute("DROP INDEX documents_published_at")
    op.execute("ALTER TABLE documents DROP COLUMN collection")  # with its key and FK
    op.execute("ALTER TABLE documents ADD CONSTRAINT documents_pkey PRIMARY KEY (id)")
    op.execute("CREATE INDEX documents_source ON documents (source)")
    op.execute("CREATE INDEX documents_published_at ON documents (published_at)")
    op.execute(
        "ALTER TABLE chunks ADD CONSTRAINT chunks_document_id_fkey FOREIGN KEY (document_id)"
        " REFERENCES documents (id) ON DELETE CASCADE"
    )
    op.execute("CREATE INDEX chunks_document ON chunks (document_id)")
    op.execute("DROP TABLE collections")
