"""The stores the system under test runs on: the benchmark's throwaway PostgreSQL databases and
its Redis database, the engine's test database made from the configured one, the URLs that
point a subprocess at them, and a TCP link to the database that a fault cuts (DatabaseLink).

Only names the benchmark chooses are created, emptied or dropped here, never a configured one.
"""

import contextlib
import os
import re
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

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


@dataclass
class DatabaseLink:
    """A TCP proxy between the system and PostgreSQL: `cut()` drops every connection and refuses
    new ones (the database unreachable, as in a stop or a network partition), `mend()` lets them
    in again, on the same port (a free one chosen at the first `mend()` when none is given)."""

    upstream: tuple[str, int]
    port: int = 0
    _listener: socket.socket | None = None
    _pairs: list[tuple[socket.socket, socket.socket]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mend(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def database_link() -> Iterator[SimpleNamespace]:
    """A DatabaseLink to the database this process's Django uses (PostgreSQL), mended; yields
    `link` and `url`, the DATABASE_URL that goes through it. Cut on the way out."""
    from django.db import connection

    database = connection.settings_dict
    link = DatabaseLink((database.get("HOST") or "127.0.0.1", int(database.get("PORT") or 5432)))
    link.mend()
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    url = f"postgres://{database['USER']}{password}@127.0.0.1:{link.port}/{database['NAME']}"
    try:
        yield SimpleNamespace(link=link, url=url)
    finally:
        link.cut()
