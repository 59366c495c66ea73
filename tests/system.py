"""Runs `manage.py runsystem` for a test: its own var/ dir, the embedded defaults, clean shutdown.

The stop and the token reading are the benchmark's own (bench.system, bench.clients): tests may
import from bench, never the other way round."""

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Re-exported: the system tests read tokens and pick ports as the benchmark does.
from bench.clients import scheduled_tokens as scheduled_tokens
from bench.system import free_port as free_port
from bench.system import system_stop

REPO = Path(__file__).resolve().parent.parent


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class System:
    process: subprocess.Popen
    port: int
    env: dict[str, str]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text()

    def alive(self) -> bool:
        assert self.process.poll() is None, f"runsystem exited early:\n{self.log()}"
        return True

    def wait_up(self, timeout: float = 60) -> None:
        """Until the web server answers (runsystem still running)."""
        deadline = time.monotonic() + timeout
        while not (self.alive() and answers_200(f"{self.url}/admin/login/")):
            assert time.monotonic() < deadline, f"runsystem not up after {timeout}s:\n{self.log()}"
            time.sleep(0.5)

    def manage(self, *args: str) -> dict:
        """A management command against the same var/ dir; its JSON answer."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@contextlib.contextmanager
def running_system(
    var_dir: Path, *args: str, services: dict[str, str] | None = None
) -> Iterator[System]:
    """Starts runsystem with `args` on the embedded defaults (no service URLs, no AWS variables
    inherited), or on `services` (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL) when given; on the
    way out prints its log (pytest shows it for a failed test) and stops whatever runs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "PUBLIC_BASE_URL"}
        and not key.startswith("AWS_")
    }
    env.update(services or {})
    env["SERVERLESSPRESSO_VAR_DIR"] = str(var_dir)
    port = free_port()
    log_path = var_dir / "runsystem.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runsystem", "--port", str(port), *args],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield System(process, port, env, log_path)
    finally:
        print(log_path.read_text()[-20_000:])
        system_stop(process, timeout=30)
