"""A Celery task as a Task state, on real processes: the task worker's process is killed (SIGKILL)
mid-task; the late-acked message is redelivered, the task runs again, and the state takes exactly
one result. The stages and the task run on separate workers, each consuming its own queue."""

import json
import os
import signal
from types import SimpleNamespace

import pytest

from stepfunctions.models import CallbackToken, Execution
from tests.conftest import sfn_client, wait_for
from tests.processes import private_redis, production_processes

pytestmark = pytest.mark.integration
DEFINITION = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::celery:task.sync",
            "Parameters": {"Task": "tests.operations.slow_once"},
            "TimeoutSeconds": 300,
            "End": True,
        }
    },
}
ROLE = "arn:aws:iam::123456789012:role/Tests"


def test_a_task_whose_worker_is_killed_runs_again_and_gives_one_result(tmp_path, sfn_key):
    runs = tmp_path / "runs.txt"
    env = {"CELERY_TASK_RUNS": str(runs)}
    with private_redis() as url, production_processes(url, tmp_path, **env) as processes:
        sfn = sfn_client(SimpleNamespace(url=processes.gunicorn()), sfn_key)
        processes.worker(concurrency=1)  # the stages
        processes.worker(
            "tasks", "-Q", "stepfunctions-tasks", app="tests.operations.celery_task_app",
            concurrency=1,
        )  # fmt: skip
        machine = sfn.create_state_machine(
            name="KilledTask", definition=json.dumps(DEFINITION), roleArn=ROLE
        )
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
        name = arn.rsplit(":", 1)[1]
        wait_for(lambda: runs.exists() and runs.read_text(), timeout=60, message="the first run")
        first = int(runs.read_text().split()[0])
        os.kill(first, signal.SIGKILL)  # the pool process running the task
        wait_for(
            lambda: Execution.objects.get(name=name).status != Execution.Status.RUNNING,
            timeout=90, interval=0.2, message="the execution to end",
        )  # fmt: skip
        tasks_log, stages_log = processes.log("tasks"), processes.log("worker")

    execution = Execution.objects.get(name=name)
    assert (execution.status, execution.output) == ("SUCCEEDED", {"runs": 2})
    pids = runs.read_text().split()
    assert len(pids) == 2 and pids[0] != pids[1], pids
    assert execution.history.filter(type="TaskSucceeded").count() == 1
    assert CallbackToken.objects.get(execution=execution).status == CallbackToken.Status.SUCCEEDED
    assert "WorkerLostError" in tasks_log or "signal 9" in tasks_log
    # The task queue's messages went to its own worker, never to the stages' worker.
    assert "run_celery_task[" in tasks_log and "run_celery_task[" not in stages_log
    assert "advance_execution[" in stages_log and "advance_execution[" not in tasks_log
