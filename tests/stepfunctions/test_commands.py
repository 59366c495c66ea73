"""The aws-CLI-shaped management commands: their output and their errors."""

import json

import pytest
from django.core.management import CommandError, call_command

from stepfunctions.models import Execution
from tests.conftest import SEED_INPUT, token_from_history
from tests.stepfunctions.conftest import MACHINE_NAME

# The engine's test workflow, stored before each test (the coffee bar's is not installed).
pytestmark = pytest.mark.usefixtures("machine")


@pytest.fixture(autouse=True)
def _default_machine(settings):
    # start-execution without --state-machine-arn starts the project's default machine.
    settings.SFN_DEFAULT_STATE_MACHINE = MACHINE_NAME


CUSTOMER_WAIT = "Emit - Workflow Started TT"


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_start_describe_and_history(inline_stages, capsys):
    call_command("start-execution", "--input", json.dumps(SEED_INPUT), "--name", "cli-1")
    started = _json(capsys)
    assert started["executionArn"] == (
        "arn:aws:states:us-east-1:123456789012:execution:CallbackWorkflow:cli-1"
    )
    call_command("describe-execution", "--execution-arn", started["executionArn"])
    described = _json(capsys)
    assert (described["status"], json.loads(described["input"])) == ("RUNNING", SEED_INPUT)

    call_command("get-execution-history", "--execution-arn", started["executionArn"])
    events = _json(capsys)["events"]
    scheduled = [e for e in events if e["type"] == "TaskScheduled"][-1]
    assert scheduled["taskScheduledEventDetails"]["heartbeatInSeconds"] == 900
    parameters = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    assert parameters["Entries"][0]["DetailType"] == "OrderProcessor.WorkflowStarted"

    call_command(
        "get-execution-history",
        "--execution-arn",
        started["executionArn"],
        "--max-results",
        "2",
        "--reverse-order",
    )
    page = _json(capsys)
    assert [e["id"] for e in page["events"]] == [events[-1]["id"], events[-2]["id"]]
    call_command(
        "get-execution-history",
        "--execution-arn",
        started["executionArn"],
        "--max-results",
        "2",
        "--reverse-order",
        "--next-token",
        page["nextToken"],
    )
    assert [e["id"] for e in _json(capsys)["events"]] == [events[-3]["id"], events[-4]["id"]]


def test_send_task_commands(inline_stages, capsys):
    call_command("start-execution", "--input", json.dumps(SEED_INPUT))
    execution = Execution.objects.get()
    token = token_from_history(execution, CUSTOMER_WAIT)
    call_command("send-task-heartbeat", "--task-token", token)
    call_command("send-task-failure", "--task-token", token, "--error", "OrderCancelled")
    execution.refresh_from_db()
    assert execution.output["cause"] == "Customer cancelled"
    with pytest.raises(CommandError, match=r"\(TaskTimedOut\)"):
        call_command("send-task-success", "--task-token", token, "--task-output", "{}")


@pytest.mark.parametrize(
    ("command", "arguments", "code"),
    [
        ("send-task-success", ["--task-token", "x", "--task-output", "{}"], "InvalidToken"),
        ("send-task-heartbeat", ["--task-token", "x" * 2049], "ValidationException"),
        ("describe-execution", ["--execution-arn", "nope"], "InvalidArn"),
        (
            "describe-execution",
            ["--execution-arn", "arn:aws:states:us-east-1:123456789012:execution:Nope:x"],
            "ExecutionDoesNotExist",
        ),
        ("start-execution", ["--input", "{bad"], "InvalidExecutionInput"),
        ("start-execution", ["--state-machine-arn", "Nope"], "StateMachineDoesNotExist"),
    ],
)
def test_errors_carry_the_step_functions_code(db, command, arguments, code):
    with pytest.raises(CommandError, match=rf"\({code}\)"):
        call_command(command, *arguments)
