"""The stores the system under test runs on: the benchmark's throwaway PostgreSQL databases and
its Redis database, the engine's test database made from the configured one, and the URLs that
point a subprocess at them.

Only names the benchmark chooses are created, emptied or dropped here, never a configured one.
"""

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import redis

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def database_url(name: str) -> str:
    return f"{POSTGRES_URL}/{name}"


def _plain(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"Not a plain database name: {name!r}")
    return name


def database_create(name: str) -> str:
    """A new empty database `name` (an old one of that name is dropped first); its URL."""
    database_drop(name)
    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{_plain(name)}"')
    return database_url(name)


def database_drop(name: str) -> None:
    """Drops the database if it exists, ending whatever sessions still use it."""
    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{_plain(name)}" WITH (FORCE)')


def database_exists(name: str) -> bool:
    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def autovacuum_on() -> bool:
    """Whether the server vacuums and analyzes on its own (this machine's is set not to)."""
    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        return connection.execute("SHOW autovacuum").fetchone()[0] == "on"


def database_vacuum(name: str) -> None:
    """What autovacuum would have done by now: dead rows' space reused, the visibility map and
    statistics fresh. Without it a long run's updated rows pile up, and an index scan over
    executions that were once RUNNING (the shop's capacity count) visits every one of them."""
    with psycopg.connect(database_url(name), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")


@contextlib.contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    """A new empty database `name` and an empty benchmark Redis database for the block; both
    emptied again after it (this process's Django connections closed first, if it has any)."""
    redis_flush()
    url = database_create(name)
    try:
        yield url
    finally:
        from django.conf import settings

        if settings.configured:  # not when runsystem never came up
            from django.db import connections

            connections.close_all()
        database_drop(name)
        redis_flush()


def redis_flush(url: str = REDIS_URL) -> None:
    """Empties the benchmark's own Redis database (never another one)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def django_database_url() -> str:
    """The URL of the database this process's Django uses (the test database under pytest, the
    benchmark's under bench.lifecycle), for a subprocess to use the same one."""
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{conf['NAME']}"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{conf['USER']}{password}@{host}:{port}/{conf['NAME']}"


def services_for(redis_url: str) -> dict[str, str]:
    """runsystem's services: this process's database and the given Redis (broker and events)."""
    return {
        "DATABASE_URL": django_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
    }


@contextlib.contextmanager
def engine_database(name: str) -> Iterator:
    """Django set up in this process on a throwaway database named `name`, made from the
    configured one (DATABASE_URL, or a SQLite file of that name), and on an embedded Redis when
    no REDIS_URL is set; the database destroyed and that Redis stopped after the block. Yields
    Django's connection."""
    import django

    redis_process = None
    if "REDIS_URL" not in os.environ:
        from serverlesspresso import embedded_redis

        socket = Path(tempfile.mkdtemp(prefix="sp-bench-")) / "redis.sock"
        redis_process = embedded_redis.start(socket)
        os.environ["REDIS_URL"] = f"unix://{socket}"
    try:
        django.setup()
        from django.db import connection, connections

        old_name = connection.settings_dict["NAME"]
        # A name of its own, so a concurrent pytest run's test database is never clobbered.
        bench_name = name
        if connection.vendor == "sqlite":
            bench_name = str(Path(tempfile.mkdtemp(prefix="sp-bench-db-")) / f"{name}.sqlite3")
        connection.settings_dict["TEST"]["NAME"] = bench_name
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            yield connection
        finally:
            connections.close_all()
            connection.creation.destroy_test_db(old_name, verbosity=0)
    finally:
        if redis_process is not None:
            redis_process.terminate()
