"""AWS's semantics through the real engine: boto3 over HTTP, the Celery worker, the database.

Intrinsic functions, States.DataLimitExceeded caught by States.ALL, a resource's unexpected
exception as States.TaskFailed, and a States.Runtime cause naming the event that entered a
callback task in an earlier stage.
"""

import hashlib
import json
import uuid

import pytest

from stepfunctions import resources
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/sfn"
SHOP_STATUS = {"FunctionName": "TestShopStatus", "Payload": {}}


def _run(sfn, states, data, *, start_at=None):
    """Creates a machine of `states`, starts it on `data`; returns the execution's ARN."""
    definition = {"StartAt": start_at or next(iter(states)), "States": states}
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:12]}", definition=json.dumps(definition), roleArn=ROLE
    )
    started = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], input=json.dumps(data)
    )
    return started["executionArn"]


def _finished(sfn, arn):
    def done():
        described = sfn.describe_execution(executionArn=arn)
        return described if described["status"] != "RUNNING" else None

    return wait_for(done, message=f"execution {arn} to finish")


def _history(sfn, arn):
    return sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def test_intrinsic_functions_run_in_parameters(live_stages, sfn):
    parameters = {
        "greeting.$": "States.Format('Hello, {}! \\{\\} stays', $.name)",
        "run.$": "States.Format('{}#{}', $$.Execution.Name, $$.Execution.RedriveCount)",
        "parts.$": "States.StringSplit($.csv, ',')",
        "count.$": "States.ArrayLength(States.StringSplit($.csv, ','))",
        "digest.$": "States.Hash($.name, 'SHA-256')",
        "id.$": "States.UUID()",
    }
    states = {"Build": {"Type": "Pass", "Parameters": parameters, "End": True}}
    arn = _run(sfn, states, {"name": "Arnav", "csv": "a,b,,c"})
    described = _finished(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["greeting"] == "Hello, Arnav! {} stays"
    assert output["run"] == f"{described['name']}#0"
    assert output["parts"] == ["a", "b", "c"] and output["count"] == 3
    assert output["digest"] == hashlib.sha256(b"Arnav").hexdigest()
    assert str(uuid.UUID(output["id"], version=4)) == output["id"]
    exited = [e for e in _history(sfn, arn) if e["type"] == "PassStateExited"][0]
    assert json.loads(exited["stateExitedEventDetails"]["output"]) == output


def test_intrinsic_failure_fails_the_execution(live_stages, sfn):
    parameters = {"item.$": "States.ArrayGetItem($.items, 5)"}
    arn = _run(sfn, {"P": {"Type": "Pass", "Parameters": parameters, "End": True}}, {"items": [1]})
    described = _finished(sfn, arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.IntrinsicFailure"
    assert "States.ArrayGetItem($.items, 5)" in described["cause"]


def test_data_limit_exceeded_is_caught_by_states_all(live_stages, sfn):
    states = {
        "Copy": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": SHOP_STATUS,
            # Twice the 100 KB input next to the input itself: over 256 KiB.
            "ResultSelector": {"a.$": "$$.Execution.Input", "b.$": "$$.Execution.Input"},
            "ResultPath": "$.copies",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Too big", "ResultPath": "$.error"}],
            "End": True,
        },
        "Too big": {"Type": "Pass", "Parameters": {"error.$": "$.error"}, "End": True},
    }
    arn = _run(sfn, states, {"blob": "x" * 100_000})
    described = _finished(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {
        "error": {
            "Error": "States.DataLimitExceeded",
            "Cause": "The state/task 'Copy' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        }
    }
    types = [event["type"] for event in _history(sfn, arn)]
    assert "TaskSucceeded" in types and "TaskStateExited" not in types


@resources.lambda_function("TestBroken")
def _broken(payload, invocation):
    return payload["missing"]  # a bug: KeyError


def test_unexpected_exception_in_a_resource_is_states_task_failed(live_stages, sfn):
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "TestBroken", "Payload": {}},
        "End": True,
    }
    arn = _run(sfn, {"Emit": task}, {})
    described = _finished(sfn, arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
    failed = [e for e in _history(sfn, arn) if e["type"] == "TaskFailed"][0]
    assert failed["taskFailedEventDetails"]["error"] == "States.TaskFailed"
    assert "KeyError" not in described["cause"]


def test_runtime_cause_after_a_callback_names_the_event_that_entered_the_task(live_stages, sfn):
    wait = {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
        "Parameters": {
            "Entries": [
                {
                    "Source": "test",
                    "DetailType": "Waiting",
                    "Detail": {"TaskToken.$": "$$.Task.Token"},
                }
            ]
        },
        "ResultSelector": {"id.$": "$.orderId"},
        "End": True,
    }
    states = {"Before": {"Type": "Pass", "Next": "Wait"}, "Wait": wait}
    arn = _run(sfn, states, {})
    scheduled = wait_for(
        lambda: [e for e in _history(sfn, arn) if e["type"] == "TaskScheduled"],
        message="the callback task to be scheduled",
    )[0]
    token = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["Entries"][0][
        "Detail"
    ]["TaskToken"]
    sfn.send_task_success(taskToken=token, output=json.dumps({"other": 1}))
    described = _finished(sfn, arn)
    assert described["error"] == "States.Runtime"
    entered = [e for e in _history(sfn, arn) if e["type"] == "TaskStateEntered"][0]
    assert entered["id"] == 4
    assert described["cause"] == (
        "An error occurred while executing the state 'Wait' (entered at the event id #4). "
        "The JSONPath '$.orderId' specified for the field 'id.$' could not be found in the "
        """input '{"other":1}'"""
    )


def test_a_wait_state_runs_on_the_worker_with_its_history_events(live_stages, sfn):
    states = {
        "Pause": {"Type": "Wait", "SecondsPath": "$.pause", "OutputPath": "$.order", "End": True}
    }
    arn = _run(sfn, states, {"pause": 1, "order": {"id": 3}})
    described = _finished(sfn, arn)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"id": 3})
    events = {e["type"]: e for e in _history(sfn, arn)}
    entered, exited = events["WaitStateEntered"], events["WaitStateExited"]
    assert entered["stateEnteredEventDetails"]["name"] == "Pause"
    assert json.loads(exited["stateExitedEventDetails"]["output"]) == {"id": 3}
    assert (exited["timestamp"] - entered["timestamp"]).total_seconds() >= 1


def test_a_jsonata_machine_runs_on_the_worker(live_stages, sfn):
    states = {
        "Status": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "TestShopStatus", "Payload": "{% $states.input %}"},
            "Assign": {"open": "{% $states.result.Payload.storeOpen %}"},
            "Output": {"order": "{% $states.input.order %}"},
            "Next": "Open?",
        },
        "Open?": {
            "Type": "Choice",
            "Choices": [{"Condition": "{% $open %}", "Next": "Serve"}],
            "Default": "Closed",
        },
        "Serve": {"Type": "Pass", "Output": "{% 'Order ' & $states.input.order %}", "End": True},
        "Closed": {"Type": "Fail", "Error": "Shop.Closed"},
    }
    definition = {"QueryLanguage": "JSONata", "StartAt": "Status", "States": states}
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:12]}", definition=json.dumps(definition), roleArn=ROLE
    )
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"order": 12}')[
        "executionArn"
    ]
    described = _finished(sfn, arn)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", "Order 12")
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        broken = {
            **definition,
            "States": {**states, "Serve": {**states["Serve"], "Output": "{% ( %}"}},
        }
        sfn.create_state_machine(name="BrokenJsonata", definition=json.dumps(broken), roleArn=ROLE)
