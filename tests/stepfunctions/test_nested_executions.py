"""Nested executions: `states:startExecution` (fire and forget, `.sync`, `.sync:2`,
`.waitForTaskToken`) starting executions on this engine; the parent's task result in the shape
AWS gives, a child's failure as States.TaskFailed with DescribeExecution's shape as its cause."""

import json
import subprocess

import pytest

from stepfunctions import services
from stepfunctions.models import CallbackToken, Execution
from tests.conftest import wait_for

from .test_children import STATELINT, callback_state, document

START = "arn:aws:states:::states:startExecution"
CHILD_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Child"

CHILD_SUCCEEDS = {
    "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": True}
}
CHILD_FAILS = {"Fail": {"Type": "Fail", "Error": "ChildBroke", "Cause": "on purpose"}}
CHILD_WAITS = {"W": callback_state("child")}


def parent(resource, **fields):
    task = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {"StateMachineArn": CHILD_ARN, "Input": {"n.$": "$.n"}},
        "End": True,
    }
    return {"Start": task | fields}


DEFINITIONS = {
    "FIRE_AND_FORGET": parent(START),
    "SYNC": parent(START + ".sync"),
    "SYNC_JSON": parent(START + ".sync:2"),
    "CALLBACK": parent(
        START + ".waitForTaskToken",
        Parameters={
            "StateMachineArn": CHILD_ARN,
            "Input": {"n.$": "$.n", "TaskToken.$": "$$.Task.Token"},
        },
    ),
    "CAUGHT": parent(
        START + ".sync:2",
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Done"}],
    )
    | {"Done": {"Type": "Pass", "End": True}},
}
DEFINITIONS["CAUGHT"]["Start"].pop("End")
DEFINITIONS["CAUGHT"]["Start"]["Next"] = "Done"


def run(name, child_states, data=None):
    services.state_machine_create(name="Child", definition=document(child_states))
    machine = services.state_machine_create(name=name, definition=document(DEFINITIONS[name]))
    execution, _ = services.execution_start(state_machine=machine, input=data or {"n": 2})
    execution.refresh_from_db()
    return execution


def child_of(machine_name="Child"):
    return Execution.objects.get(state_machine__name=machine_name)


def test_fire_and_forget_gives_the_start_response_and_the_child_runs(inline_stages):
    execution = run("FIRE_AND_FORGET", CHILD_SUCCEEDS)
    child = child_of()
    assert execution.status == "SUCCEEDED"
    assert execution.output == {
        "ExecutionArn": child.arn,
        "StartDate": int(child.start_date.timestamp() * 1000),
    }
    assert (child.status, child.output) == ("SUCCEEDED", {"n": 4})
    assert not child.parent_token


def test_a_child_started_on_a_version_arn_runs_that_version(inline_stages):
    child = services.state_machine_create(name="Child", definition=document(CHILD_SUCCEEDS))
    services.version_publish(state_machine=child)
    tripled = {
        "Triple": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "End": True}
    }
    services.state_machine_update(state_machine=child, definition=document(tripled))
    on_version = parent(START + ".sync:2")
    on_version["Start"]["Parameters"]["StateMachineArn"] = f"{CHILD_ARN}:1"
    machine = services.state_machine_create(name="OnVersion", definition=document(on_version))
    execution, _ = services.execution_start(state_machine=machine, input={"n": 2})
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["Output"] == {"n": 4}  # version 1 doubles; the latest adds 1
    assert child_of().qualifier == "1"


def test_sync_waits_for_the_child_and_gives_its_output_as_json_text(inline_stages):
    execution = run("SYNC", CHILD_WAITS)
    assert (execution.status, execution.stage) == ("RUNNING", "WAITING")
    child = child_of()
    token = CallbackToken.objects.get(execution=child, status="OPEN").token
    services.task_success(task_token=token, output=json.dumps({"made": 1}))
    execution.refresh_from_db()
    child.refresh_from_db()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {
        "ExecutionArn": child.arn,
        "Input": json.dumps(child.input, separators=(",", ":")),
        "InputDetails": {"Included": True},
        "Name": child.name,
        "Output": '{"made":1}',
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "StartDate": int(child.start_date.timestamp() * 1000),
        "StateMachineArn": child.state_machine.arn,
        "Status": "SUCCEEDED",
        "StopDate": int(child.stop_date.timestamp() * 1000),
    }
    history = list(execution.history.values_list("type", flat=True))
    assert history == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    submitted = execution.history.get(type="TaskSubmitted").details
    assert json.loads(submitted["output"])["ExecutionArn"] == child.arn
    assert submitted["resource"] == "startExecution.sync"


def test_sync_2_gives_the_childs_input_and_output_as_json(inline_stages):
    execution = run("SYNC_JSON", CHILD_SUCCEEDS)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["Output"] == {"n": 4}
    assert execution.output["Input"] == {"n": 2}


def test_a_failed_child_fails_the_task_with_states_task_failed_and_its_description(
    inline_stages,
):
    execution = run("SYNC", CHILD_FAILS)
    assert (execution.status, execution.error) == ("FAILED", "States.TaskFailed")
    cause = json.loads(execution.cause)
    assert cause["Status"] == "FAILED"
    assert (cause["Error"], cause["Cause"]) == ("ChildBroke", "on purpose")
    assert cause["ExecutionArn"] == child_of().arn
    assert "Output" not in cause


def test_a_failed_child_is_caught_by_the_parents_catch(inline_stages):
    execution = run("CAUGHT", CHILD_FAILS)
    assert execution.status == "SUCCEEDED"
    assert execution.output["error"]["Error"] == "States.TaskFailed"


def test_a_stopped_child_fails_the_waiting_task(inline_stages):
    execution = run("SYNC", CHILD_WAITS)
    services.execution_stop(execution=child_of(), error="Halt", cause="by hand")
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.TaskFailed")
    cause = json.loads(execution.cause)
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("ABORTED", "Halt", "by hand")


def test_wait_for_task_token_gives_the_child_the_token_and_waits_for_its_callback(
    inline_stages,
):
    execution = run("CALLBACK", CHILD_SUCCEEDS)
    child = child_of()
    assert child.status == "SUCCEEDED"  # the child ended; the parent waits for the callback
    execution.refresh_from_db()
    assert execution.stage == "WAITING"
    token = child.input["TaskToken"]
    services.task_success(task_token=token, output=json.dumps({"answered": True}))
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"answered": True})


def test_a_missing_state_machine_fails_the_task_as_the_integration_names_it(inline_stages):
    machine = services.state_machine_create(name="Orphan", definition=document(DEFINITIONS["SYNC"]))
    execution, _ = services.execution_start(state_machine=machine, input={"n": 1})
    execution.refresh_from_db()
    assert execution.error == "StepFunctions.StateMachineDoesNotExistException"


@pytest.mark.usefixtures("live_stages")
def test_sync_through_the_real_worker():
    services.state_machine_create(
        name="Child", definition=document({"Wait": {"Type": "Wait", "Seconds": 1, "End": True}})
    )
    machine = services.state_machine_create(
        name="SYNC", definition=document(DEFINITIONS["SYNC_JSON"])
    )
    execution, _ = services.execution_start(state_machine=machine, input={"n": 3})
    wait_for(
        lambda: Execution.objects.get(pk=execution.pk).status != "RUNNING",
        message="the parent to end",
    )
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["Output"] == {"n": 3}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_statelint_accepts_the_definitions_tested_here(name, tmp_path):
    path = tmp_path / f"{name}.asl.json"
    path.write_text(json.dumps(document(DEFINITIONS[name])))
    result = subprocess.run(
        [str(STATELINT), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
