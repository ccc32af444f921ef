"""Documents read from files: the format they came in, and where each page starts in the text
(for a PDF), so citations can name their pages. Both columns are NULL for documents sent as
text, which is every document stored before.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE documents ADD COLUMN format text, ADD COLUMN page_starts integer[]")


def downgrade() -> None:
    op.execute("ALTER TABLE documents DROP COLUMN format, DROP COLUMN page_starts")
