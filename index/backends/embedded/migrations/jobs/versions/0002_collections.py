"""Jobs name the collection they write to, and which one of that name (one deleted and made
again is another); older jobs wrote to the default collection. A jobs.sqlite3 written before
Alembic may have these columns already: they are added only where missing.

Revision ID: j0002
Revises: j0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "j0002"
down_revision = "j0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("ingest_jobs")}
    if "collection_created_at" not in present:
        op.add_column("ingest_jobs", sa.Column("collection_created_at", sa.Text()))
    if "collection" not in present:
        op.add_column(
            "ingest_jobs",
            sa.Column(
                "collection", sa.String(63), nullable=False, server_default=sa.text("'default'")
            ),
        )
        op.create_index("ix_ingest_jobs_collection", "ingest_jobs", ["collection"])


def downgrade() -> None:
    op.drop_index("ix_ingest_jobs_collection", "ingest_jobs")
    with op.batch_alter_table("ingest_jobs") as batch:
        batch.drop_column("collection")
        batch.drop_column("collection_created_at")
