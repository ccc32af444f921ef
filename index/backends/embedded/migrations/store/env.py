"""Alembic's environment for one of the embedded store's SQLite files: online only, on the
connection schema.py hands over, in batch mode (SQLite alters a table by copying it)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
