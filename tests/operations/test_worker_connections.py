"""A worker keeps its PostgreSQL connections between tasks, and replaces one the server dropped.

Celery's Django fixup would close every connection around each task, so that each nudge paid a
new connection (serverlesspresso.celery says why that is switched off). These run a real prefork
worker on the test database and read its connections from pg_stat_activity; the fault is a real
pg_terminate_backend of the worker's connections between tasks.
"""

import pytest
import redis
from celery import Celery
from django.db import connection

from tests.conftest import wait_for
from tests.processes import private_redis, production_processes

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has no server connections: CONN_MAX_AGE is 0 there, one per task",
    ),
]
NUDGE = "stepfunctions.tasks.advance_execution"


def _backends() -> set[tuple[int, object]]:
    """(pid, start) of every client connection to the test database but this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return set(cursor.fetchall())


class _Nudger:
    """Sends empty nudges to the worker (each claims nothing and returns) and waits until the
    worker logged every one of them as done."""

    def __init__(self, url: str, processes, others: set) -> None:
        # Connections open before the worker started (the suite's own in-process worker, a live
        # server's threads) are not the worker's: never counted, never terminated.
        self.others = others
        self.sender = Celery()
        # Named here: Celery() would take CELERY_BROKER_URL's broker, the suite's own.
        self.connection = self.sender.connection_for_write(url)
        self.broker = redis.Redis.from_url(url)
        self.processes = processes
        self.sent = 0

    def run(self, count: int) -> None:
        for _ in range(count):
            self.sender.send_task(NUDGE, connection=self.connection)
        self.sent += count
        wait_for(
            lambda: self.processes.log("worker").count(f"{NUDGE}[") >= 2 * self.sent
            and self.broker.llen("celery") == 0,
            timeout=60, interval=0.1, message=f"the worker to run {self.sent} nudges",
        )  # fmt: skip

    def backends(self) -> set[tuple[int, object]]:
        return _backends() - self.others

    def close(self) -> None:
        self.connection.release()
        self.sender.close()
        self.broker.close()


@pytest.fixture
def worker(transactional_db, tmp_path):
    with private_redis() as url, production_processes(url, tmp_path) as processes:
        others = _backends()
        processes.worker()
        nudger = _Nudger(url, processes, others)
        try:
            yield nudger
        finally:
            nudger.close()


def _assert_every_nudge_succeeded(worker) -> None:
    log = worker.processes.log("worker")
    assert log.count(" succeeded in ") == worker.sent, log[-4000:]
    assert "raised unexpected" not in log, log[-4000:]


def test_the_pool_keeps_its_connections_from_task_to_task(worker):
    worker.run(20)
    kept = worker.backends()
    # One connection per pool process that ran a nudge (two processes), held while idle.
    assert 1 <= len(kept) <= 2, kept

    worker.run(200)
    assert worker.backends() == kept, "the same connections, not 200 new ones"
    _assert_every_nudge_succeeded(worker)


def test_a_connection_the_server_dropped_between_tasks_is_replaced_before_the_next_task(worker):
    worker.run(20)
    dropped = worker.backends()
    assert dropped
    with connection.cursor() as cursor:
        for pid, _ in dropped:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_for(lambda: not (worker.backends() & dropped), timeout=10, message="the backends gone")

    # Each pool process meets its dead connection at its next task: the health check finds it
    # dead and opens a new one, so no nudge fails (a failed claim would leave stages to the relay).
    worker.run(20)
    _assert_every_nudge_succeeded(worker)
    replaced = worker.backends()
    assert replaced and not (replaced & dropped)
