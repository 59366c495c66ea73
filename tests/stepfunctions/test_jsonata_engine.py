"""JSONata's AWS functions and a Task's TimeoutSeconds / HeartbeatSeconds expressions through the
real engine: boto3 over HTTP and the Celery worker, and the services with a moved clock for the
deadlines."""

import hashlib
import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from stepfunctions import resources, services
from stepfunctions.models import Execution
from tests.conftest import open_token, wait_for

ROLE = "arn:aws:iam::123456789012:role/sfn"
WAIT = "Wait for the barista"


@pytest.mark.integration
def test_aws_jsonata_functions_run_on_the_worker(live_stages, sfn):
    output = {
        "batches": "{% $partition($states.input.ids, 2) %}",
        "evens": "{% $range(0, 6, 2) %}",
        "digest": "{% $hash($states.input.name, 'SHA-256') %}",
        "id": "{% $uuid() %}",
        "order": "{% $parse($states.input.json).order %}",
        "seeded": "{% $random(7) = $random(7) %}",
    }
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Build",
        "States": {"Build": {"Type": "Pass", "Output": output, "End": True}},
    }
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:12]}", definition=json.dumps(definition), roleArn=ROLE
    )
    data = {"ids": [1, 2, 3], "name": "Arnav", "json": '{"order": {"id": 7, "note": null}}'}
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(data))[
        "executionArn"
    ]

    def finished():
        described = sfn.describe_execution(executionArn=arn)
        return described if described["status"] != "RUNNING" else None

    described = wait_for(finished, message="the execution to finish")
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])
    assert str(uuid.UUID(result.pop("id"), version=4))
    assert result == {
        "batches": [[1, 2], [3]],
        "evens": [0, 2, 4, 6],
        "digest": hashlib.sha256(b"Arnav").hexdigest(),
        "order": {"id": 7, "note": None},
        "seeded": True,
    }


_DEFINITION = {
    "QueryLanguage": "JSONata",
    "StartAt": "Limits",
    "States": {
        "Limits": {"Type": "Pass", "Assign": {"beat": 10}, "Next": WAIT},
        WAIT: {
            "Type": "Task",
            "Resource": resources.PUT_EVENTS + ".waitForTaskToken",
            "Arguments": {
                "Entries": [
                    {
                        "Detail": {"TaskToken": "{% $states.context.Task.Token %}"},
                        "DetailType": "Test.Waiting",
                        "EventBusName": "Serverlesspresso",
                        "Source": "tests",
                    }
                ]
            },
            "HeartbeatSeconds": "{% $beat %}",
            "TimeoutSeconds": "{% $states.input.minutes * 60 %}",
            "Catch": [
                {
                    "ErrorEquals": ["States.HeartbeatTimeout"],
                    "Output": "heartbeat",
                    "Next": "Lost",
                },
                {"ErrorEquals": ["States.Timeout"], "Output": "total", "Next": "Lost"},
            ],
            "End": True,
        },
        "Lost": {"Type": "Pass", "End": True},
    },
}


@pytest.fixture
def waiting(inline_stages) -> Execution:
    machine = services.state_machine_create(name="JsonataTimeouts", definition=_DEFINITION)
    execution, _ = services.execution_start(state_machine=machine, input={"minutes": 1})
    return execution


def _expire_at(execution: Execution, at) -> int:
    with time_machine.travel(at, tick=False):
        expired = services.tokens_expire()
    execution.refresh_from_db()
    return expired


def test_the_heartbeat_an_expression_gives_is_the_tokens_deadline(waiting):
    scheduled = waiting.history.get(type="TaskScheduled").details
    assert (scheduled["heartbeatInSeconds"], scheduled["timeoutInSeconds"]) == (10, 60)
    start = timezone.now()
    assert _expire_at(waiting, start + timedelta(seconds=9)) == 0
    assert _expire_at(waiting, start + timedelta(seconds=11)) == 1
    assert (waiting.status, waiting.output) == (Execution.Status.SUCCEEDED, "heartbeat")


def test_the_timeout_an_expression_gives_bounds_the_task_whatever_the_heartbeats(waiting):
    token, start = open_token(waiting, WAIT), timezone.now()
    for seconds in (8, 16, 24, 32, 40, 48, 56):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            services.task_heartbeat(task_token=token)
    assert _expire_at(waiting, start + timedelta(seconds=61)) == 1
    assert (waiting.status, waiting.output) == (Execution.Status.SUCCEEDED, "total")
