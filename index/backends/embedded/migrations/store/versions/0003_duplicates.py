"""Near-duplicate documents (index/duplicates.py): each document's fingerprint and the copy
it is of, and the band keys its fingerprint is indexed under.

Documents already stored get their fingerprints and band keys here, so a copy of one written
later is recognised; they are not linked to each other (a document is linked when written).
A store written before Alembic managed it may hold these already (it is then at head with no
version table): each is made only where it is missing.

Revision ID: s0003
Revises: s0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from index.duplicates import fingerprint

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    inspector = sa.inspect(connection)
    present = {column["name"] for column in inspector.get_columns("documents")}
    if "duplicate_of" not in present:
        with op.batch_alter_table("documents") as batch:
            batch.add_column(sa.Column("duplicate_of", sa.String()))
            batch.add_column(sa.Column("fingerprint", sa.LargeBinary()))
            batch.create_index("ix_documents_duplicate_of", ["duplicate_of"])
    if not inspector.has_table("document_bands"):
        op.create_table(
            "document_bands",
            sa.Column("band_key", sa.BigInteger(), nullable=False),
            sa.Column("document_id", sa.String(), nullable=False),
        )
        op.create_index("ix_document_bands_band_key", "document_bands", ["band_key"])
        op.create_index("ix_document_bands_document_id", "document_bands", ["document_id"])
    after = ""
    while rows := connection.execute(
        sa.text(
            "SELECT id, text FROM documents WHERE id > :after AND fingerprint IS NULL"
            " ORDER BY id LIMIT 500"
        ),
        {"after": after},
    ).all():
        for document_id, text in rows:
            made = fingerprint(text)
            connection.execute(
                sa.text("UPDATE documents SET fingerprint = :f WHERE id = :id"),
                {"f": made.to_bytes(), "id": document_id},
            )
            connection.execute(
                sa.text("INSERT INTO document_bands VALUES (:key, :id)"),
                [{"key": key, "id": document_id} for key in made.band_keys()],
            )
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_table("document_bands")
    # SQLite drops a column in place (3.35+), where batch mode would copy the table: a copy
    # cannot drop `documents` while chunks refer to it.
    op.drop_index("ix_documents_duplicate_of", table_name="documents")
    op.drop_column("documents", "fingerprint")
    op.drop_column("documents", "duplicate_of")
