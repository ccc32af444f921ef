"""A replica SIGKILLed under load: the other serves on, retrying clients see no failure, and no
acknowledged write is lost (issue 35).

One PostgreSQL (tests/postgres.py), two `semsearch serve` replicas on it over the seed corpus,
and CLIENTS clients taking the replicas in turn, each retrying a failed attempt (transport
error or 5xx) on the other one (tests/replica_kill.py). They mix hybrid searches with upserts
of new documents for BEFORE_S seconds; then one replica is SIGKILLed (no shutdown handler
runs) and they go on for AFTER_S seconds. The survivor must have answered every attempt sent
to it, before and after the kill; no client request may have failed on both replicas; and
every upsert answered 2xx must read back, with its text, from the survivor.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import Server, assert_consistent, free_port
from tests.postgres import Postgres
from tests.replica_kill import run_kill_scenario

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

CLIENTS = 4
BEFORE_S = float(os.environ.get("SEMSEARCH_REPLICA_KILL_BEFORE_S", "5"))
AFTER_S = float(os.environ.get("SEMSEARCH_REPLICA_KILL_AFTER_S", "6"))
VICTIM = 1


def test_sigkill_of_a_replica_under_load_fails_no_retrying_client_and_loses_no_write(
    tmp_path: Path, postgres: Postgres
) -> None:
    database_url = postgres.fresh_database()
    env = {"SEMSEARCH_DATABASE_URL": database_url}  # seeded once, by whichever starts first
    replicas = []
    for n in range(2):
        (tmp_path / f"replica{n}").mkdir()
        replicas.append(Server(tmp_path / f"replica{n}" / "data", free_port(), env))
    try:
        with ThreadPoolExecutor(len(replicas)) as pool:  # both at once: half the wait
            list(pool.map(Server.start, replicas))
    except BaseException:
        for replica in replicas:
            replica.stop()
        raise
    survivor, victim = replicas[1 - VICTIM], replicas[VICTIM]

    def kill() -> None:
        assert victim.process is not None
        victim.process.kill()  # SIGKILL
        victim.process.wait(timeout=30)

    try:
        report = run_kill_scenario(
            [r.url for r in replicas],
            kill,
            VICTIM,
            clients=CLIENTS,
            before_s=BEFORE_S,
            after_s=AFTER_S,
            prefix="drill",
        )
    finally:
        for replica in replicas:
            replica.stop()
    print(report.summary())
    assert report.failures == 0, report.failure_examples
    assert report.survivor_failures == 0
    assert report.survivor_ok_after_kill > 0
    assert report.victim_ok_after_kill == 0 and report.victim_failed_after_kill > 0
    assert report.retries > 0
    assert report.writes_acknowledged > 0 and report.writes_acknowledged == report.writes
    assert report.lost_writes == []
    assert_consistent(survivor.data_dir, database_url)
