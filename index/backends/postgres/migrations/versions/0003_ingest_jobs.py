"""Ingest jobs: the job (status, progress, the worker holding it and until when), its records
as received (kept until it finishes) and the records it refused (index/jobs/store.py).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ingest_jobs (
            id varchar(32) PRIMARY KEY,
            status varchar(16) NOT NULL,
            total integer NOT NULL,
            done integer NOT NULL DEFAULT 0,
            failed integer NOT NULL DEFAULT 0,
            next_position integer NOT NULL DEFAULT 0,
            owner varchar(64),
            lease_until double precision NOT NULL DEFAULT 0,
            created_at double precision NOT NULL,
            started_at double precision,
            finished_at double precision,
            error text
        )
        """
    )
    op.execute("CREATE INDEX ix_ingest_jobs_status ON ingest_jobs (status)")
    op.execute("CREATE INDEX ix_ingest_jobs_created_at ON ingest_jobs (created_at)")
    op.execute(
        """
        CREATE TABLE ingest_job_records (
            job_id varchar(32) NOT NULL,
            position integer NOT NULL,
            line integer,
            item integer,
            body text,
            PRIMARY KEY (job_id, position)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ingest_job_errors (
            job_id varchar(32) NOT NULL,
            position integer NOT NULL,
            line integer,
            item integer,
            document_id text,
            field text NOT NULL,
            message text NOT NULL,
            PRIMARY KEY (job_id, position)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ingest_job_errors")
    op.execute("DROP TABLE ingest_job_records")
    op.execute("DROP TABLE ingest_jobs")
