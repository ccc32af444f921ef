"""Alembic's environment for the PostgreSQL backend: online migrations only, one transaction
per run (PostgreSQL's DDL is transactional, so a failed upgrade changes nothing)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

MIGRATION_LOCK = 0x5E75EA_0001  # an advisory lock key of our own ("semsea", migrations)

url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url is not set"
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        # Replicas starting together migrate one at a time: the others wait here, then find
        # the schema at head and do nothing. The lock ends with the transaction.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()
engine.dispose()
