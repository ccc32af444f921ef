"""The PostgreSQL + pgvector backend: several servers share one database (backend.py), whose
schema comes from versioned Alembic migrations (schema.py, migrations/)."""

import math

MAX_EF_SEARCH = 1000  # pgvector's limit
# hnsw.ef_search by the size of the collection searched, unless a fixed one is set: the lowest
# that found 0.95 of the exact top 10 at each measured size, in between on a log-log line
# (bench/scale_postgres.py on text-like vectors; docs/scaling.md). A larger graph needs more
# candidates for the same recall, and a small one is cheap to search at any.
_EF_SEARCH_BY_SIZE = ((20_000, 40), (1_000_000, 800))


def ef_search_for(chunks: int) -> int:
    """The ef_search a collection of ``chunks`` chunks is searched with by default."""
    (small, low), (large, high) = _EF_SEARCH_BY_SIZE
    if chunks <= small:
        return low
    slope = (math.log(high) - math.log(low)) / (math.log(large) - math.log(small))
    wanted: float = low * (chunks / small) ** slope
    return min(MAX_EF_SEARCH, math.ceil(wanted))
