"""The production processes as subprocesses on the test's database: gunicorn, a Celery worker,
beat, each pointed at a private Redis that the test owns (and may stop or empty). They are
started and stopped by the benchmark's harness (bench.system.Processes).

Unlike tests/system.py (runsystem on its own var/), these share pytest's test database, so a test
can seed and read rows with the ORM while the real processes do the work. Use them with
`transactional_db`, so what the test writes is committed.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.stores import django_database_url
from bench.system import Processes, RedisServer


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A Redis of the test's own on a free TCP port; yields its URL. The test may stop it."""
    server = RedisServer(Path(tempfile.mkdtemp(prefix="sp-private-redis-"))).start()
    try:
        yield server.url
    finally:
        server.stop()


def process_env(redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process: the test database, the private Redis, no AWS."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        {
            "DATABASE_URL": django_database_url(),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "SERVERLESSPRESSO_VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


@contextlib.contextmanager
def production_processes(redis_url: str, tmp_path: Path, **extra: str) -> Iterator[Processes]:
    """Processes on the test database and `redis_url`, logging to `tmp_path`; all stopped on the
    way out, their logs printed (pytest shows them for a failed test)."""
    processes = Processes(process_env(redis_url, tmp_path, **extra), tmp_path, show_logs=True)
    try:
        yield processes
    finally:
        processes.close()
