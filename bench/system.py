"""The production shape for the benchmark: a throwaway PostgreSQL database, `manage.py runsystem`
on it and on a Redis database, an access key, and the memory of runsystem's children.

Whatever processes runsystem starts are what gets measured: nothing here names gunicorn or Celery
except to label a child's memory.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import redis

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(name: str) -> str:
    return f"{POSTGRES_URL}/{name}"


def database_create(name: str) -> str:
    """A new empty database `name` (an old one of that name is dropped first); its URL."""
    if not _NAME.match(name):
        raise ValueError(f"Not a plain database name: {name!r}")
    database_drop(name)
    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def database_drop(name: str) -> None:
    """Drops the database if it exists, ending whatever sessions still use it."""
    if not _NAME.match(name):
        raise ValueError(f"Not a plain database name: {name!r}")
    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def system_env(database: str, var_dir: Path, redis_url: str = REDIS_URL) -> dict[str, str]:
    """runsystem's environment: production settings on the given database and Redis. The API's
    own per-key rate limits are lifted (one key drives every client here) so that the figures are
    the system's capacity, not the limiter's window."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        DJANGO_SETTINGS_MODULE="serverlesspresso.settings.production",
        DJANGO_SECRET_KEY="bench-only-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=database_url(database),
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        SERVERLESSPRESSO_VAR_DIR=str(var_dir),
        RATE_LIMIT_SFN_CALLBACKS="100000000/10",
        RATE_LIMIT_SFN_STARTS="100000000/10",
        PYTHONUNBUFFERED="1",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


@dataclass
class System:
    process: subprocess.Popen
    port: int
    env: dict[str, str]
    log_path: Path
    access_key_id: str = ""
    secret_access_key: str = ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/sfn/"

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout


@contextlib.contextmanager
def running_system(database: str, *, timeout: float = 120) -> Iterator[System]:
    """runsystem on `database` (already created, empty: runsystem migrates it), up and answering,
    with an access key granted everything; stopped (SIGTERM, then its whole tree) on the way out."""
    var_dir = Path(tempfile.mkdtemp(prefix="wtbench-var-"))
    env = system_env(database, var_dir)
    port = free_port()
    log_path = var_dir / "runsystem.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runsystem", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    system = System(process, port, env, log_path)
    try:
        deadline = time.monotonic() + timeout
        while not answers(f"http://127.0.0.1:{port}/admin/login/"):
            if process.poll() is not None:
                raise RuntimeError(f"runsystem exited:\n{log_path.read_text()[-5000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"runsystem not up after {timeout}s:\n{log_path.read_text()[-5000:]}"
                )
            time.sleep(0.5)
        printed = system.manage(
            "create-access-key", "--username", "bench", "--create-user", "--grant", "all",
            "--description", "bench.throughput",
        )  # fmt: skip
        values = dict(line.split("=", 1) for line in printed.split() if "=" in line)
        system.access_key_id = values["AWS_ACCESS_KEY_ID"]
        system.secret_access_key = values["AWS_SECRET_ACCESS_KEY"]
        yield system
    finally:
        system_stop(process)


def system_stop(process: subprocess.Popen, *, timeout: float = 40) -> None:
    """Stops runsystem (or any supervisor) and its whole tree: SIGTERM, `timeout` seconds for it
    to stop its children, then a kill of whatever is left. A SIGKILL alone would orphan the
    children, each in its own process group."""
    if process.poll() is not None:
        return
    leftovers = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def _label(process: psutil.Process) -> str:
    """web (HTTP and stream servers), worker, beat, or the child's own name."""
    try:
        line = " ".join(process.cmdline())
    except psutil.Error:
        return "gone"
    if " beat" in line:
        return "beat"
    if " worker" in line and "celery" in line:
        return "worker"
    if any(word in line for word in ("gunicorn", "uvicorn", "daphne", "hypercorn", "asgi", "wsgi")):
        return "web"
    return process.name()


def _by_child(pid: int, measure: Callable[[psutil.Process], float]) -> dict[str, float]:
    """`measure` summed over each of runsystem's children with its own children, by label."""
    totals: dict[str, float] = {}
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return totals
    for child in children:
        label = _label(child)
        total = 0.0
        with contextlib.suppress(psutil.Error):
            for process in [child, *child.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += measure(process)
        totals[label] = totals.get(label, 0.0) + total
    return totals


def children_rss(pid: int) -> dict[str, float]:
    """MiB of resident memory of runsystem's children, each with its own children, by label."""
    return _by_child(pid, lambda process: process.memory_info().rss / 2**20)


def children_threads(pid: int) -> dict[str, int]:
    """Threads of runsystem's children, by label (a web process's request pool grows with
    concurrency, and each thread holds a database connection)."""
    return {k: int(v) for k, v in _by_child(pid, lambda p: p.num_threads()).items()}


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def children_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by runsystem's children, each with its own
    children, by label. Two readings around a run give what the run cost each kind of process,
    a figure the machine's other load distorts far less than wall-clock time."""
    return _by_child(pid, _cpu_seconds)


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds by label between two children_cpu readings."""
    return {label: after[label] - before.get(label, 0.0) for label in after}


@dataclass
class MemorySampler:
    """Samples children_rss every `interval` seconds in a thread, with the wall time."""

    pid: int
    interval: float = 1.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), children_rss(self.pid)))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
