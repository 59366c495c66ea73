"""The production processes as subprocesses on the test's database: gunicorn, a Celery worker,
beat, each pointed at a private Redis that the test owns (and may stop or empty).

Unlike tests/system.py (runsystem on its own var/), these share pytest's test database, so a test
can seed and read rows with the ORM while the real processes do the work. Use them with
`transactional_db`, so what the test writes is committed.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import redis
from django.db import connection

from serverlesspresso.embedded_redis import _executable
from tests.conftest import wait_for
from tests.system import REPO, answers_200, free_port


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A Redis of the test's own on a free TCP port; yields its URL. The test may stop it."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="sp-private-redis-")
    process = subprocess.Popen(
        [_executable(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_for(answers, timeout=10, message="the private redis-server")
        yield url
    finally:
        client.close()
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def database_url_for_tests() -> str:
    """pytest's test database as a DATABASE_URL for a subprocess."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


def process_env(redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process: the test database, the private Redis, no AWS."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        {
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "SERVERLESSPRESSO_VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


class Processes:
    """Starts processes with one environment; stops them all (and their children) on close."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=REPO, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.running[name] = process
        return process

    def gunicorn(self, *, workers: int = 1) -> str:
        """gunicorn with `workers` processes; returns its URL once /health/live answers."""
        port = free_port()
        self.start(
            "web", "gunicorn", "serverlesspresso.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "gthread", "--threads", "4",
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: self.alive("web") and answers_200(f"{url}/health/live"),
            timeout=60, interval=0.2, message="gunicorn",
        )  # fmt: skip
        return url

    def worker(self, name: str = "worker") -> subprocess.Popen:
        return self.start(
            name, "celery", "-A", "serverlesspresso", "worker", "--pool", "prefork",
            "--concurrency", "2", "-n", f"{name}@%h", "-l", "info",
        )  # fmt: skip

    def beat(self, name: str = "beat") -> subprocess.Popen:
        """Beat with its own schedule file, so a second one (a mistake the README covers) can run."""
        schedule = str(self.log_dir / f"{name}-schedule")
        return self.start(
            name, "celery", "-A", "serverlesspresso", "beat", "-l", "info", "--schedule", schedule
        )

    def alive(self, name: str) -> bool:
        process = self.running[name]
        assert process.poll() is None, f"{name} exited early:\n{self.log(name)}"
        return True

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str) -> None:
        """SIGTERM to the process group (a worker's pool too), SIGKILL after 20 s."""
        process = self.running.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def close(self) -> None:
        for name in list(self.running):
            self.stop(name)
        for path in sorted(self.log_dir.glob("*.log")):
            # pytest shows this for a failed test.
            print(f"----- {path.name}\n{path.read_text(errors='replace')[-8000:]}")


@contextlib.contextmanager
def production_processes(redis_url: str, tmp_path: Path, **extra: str) -> Iterator[Processes]:
    processes = Processes(process_env(redis_url, tmp_path, **extra), tmp_path)
    try:
        yield processes
    finally:
        processes.close()
