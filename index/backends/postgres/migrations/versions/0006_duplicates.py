"""Near-duplicate documents (index/duplicates.py): each document's fingerprint and the copy
it is of, and the band keys its fingerprint is indexed under.

Documents already stored get their fingerprints and band keys here, so a copy of one written
later is recognised; they are not linked to each other (a document is linked when written).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from index.duplicates import fingerprint

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE documents ADD COLUMN duplicate_of text, ADD COLUMN fingerprint bytea")
    op.execute("CREATE INDEX documents_duplicate_of ON documents (collection, duplicate_of)")
    op.execute(
        "CREATE TABLE document_bands (collection text NOT NULL, band_key bigint NOT NULL,"
        " document_id text NOT NULL, FOREIGN KEY (collection, document_id)"
        " REFERENCES documents (collection, id) ON DELETE CASCADE)"
    )
    op.execute("CREATE INDEX document_bands_key ON document_bands (collection, band_key)")
    op.execute("CREATE INDEX document_bands_document ON document_bands (collection, document_id)")
    connection = op.get_bind()
    after = ("", "")
    while rows := connection.execute(
        sa.text(
            "SELECT collection, id, text FROM documents WHERE (collection, id) > (:c, :i)"
            " ORDER BY collection, id LIMIT 500"
        ),
        {"c": after[0], "i": after[1]},
    ).all():
        for collection, document_id, text in rows:
            made = fingerprint(text)
            place = {"c": collection, "i": document_id}
            connection.execute(
                sa.text("UPDATE documents SET fingerprint = :f WHERE collection = :c AND id = :i"),
                place | {"f": made.to_bytes()},
            )
            connection.execute(
                sa.text("INSERT INTO document_bands VALUES (:c, :key, :i)"),
                [place | {"key": key} for key in made.band_keys()],
            )
        after = (rows[-1][0], rows[-1][1])


def downgrade() -> None:
    op.execute("DROP TABLE document_bands")
    op.execute("ALTER TABLE documents DROP COLUMN duplicate_of, DROP COLUMN fingerprint")
