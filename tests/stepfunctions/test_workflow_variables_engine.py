"""Workflow variables through the engine: what Assign sets in one stage is read in the next, as
Step Functions keeps a workflow's variables for the whole execution (the variables chapter of
the Step Functions guide), across a callback wait and a retry's delay."""

import datetime as dt

import time_machine
from django.utils import timezone

from stepfunctions import resources, services
from stepfunctions.models import Cursor, Execution
from stepfunctions.workflow import StatesError
from tests.conftest import open_token

CALLBACK = "arn:aws:states:::events:putEvents.waitForTaskToken"
_calls: list[int] = []


@resources.lambda_function("TestFailsOnce")
def _fails_once(payload, invocation):
    _calls.append(1)
    if len(_calls) % 2:
        raise StatesError("Test.Flaky", "the first call fails")
    return {"attempt": len(_calls)}


def _machine(name, states):
    definition = {"StartAt": next(iter(states)), "States": states}
    return services.state_machine_create(name=name, definition=definition)


def test_a_variable_assigned_before_a_callback_wait_is_read_after_the_callback(inline_stages):
    entry = {"Source": "test", "DetailType": "Waiting", "Detail": {"token.$": "$$.Task.Token"}}
    states = {
        "Remember": {
            "Type": "Pass",
            "Assign": {"customer.$": "$.customer", "drinks": 1},
            "Next": "Wait for barista",
        },
        "Wait for barista": {
            "Type": "Task",
            "Resource": CALLBACK,
            "Parameters": {"Entries": [entry]},
            "Assign": {"drinks.$": "$drinks", "made.$": "$.made"},
            "ResultPath": None,
            "Next": "Receipt",
        },
        "Receipt": {
            "Type": "Pass",
            "Parameters": {"customer.$": "$customer", "drinks.$": "$drinks", "made.$": "$made"},
            "End": True,
        },
    }
    machine = _machine("VariablesCallback", states)
    execution, _ = services.execution_start(state_machine=machine, input={"customer": "Arnav"})
    execution.refresh_from_db()
    assert execution.stage == Execution.Stage.WAITING
    assert execution.position.variables == {"customer": "Arnav", "drinks": 1}

    services.task_success(
        task_token=open_token(execution, "Wait for barista"), output='{"made": "latte"}'
    )
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output == {"customer": "Arnav", "drinks": 1, "made": "latte"}


def test_variables_survive_a_retry_delay_between_stages(inline_stages):
    _calls.clear()
    states = {
        "Remember": {"Type": "Pass", "Assign": {"order": 7}, "Next": "Call"},
        "Call": {
            "Type": "Task",
            "Resource": resources.LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "TestFailsOnce", "Payload": {"order.$": "$order"}},
            "Retry": [{"ErrorEquals": ["Test.Flaky"], "IntervalSeconds": 60}],
            "ResultSelector": {"order.$": "$order", "attempt.$": "$.Payload.attempt"},
            "End": True,
        },
    }
    machine = _machine("VariablesRetry", states)
    execution, _ = services.execution_start(state_machine=machine, input={})
    execution.refresh_from_db()
    assert execution.position == Cursor(
        Cursor.RETRY,
        state="Call",
        raw_input={},
        attempts=(1,),
        entered_event_id=execution.position.entered_event_id,
        variables={"order": 7},
    )
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61), tick=False):
        assert services.execution_advance(execution_id=execution.pk) is True
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output == {"order": 7, "attempt": 2}
