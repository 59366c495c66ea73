"""A Celery task as a Task state, on real processes: the runner's message is lost with the broker
before any task worker took it (its Redis list deleted). Beat's sweep finds the state still
waiting on a message no runner took and sends it again; the task runs once and the state ends."""

import json
from types import SimpleNamespace

import pytest
import redis

from stepfunctions.models import Execution, TaskMessage
from tests.conftest import sfn_client, wait_for
from tests.processes import private_redis, production_processes

pytestmark = pytest.mark.integration
QUEUE = "stepfunctions-tasks"
DEFINITION = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::celery:task.sync",
            "Parameters": {"Task": "tests.operations.counted"},
            "End": True,  # no TimeoutSeconds: without the outbox it would wait for ever
        }
    },
}
ROLE = "arn:aws:iam::123456789012:role/Tests"


def test_a_runner_message_lost_with_the_broker_is_sent_again_and_runs_once(tmp_path, sfn_key):
    runs = tmp_path / "runs.txt"
    env = {"CELERY_TASK_RUNS": str(runs), "WORKFLOW_STALL_SECONDS": "1"}
    with private_redis() as url, production_processes(url, tmp_path, **env) as processes:
        broker = redis.Redis.from_url(url)
        sfn = sfn_client(SimpleNamespace(url=processes.gunicorn()), sfn_key)
        processes.worker(concurrency=1)  # the stages; no task worker yet
        machine = sfn.create_state_machine(
            name="LostMessage", definition=json.dumps(DEFINITION), roleArn=ROLE
        )
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
        name = arn.rsplit(":", 1)[1]
        wait_for(lambda: broker.llen(QUEUE) == 1, timeout=60, message="the runner's message")
        broker.delete(QUEUE)  # lost with the broker
        assert TaskMessage.objects.filter(execution__name=name).count() == 1

        processes.worker(
            "tasks", "-Q", QUEUE, app="tests.operations.celery_task_app", concurrency=1
        )
        processes.beat()
        wait_for(
            lambda: Execution.objects.get(name=name).status != Execution.Status.RUNNING,
            timeout=90, interval=0.2, message="the execution to end",
        )  # fmt: skip
        logs = processes.log("worker") + processes.log("tasks")

    execution = Execution.objects.get(name=name)
    assert (execution.status, execution.output) == ("SUCCEEDED", {"runs": 1})
    assert execution.history.filter(type="TaskSucceeded").count() == 1
    assert not TaskMessage.objects.filter(execution=execution).exists()
    assert "Sent again 1 Task state messages" in logs
