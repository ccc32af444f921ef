"""The PostgreSQL + pgvector backend: several servers share one database (backend.py), whose
schema comes from versioned Alembic migrations (schema.py, migrations/)."""

# Candidates pgvector's HNSW search keeps per query (at least k). Recall@10 at 1M text-like
# chunks: 0.73 at pgvector's default of 40, 0.87 at 200, 0.90 at 400, 0.96 at 800, which is
# about what the embedded IVF index gives (docs/scaling.md).
DEFAULT_EF_SEARCH = 800
MAX_EF_SEARCH = 1000  # pgvector's limit
