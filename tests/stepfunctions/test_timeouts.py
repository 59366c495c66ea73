"""Heartbeat and total timeouts of one callback task, through the services and a moved clock."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from stepfunctions import services
from stepfunctions.models import Execution
from tests.conftest import open_token

WAIT = "Wait for callback"


def wait_state(**fields) -> dict:
    """A callback task that puts one event with its token and waits."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
        "Parameters": {
            "Entries": [
                {
                    "Detail": {"TaskToken.$": "$$.Task.Token"},
                    "DetailType": "Test.Waiting",
                    "EventBusName": "Serverlesspresso",
                    "Source": "tests",
                }
            ]
        },
        **fields,
    }


DEFINITION = {
    "StartAt": WAIT,
    "States": {
        WAIT: wait_state(
            HeartbeatSeconds=10,
            TimeoutSeconds=30,
            ResultPath="$.result",
            Catch=[
                {
                    "ErrorEquals": ["States.HeartbeatTimeout"],
                    "ResultPath": "$.error",
                    "Next": "Heartbeat lost",
                },
                {
                    "ErrorEquals": ["States.Timeout"],
                    "ResultPath": "$.error",
                    "Next": "Took too long",
                },
            ],
            End=True,
        ),
        "Heartbeat lost": {
            "Type": "Pass",
            "Result": "heartbeat",
            "ResultPath": "$.why",
            "End": True,
        },
        "Took too long": {"Type": "Pass", "Result": "total", "ResultPath": "$.why", "End": True},
    },
}


@pytest.fixture
def waiting(inline_stages) -> Execution:
    machine = services.state_machine_create(name="Timeouts", definition=DEFINITION)
    execution, _ = services.execution_start(state_machine=machine, input={"n": 1})
    return execution


def _finish(execution: Execution, at) -> Execution:
    with time_machine.travel(at, tick=False):
        assert services.tokens_expire() == 1
    execution.refresh_from_db()
    return execution


def test_a_missed_heartbeat_is_caught_as_heartbeat_timeout(waiting):
    finished = _finish(waiting, timezone.now() + timedelta(seconds=11))
    assert finished.output == {
        "n": 1,
        "error": {"Error": "States.Timeout", "Cause": ""},
        "why": "heartbeat",
    }


def test_heartbeats_do_not_extend_the_total_timeout(waiting):
    token = open_token(waiting, WAIT)
    start = timezone.now()
    for seconds in (8, 16, 24):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            services.task_heartbeat(task_token=token)
            assert services.tokens_expire() == 0
    finished = _finish(waiting, start + timedelta(seconds=31))
    assert finished.output["why"] == "total"
    assert finished.history.get(type="TaskTimedOut").details["error"] == "States.Timeout"
