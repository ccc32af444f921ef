"""Documents read from files: the format they came in, and where each page starts in the text
(for a PDF). Both are NULL for documents sent as text, which is every document stored before.
Also gives a store from before release 0.1 its per-sentence vectors column (NULL: support
embeds those sentences when asked). A store written before Alembic may have any of these
columns already: each is added only where it is missing.

Revision ID: s0002
Revises: s0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None

_ADDED = {
    "chunks": (sa.Column("sentence_vectors", sa.LargeBinary()),),
    "documents": (sa.Column("format", sa.String()), sa.Column("page_starts", sa.JSON())),
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, columns in _ADDED.items():
        present = {column["name"] for column in inspector.get_columns(table)}
        missing = [column for column in columns if column.name not in present]
        if missing:
            with op.batch_alter_table(table) as batch:
                for column in missing:
                    batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("page_starts")
        batch.drop_column("format")
