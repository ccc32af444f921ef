"""The PostgreSQL the tests start themselves (tests/postgres.py) has pgvector: a cosine HNSW
index answers a nearest-neighbour query. The groundwork for the PostgreSQL backend (issue 15)."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from tests.postgres import Postgres, start_postgres

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)


def test_pgvector_answers_a_cosine_nearest_neighbour_query(postgres: Postgres) -> None:
    with psycopg.connect(postgres.url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(connection)
        version = connection.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        assert version is not None and tuple(map(int, version[0].split("."))) >= (0, 8, 0)
        connection.execute("CREATE TABLE chunks (id bigint PRIMARY KEY, embedding vector(3))")
        connection.execute("CREATE INDEX ON chunks USING hnsw (embedding vector_cosine_ops)")
        rows = [(1, [1.0, 0.0, 0.0]), (2, [0.0, 1.0, 0.0]), (3, [0.7, 0.7, 0.0])]
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO chunks VALUES (%s, %s)", [(i, np.array(v)) for i, v in rows]
            )
        nearest = connection.execute(
            "SELECT id FROM chunks ORDER BY embedding <=> %s LIMIT 2",
            (np.array([0.9, 0.1, 0.0]),),
        ).fetchall()
    assert [row[0] for row in nearest] == [1, 3]


def test_stopping_removes_the_cluster() -> None:
    server = start_postgres()
    with psycopg.connect(server.url) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
    server.stop()
    assert not server.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url, connect_timeout=2)
