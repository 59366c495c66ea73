"""Liveness and readiness: each dependency reported down when it is down, up when it is up.

Redis is a server of the test's own that the test stops; the unreachable database is a gunicorn
whose DATABASE_URL points at a port nobody listens on; the heartbeats come from a real worker and
beat, and go stale when the clock moves past their limit.
"""

import json
import socket
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from serverlesspresso.operations.health import health_report
from serverlesspresso.operations.heartbeats import (
    BEAT,
    heartbeat_ages,
    heartbeat_write,
    worker_kinds,
)
from tests.conftest import wait_for
from tests.processes import private_redis, production_processes
from tests.system import free_port


def ready(client, *checks: str):
    query = "&".join(f"check={name}" for name in checks)
    response = client.get(f"/health/ready?{query}", HTTP_HOST="web:8000")
    return response.status_code, response.json()


def http_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_liveness_answers_on_any_host(client):
    # Not in ALLOWED_HOSTS: a health check says "localhost" or the container's name.
    response = client.get("/health/live", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_readiness_reports_redis_down_when_its_redis_stops(client, db):
    with private_redis() as url, override_settings(REDIS_URL=url):
        heartbeat_write(process="worker:celery@test")
        heartbeat_write(process="tasks-worker:tasks@test")
        heartbeat_write(process=BEAT)
        status, report = ready(client)
        assert status == 200, report
        assert report["checks"]["redis"] == {"ok": True}
        assert report["checks"]["worker"]["ok"] and report["checks"]["beat"]["ok"]
        assert report["checks"]["tasks-worker"]["ok"]

        from serverlesspresso.operations.heartbeats import redis_client

        redis_client().shutdown(nosave=True)
        status, report = ready(client)
        assert status == 503
        checks = report["checks"]
        assert checks["database"] == {"ok": True}
        assert not checks["redis"]["ok"] and "connect" in checks["redis"]["error"].lower()
        # The heartbeats live in Redis: without it nobody can say the worker is alive.
        assert not checks["worker"]["ok"] and checks["worker"]["error"].startswith("Redis:")
        assert not checks["tasks-worker"]["ok"] and not checks["beat"]["ok"]


def test_a_task_worker_and_a_stage_worker_are_checked_apart(client, db):
    with private_redis() as url, override_settings(REDIS_URL=url):
        heartbeat_write(process="tasks-worker:tasks@a")
        heartbeat_write(process=BEAT)
        # A worker of the Task states' queue alone: nobody runs the stages.
        status, report = ready(client)
        assert status == 503
        assert report["checks"]["worker"]["error"] == "no worker heartbeat yet"
        assert report["checks"]["tasks-worker"]["ok"]
        heartbeat_write(process="worker:celery@a")
        assert ready(client)[0] == 200
        # A container's own check: its worker's heartbeat of its kind; the other kind's check
        # is any worker's of that kind.
        both = ["worker", "tasks-worker"]
        assert health_report(checks=both, worker="tasks@a")["ok"]
        assert health_report(checks=both, worker="celery@a")["ok"]
        assert not health_report(checks=["tasks-worker"], worker="tasks@nowhere")["ok"]
        with time_machine.travel(0, tick=False) as clock:
            heartbeat_write(process="tasks-worker:tasks@a")
            clock.shift(timedelta(seconds=61))
            heartbeat_write(process="worker:celery@a")
            heartbeat_write(process="tasks-worker:tasks@b")
            # tasks@a is silent: its own check fails although tasks@b is alive.
            assert not health_report(checks=["tasks-worker"], worker="tasks@a")["ok"]
            assert health_report(checks=["tasks-worker"], worker="tasks@b")["ok"]
            assert health_report(checks=["tasks-worker"], worker="celery@a")["ok"]


def test_a_worker_writes_the_heartbeats_of_the_queues_it_consumes(settings):
    settings.STEPFUNCTIONS_TASK_QUEUE = "sfn-tasks"
    assert worker_kinds(queues=["celery"], default_queue="celery") == ["worker"]
    assert worker_kinds(queues=["sfn-tasks"], default_queue="celery") == ["tasks-worker"]
    assert worker_kinds(queues=["celery", "sfn-tasks"], default_queue="celery") == [
        "worker",
        "tasks-worker",
    ]
    # A queue of the project's own: a worker, as every worker was before the task queue.
    assert worker_kinds(queues=["reports"], default_queue="celery") == ["worker"]


def test_readiness_reports_stale_heartbeats_as_the_clock_moves(client, db):
    with private_redis() as url, override_settings(REDIS_URL=url):
        status, report = ready(client, "worker", "beat")
        assert status == 503
        assert report["checks"]["worker"]["error"] == "no worker heartbeat yet"

        with time_machine.travel(0, tick=False) as clock:
            heartbeat_write(process="worker:celery@a")
            heartbeat_write(process=BEAT)
            assert ready(client, "worker", "beat")[0] == 200
            clock.shift(timedelta(seconds=61))
            status, report = ready(client, "worker", "beat")
            assert status == 503
            assert "61s ago (limit 60s)" in report["checks"]["worker"]["error"]
            assert not report["checks"]["beat"]["ok"]
            # Beat ticks again, the worker stays silent: only the worker is reported.
            heartbeat_write(process=BEAT)
            status, report = ready(client, "worker", "beat")
            assert status == 503
            assert report["checks"]["beat"]["ok"] and not report["checks"]["worker"]["ok"]
            # The database and Redis alone (the web container's own check) are fine meanwhile.
            assert ready(client, "database", "redis")[0] == 200


def test_an_unknown_check_is_a_400(client):
    assert client.get("/health/ready?check=kafka").status_code == 400


def test_health_command_exits_1_when_a_check_fails(db):
    with private_redis() as url, override_settings(REDIS_URL=url):
        with pytest.raises(CommandError) as failed:
            call_command("health", "--check", "worker", "--worker", "celery@nowhere")
        assert failed.value.returncode == 1
        heartbeat_write(process="worker:celery@here")
        call_command("health", "--check", "worker", "--worker", "celery@here")


@pytest.mark.integration
def test_readiness_reports_an_unreachable_database(tmp_path, transactional_db):
    closed_port = free_port()  # bound and released: nobody listens there now
    with (
        private_redis() as url,
        production_processes(
            url, tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port}/nowhere"
        ) as processes,
    ):
        web = processes.gunicorn()
        assert http_json(f"{web}/health/live") == (200, {"ok": True})
        status, report = http_json(f"{web}/health/ready?check=database&check=redis")
        assert status == 503
        assert report["checks"]["redis"] == {"ok": True}
        database = report["checks"]["database"]
        assert not database["ok"] and str(closed_port) in database["error"]


@pytest.mark.integration
def test_a_real_worker_and_beat_make_readiness_pass(client, tmp_path, transactional_db):
    with private_redis() as url, production_processes(url, tmp_path) as processes:
        processes.worker()
        processes.worker("tasks", "-Q", "stepfunctions-tasks", concurrency=1)
        processes.beat()
        with override_settings(REDIS_URL=url):
            wait_for(
                lambda: ready(client)[0] == 200, timeout=60, interval=0.3,
                message="readiness with a real worker, a task worker and beat",
            )  # fmt: skip
            _, report = ready(client)
            assert report["checks"]["worker"]["age_seconds"] < 60
            assert report["checks"]["tasks-worker"]["age_seconds"] < 60
            # The task worker's own, as the tasks-worker container's health check asks for it.
            tasks = f"tasks@{socket.gethostname()}"
            wait_for(
                lambda: health_report(checks=["tasks-worker"], worker=tasks)["ok"],
                timeout=60, interval=0.3, message=tasks,
            )  # fmt: skip
            # It consumes the task queue only: no stage worker's heartbeat under its name.
            assert f"worker:{tasks}" not in heartbeat_ages()
            # This worker's own heartbeat, as its container's health check asks for it.
            name = f"worker@{socket.gethostname()}"
            wait_for(
                lambda: health_report(worker=name)["ok"], timeout=60, interval=0.3, message=name
            )
            call_command("health", "--worker", name)
