"""Hostile JSON and names through signed API requests: each refusal is the 4xx AWS gives, on SQLite
and PostgreSQL alike, and nothing is written. Deep nesting, NaN/Infinity, NUL and lone surrogates,
names AWS refuses, ARNs of another region or account."""

import json

import pytest

from stepfunctions import services
from stepfunctions.models import (
    CallbackToken,
    Execution,
    HistoryEvent,
    StateMachine,
    StateMachineVersion,
)
from stepfunctions.workflow import MAX_DEPTH, JsonRefused, json_read, json_value_check
from tests.conftest import SEED_INPUT
from tests.stepfunctions.conftest import MACHINE_NAME
from tests.stepfunctions.signed import error_code, signed_post

pytestmark = pytest.mark.usefixtures("machine")
MACHINE_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{MACHINE_NAME}"
EXECUTION_ARN = f"arn:aws:states:us-east-1:123456789012:execution:{MACHINE_NAME}:x"
UNKNOWN_TOKEN = "A" * 64
DEEP = "[" * 10_000 + "]" * 10_000
# Each is valid JSON text to Python's json module, and unstorable or unbounded for the engine.
HOSTILE_VALUES = {
    "deep": DEEP,
    "deep-object": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "nan": '{"x": NaN}',
    "infinity": "[Infinity]",
    "-infinity": "-Infinity",
    "huge float": "1e400",
    "nul": '{"x": "a\\u0000b"}',
    "nul in key": '{"\\u0000": 1}',
    "lone surrogate": '"\\ud800"',
    "lone low surrogate": '{"k\\udc00": 1}',
    "too many digits": "9" * 5000,
}


def _rows() -> tuple[int, ...]:
    models = (StateMachine, StateMachineVersion, Execution, CallbackToken, HistoryEvent)
    return tuple(model.objects.count() for model in models)


@pytest.fixture
def refused(client, sfn_key):
    """Sends a signed request and checks it was refused with the code, changing nothing."""

    def check(operation: str, members: dict | str, code: str, status: int = 400):
        before = _rows()
        body = members if isinstance(members, str) else json.dumps(members)
        response = signed_post(client, sfn_key, operation, body)
        assert (response.status_code, error_code(response)) == (status, code), response.content[
            :300
        ]
        assert _rows() == before
        return json.loads(response.content)["message"]

    return check


# --- The shared reader ---------------------------------------------------------------------------
@pytest.mark.parametrize("text", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_the_reader_refuses_what_no_database_stores(text):
    with pytest.raises(JsonRefused):
        json_read(text)


def test_the_reader_accepts_nesting_up_to_the_limit_and_brackets_in_strings():
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert json_read(nested) is not None
    with pytest.raises(JsonRefused, match="nesting"):
        json_read("[" + nested + "]")
    # Brackets inside strings (escaped quotes too) are not nesting.
    assert json_read(json.dumps({"s": '[{"' * 500 + '\\"' + "[" * 500})) is not None
    assert json_read('"\\ud83d\\ude00"') == "\U0001f600"  # a paired surrogate is one character
    # An escaped backslash before "u0000" is text, not a NUL.
    assert json_read('"\\\\u0000"') == "\\u0000"
    # Wide is not deep: many brackets side by side, and a document built in Python.
    assert len(json_read("[" + "[1]," * 50_000 + "[1]]")) == 50_001
    with pytest.raises(JsonRefused, match="nesting"):
        json_value_check(json.loads(nested) + [[json.loads(nested)]])
    with pytest.raises(JsonRefused, match="NUL"):
        json_value_check({"ok": ["fine", {"k": "a\x00"}]})


# --- Bodies, input, output, definitions ----------------------------------------------------------
@pytest.mark.parametrize(
    "body", [DEEP, '{"stateMachineArn": NaN}', '{"a": "\\u0000"'], ids=["deep", "nan", "nul"]
)
def test_a_hostile_body_is_a_serialization_exception(refused, body):
    refused("DescribeStateMachine", body, "SerializationException")


@pytest.mark.parametrize("text", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_hostile_input_is_invalid_execution_input(refused, text):
    refused(
        "StartExecution", {"stateMachineArn": MACHINE_ARN, "input": text}, "InvalidExecutionInput"
    )


@pytest.mark.parametrize("text", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_hostile_output_is_invalid_output(refused, text):
    refused("SendTaskSuccess", {"taskToken": UNKNOWN_TOKEN, "output": text}, "InvalidOutput")


@pytest.mark.parametrize("text", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_a_hostile_definition_is_invalid_definition(refused, text):
    members = {"name": "Hostile", "definition": text, "roleArn": "arn:aws:iam::1:role/r"}
    refused("CreateStateMachine", members, "InvalidDefinition")


def _choice(depth: int) -> str:
    """A Choice whose rule is `depth` Nots around x == 1, as JSON text (json.dumps would recurse)."""
    rule = '{"Not":' * depth + '{"Variable": "$.x", "NumericEquals": 1' + "}" * (depth + 1)
    choices = '[{"Next": "Y", ' + rule[1:] + "]"
    return (
        '{"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "N", "Choices": '
        + choices
        + '}, "Y": {"Type": "Succeed"}, "N": {"Type": "Fail", "Error": "N"}}}'
    )


def test_a_choice_nested_3000_deep_is_invalid_definition(refused):
    members = {"name": "Deep", "definition": _choice(3000), "roleArn": "r"}
    message = refused("CreateStateMachine", members, "InvalidDefinition")
    assert "nesting deeper than" in message
    # The same bound holds for a definition handed to the service as a Python object.
    document = json.loads(_choice(MAX_DEPTH))
    with pytest.raises(Exception, match="nesting deeper than") as caught:
        services.state_machine_create(name="DeepToo", definition=document)
    assert caught.type.__name__ == "InvalidDefinition"


def test_a_choice_nested_within_the_bound_is_accepted_and_runs(inline_stages):
    machine = services.state_machine_create(
        name="Nested", definition=json.loads(_choice(MAX_DEPTH - 10))
    )
    execution, _ = services.execution_start(state_machine=machine, input={"x": 2})
    execution.refresh_from_db()
    # An even number of Nots around x == 1: x = 2 takes the Default.
    assert (execution.status, execution.error) == (Execution.Status.FAILED, "N")


@pytest.mark.parametrize("member", ["error", "cause"])
@pytest.mark.parametrize("text", ["a\x00b", "\ud800"], ids=["nul", "surrogate"])
def test_nul_or_a_surrogate_in_a_string_member_is_a_validation_exception(refused, member, text):
    message = refused(
        "SendTaskFailure", {"taskToken": UNKNOWN_TOKEN, member: text}, "ValidationException"
    )
    assert member in message
    stop = {"executionArn": EXECUTION_ARN, member: text}
    refused("StopExecution", stop, "ValidationException")


def test_the_callback_services_refuse_nul_in_error_and_cause_too():
    with pytest.raises(Exception, match="cause") as caught:
        services.task_failure(task_token=UNKNOWN_TOKEN, error="E", cause="\x00")
    assert caught.type.__name__ == "ValidationException"


# --- Names and ARNs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, code",
    [
        ("n" * 81, "ValidationException"),
        ("", "ValidationException"),
        ("has space", "InvalidName"),
        ("semi;colon", "InvalidName"),
        ("tab\tname", "InvalidName"),
        ("nul\x00name", "ValidationException"),
        ("del\x7fname", "InvalidName"),
        ("c1\x85control", "InvalidName"),
    ],
)
def test_names_aws_refuses_are_refused(refused, name, code):
    refused("StartExecution", {"stateMachineArn": MACHINE_ARN, "name": name}, code)
    members = {"name": name, "definition": _choice(1), "roleArn": "r"}
    refused("CreateStateMachine", members, code)


def test_a_name_of_80_characters_is_accepted(client, sfn_key):
    members = {"stateMachineArn": MACHINE_ARN, "name": "n" * 80, "input": json.dumps(SEED_INPUT)}
    response = signed_post(client, sfn_key, "StartExecution", json.dumps(members))
    assert response.status_code == 200
    assert json.loads(response.content)["executionArn"].endswith(":" + "n" * 80)
    # Stopped here (it waits for a stage a live worker may be running), so no stage is still
    # running when the test database is flushed.
    services.execution_stop(execution=Execution.objects.get(name="n" * 80))


OTHER_REGION = MACHINE_ARN.replace("us-east-1", "eu-west-1")
OTHER_ACCOUNT = MACHINE_ARN.replace("123456789012", "210987654321")
OTHER_REGION_RUN = EXECUTION_ARN.replace("us-east-1", "eu-west-1")
OTHER_ACCOUNT_RUN = EXECUTION_ARN.replace("123456789012", "210987654321")


@pytest.mark.parametrize(
    "operation, member, arn, code",
    [
        ("DescribeStateMachine", "stateMachineArn", OTHER_REGION, "InvalidArn"),
        ("DescribeStateMachine", "stateMachineArn", OTHER_ACCOUNT, "StateMachineDoesNotExist"),
        ("StartExecution", "stateMachineArn", OTHER_ACCOUNT, "StateMachineDoesNotExist"),
        ("DescribeExecution", "executionArn", OTHER_REGION_RUN, "InvalidArn"),
        ("DescribeExecution", "executionArn", OTHER_ACCOUNT_RUN, "ExecutionDoesNotExist"),
        ("StopExecution", "executionArn", OTHER_ACCOUNT_RUN, "ExecutionDoesNotExist"),
        ("DescribeExecution", "executionArn", EXECUTION_ARN + "\x00", "ValidationException"),
    ],
)
def test_arns_of_another_region_or_account_are_refused(refused, operation, member, arn, code):
    refused(operation, {member: arn}, code)


def test_an_execution_of_another_account_is_not_found_although_the_name_exists(
    client, sfn_key, inline_stages
):
    machine = StateMachine.objects.get(name=MACHINE_NAME)
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT, name="mine")
    ours = execution.arn
    response = signed_post(client, sfn_key, "DescribeExecution", json.dumps({"executionArn": ours}))
    assert response.status_code == 200
    theirs = ours.replace(":123456789012:", ":210987654321:")
    response = signed_post(
        client, sfn_key, "DescribeExecution", json.dumps({"executionArn": theirs})
    )
    assert error_code(response) == "ExecutionDoesNotExist"
