"""The ingest jobs as release 0.1 kept them: jobs, their records, their refused records. A
jobs.sqlite3 written before Alembic managed it already has these tables: each is created only
where it is missing.

Revision ID: j0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "j0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    """CREATE TABLE IF NOT EXISTS ingest_jobs (
    id VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    next_position INTEGER NOT NULL,
    owner VARCHAR(64),
    lease_until FLOAT NOT NULL,
    created_at FLOAT NOT NULL,
    started_at FLOAT,
    finished_at FLOAT,
    error TEXT,
    PRIMARY KEY (id)
)""",
    """CREATE TABLE IF NOT EXISTS ingest_job_records (
    job_id VARCHAR(32) NOT NULL,
    position INTEGER NOT NULL,
    line INTEGER,
    item INTEGER,
    body TEXT,
    PRIMARY KEY (job_id, position)
)""",
    """CREATE TABLE IF NOT EXISTS ingest_job_errors (
    job_id VARCHAR(32) NOT NULL,
    position INTEGER NOT NULL,
    line INTEGER,
    item INTEGER,
    document_id TEXT,
    field TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
)""",
    "CREATE INDEX IF NOT EXISTS ix_ingest_jobs_status ON ingest_jobs (status)",
    "CREATE INDEX IF NOT EXISTS ix_ingest_jobs_created_at ON ingest_jobs (created_at)",
)


def upgrade() -> None:
    for statement in _TABLES:
        op.execute(statement)


def downgrade() -> None:
    for table in ("ingest_job_errors", "ingest_job_records", "ingest_jobs"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
