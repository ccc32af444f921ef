"""The PostgreSQL + pgvector backend: several servers share one database (backend.py), whose
schema comes from versioned Alembic migrations (schema.py, migrations/)."""
