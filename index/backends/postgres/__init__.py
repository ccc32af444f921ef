"""The PostgreSQL + pgvector backend (issue 15, in progress): its schema, in versioned Alembic
migrations, comes first."""
