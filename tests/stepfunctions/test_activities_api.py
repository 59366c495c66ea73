"""Activities through the real HTTP server with boto3 and the aws CLI, stages on the real worker:
the CLI's verbs, a worker's poll (its task and input, or an empty answer once the poll's seconds
pass), two pollers racing for one task, SendTaskSuccess / Failure / Heartbeat driving the
execution, a vanished worker's task timing out, and the per-operation permissions.

The test server (Django's, a thread per request) serves GetActivityTask in its request thread;
the web server's event-loop path is tested in tests/operations/test_activity_pollers.py."""

import json
import threading
import time
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from django.utils import timezone

from stepfunctions import services
from stepfunctions.models import Execution
from stepfunctions.services.access_keys import access_key_create
from tests.conftest import aws_cli, wait_for

ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:thumbnails"
POLL_SECONDS = 1.0


@pytest.fixture(autouse=True)
def short_polls(settings):
    settings.SFN_ACTIVITY_POLL_SECONDS = POLL_SECONDS


def activity_definition(**task) -> str:
    work = {
        "Type": "Task",
        "Resource": ACTIVITY,
        "Parameters": {"image.$": "$.image"},
        "ResultPath": "$.thumbnail",
        "End": True,
        **task,
    }
    states = {"Work": work, "Caught": {"Type": "Pass", "End": True}}
    return json.dumps({"StartAt": "Work", "States": states})


def machine_with_activity(sfn, name: str = "Thumbnails", **task) -> str:
    sfn.create_activity(name="thumbnails")
    return sfn.create_state_machine(
        name=name,
        definition=activity_definition(**task),
        roleArn="arn:aws:iam::123456789012:role/Thumbnails",
    )["stateMachineArn"]


def run_to_end(sfn, arn: str) -> dict:
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        message="the execution's end",
    )


def history_types(sfn, arn: str) -> list[str]:
    return [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]


def test_the_aws_cli_verbs(live_server, sfn_key, sfn):
    def cli(*args: str) -> dict:
        done = aws_cli(live_server, sfn_key, *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    created = cli("create-activity", "--name", "thumbnails")
    assert created["activityArn"] == ACTIVITY
    # Idempotent by name, as on AWS: the same ARN again.
    assert sfn.create_activity(name="thumbnails")["activityArn"] == ACTIVITY
    described = cli("describe-activity", "--activity-arn", ACTIVITY)
    assert described["name"] == "thumbnails" and "creationDate" in described
    assert [a["name"] for a in cli("list-activities")["activities"]] == ["thumbnails"]
    started = time.monotonic()
    assert cli("get-activity-task", "--activity-arn", ACTIVITY, "--worker-name", "cli") == {}
    assert time.monotonic() - started >= POLL_SECONDS  # held for the poll, then empty
    cli("delete-activity", "--activity-arn", ACTIVITY)
    assert sfn.list_activities()["activities"] == []
    with pytest.raises(ClientError) as missing:
        sfn.describe_activity(activityArn=ACTIVITY)
    assert missing.value.response["Error"]["Code"] == "ActivityDoesNotExist"


def test_a_worker_gets_the_task_heartbeats_and_succeeds(live_stages, sfn):
    machine = machine_with_activity(sfn, HeartbeatSeconds=60)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"image": "cat.png"}')
    arn = execution["executionArn"]
    task = sfn.get_activity_task(activityArn=ACTIVITY, workerName="thumbnailer-1")
    assert json.loads(task["input"]) == {"image": "cat.png"}
    events = sfn.get_execution_history(executionArn=arn)["events"]
    started = [e for e in events if e["type"] == "ActivityStarted"]
    assert started[0]["activityStartedEventDetails"] == {"workerName": "thumbnailer-1"}
    scheduled = [e for e in events if e["type"] == "ActivityScheduled"][0]
    assert scheduled["activityScheduledEventDetails"]["heartbeatInSeconds"] == 60
    assert scheduled["activityScheduledEventDetails"]["resource"] == ACTIVITY
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output='{"size": 128}')
    described = run_to_end(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["thumbnail"] == {"size": 128}
    assert history_types(sfn, arn)[-3:] == [
        "ActivitySucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_a_poll_waits_for_a_task_scheduled_while_it_waits(live_stages, sfn, make_sfn, sfn_key):
    machine = machine_with_activity(sfn)
    results: list = []
    poller = threading.Thread(
        target=lambda: results.append(
            make_sfn(sfn_key).get_activity_task(activityArn=ACTIVITY, workerName="early")
        )
    )
    poller.start()
    time.sleep(0.2)  # the poll is waiting when the task is scheduled
    sfn.start_execution(stateMachineArn=machine, input='{"image": "dog.png"}')
    poller.join(10)
    assert json.loads(results[0]["input"]) == {"image": "dog.png"}


def test_two_pollers_racing_get_the_task_once(live_stages, sfn, make_sfn, sfn_key):
    machine = machine_with_activity(sfn)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"image": "a.png"}')
    wait_for(
        lambda: "ActivityScheduled" in history_types(sfn, execution["executionArn"]),
        message="the task scheduled",
    )
    clients = [make_sfn(sfn_key) for _ in range(2)]
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def poll(index: int) -> None:
        barrier.wait()
        answers[index] = clients[index].get_activity_task(
            activityArn=ACTIVITY, workerName=f"racer-{index}"
        )

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    tokens = [a.get("taskToken") for a in answers]
    assert sum(token is not None for token in tokens) == 1, answers
    events = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    assert [e["type"] for e in events].count("ActivityStarted") == 1


def test_a_failure_is_retried_then_caught_by_its_error_name(live_stages, sfn):
    machine = machine_with_activity(
        sfn,
        Retry=[{"ErrorEquals": ["CorruptImage"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        Catch=[{"ErrorEquals": ["CorruptImage"], "ResultPath": "$.error", "Next": "Caught"}],
    )
    arn = sfn.start_execution(stateMachineArn=machine, input='{"image": "x.png"}')["executionArn"]
    for attempt in range(2):
        task = wait_for(
            lambda: sfn.get_activity_task(activityArn=ACTIVITY).get("taskToken"),
            message=f"attempt {attempt}'s task",
        )
        sfn.send_task_failure(taskToken=task, error="CorruptImage", cause=f"attempt {attempt}")
    described = run_to_end(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["error"] == {
        "Error": "CorruptImage",
        "Cause": "attempt 1",
    }
    assert history_types(sfn, arn).count("ActivityFailed") == 2


def test_a_vanished_workers_task_times_out_by_its_heartbeat(live_stages, sfn):
    machine = machine_with_activity(sfn, HeartbeatSeconds=5)
    arn = sfn.start_execution(stateMachineArn=machine, input='{"image": "y.png"}')["executionArn"]
    task = wait_for(
        lambda: sfn.get_activity_task(activityArn=ACTIVITY, workerName="vanishing"),
        message="the task",
    )
    assert "taskToken" in task  # the worker takes it, then is never heard from again
    # The expiry sweep, with the clock past HeartbeatSeconds.
    assert services.tokens_expire(now=timezone.now() + timedelta(seconds=6)) == 1
    described = run_to_end(sfn, arn)
    assert described["status"] == "FAILED" and described["error"] == "States.Timeout"
    events = sfn.get_execution_history(executionArn=arn)["events"]
    timed_out = [e for e in events if e["type"] == "ActivityTimedOut"]
    assert timed_out[0]["activityTimedOutEventDetails"]["error"] == "States.Timeout"
    with pytest.raises(ClientError) as late:
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert late.value.response["Error"]["Code"] == "TaskTimedOut"
    assert Execution.objects.get().status == "FAILED"


def test_each_operation_needs_its_permission(make_sfn, sfn, transactional_db):
    from django.contrib.auth import get_user_model

    sfn.create_activity(name="thumbnails")
    users = get_user_model().objects
    worker = make_sfn(
        access_key_create(
            user=users.create_user(username="worker"), grants=["run-activities", "send-callbacks"]
        )
    )
    reader = make_sfn(access_key_create(user=users.create_user(username="r"), grants=["read"]))
    assert worker.get_activity_task(activityArn=ACTIVITY).get("taskToken") is None
    for call in (
        lambda: reader.get_activity_task(activityArn=ACTIVITY),
        lambda: worker.create_activity(name="other"),
        lambda: worker.delete_activity(activityArn=ACTIVITY),
        lambda: worker.describe_activity(activityArn=ACTIVITY),
    ):
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert reader.describe_activity(activityArn=ACTIVITY)["name"] == "thumbnails"
    with pytest.raises(ClientError) as missing:
        worker.get_activity_task(activityArn=ACTIVITY.replace("thumbnails", "nope"))
    assert missing.value.response["Error"]["Code"] == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as invalid:
        reader.describe_activity(activityArn="arn:aws:states:us-east-1:123:activity:x")
    assert invalid.value.response["Error"]["Code"] == "InvalidArn"
