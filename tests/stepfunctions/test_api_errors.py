"""Every error code of the Step Functions API, produced through boto3 and caught as botocore's
modelled exception; and the protocol's own refusals (bad JSON, no target, too large a body)."""

import json
import logging
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stepfunctions.models import Execution, StateMachine
from tests.conftest import SEED_INPUT, wait_for
from tests.stepfunctions.conftest import MACHINE_NAME, machine_document

# The engine's test workflow, stored before each test (the coffee bar's is not installed).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("machine")]
ORDER_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{MACHINE_NAME}"
ROLE = "arn:aws:iam::123456789012:role/unused"
UNKNOWN_TOKEN = "A" * 64


def _waiting_token(sfn, order_id: str = "err-1", name: str | None = None) -> tuple[str, str]:
    """Starts an order and returns (executionArn, the customer step's open token)."""
    payload = {"detail": {"orderId": order_id, "userId": "testuser"}}
    extra = {"name": name} if name else {}
    arn = sfn.start_execution(stateMachineArn=ORDER_ARN, input=json.dumps(payload), **extra)[
        "executionArn"
    ]

    def token():
        for event in sfn.get_execution_history(executionArn=arn)["events"]:
            if event["type"] == "TaskScheduled":
                parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
                if "Entries" in parameters:
                    return parameters["Entries"][0]["Detail"]["TaskToken"]
        return None

    return arn, wait_for(token, message="the customer step's token")


# --- Callbacks -----------------------------------------------------------------------------------
def test_task_timed_out_after_stop_execution_closes_the_token(live_stages, sfn):
    arn, token = _waiting_token(sfn)
    stopped = sfn.stop_execution(executionArn=arn, error="Ops", cause="closing early")
    described = sfn.describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("ABORTED", "Ops")
    assert described["stopDate"] == stopped["stopDate"]
    for call in (
        lambda: sfn.send_task_success(taskToken=token, output="{}"),
        lambda: sfn.send_task_failure(taskToken=token, error="E"),
        lambda: sfn.send_task_heartbeat(taskToken=token),
    ):
        with pytest.raises(sfn.exceptions.TaskTimedOut) as caught:
            call()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    last = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1)
    assert last["events"][0]["type"] == "ExecutionAborted"


def test_invalid_token_and_invalid_output(live_stages, sfn):
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_success(taskToken="not a token", output="{}")
    with pytest.raises(sfn.exceptions.InvalidToken, match="does not exist"):
        sfn.send_task_heartbeat(taskToken=UNKNOWN_TOKEN)
    _, token = _waiting_token(sfn)
    with pytest.raises(sfn.exceptions.InvalidOutput):
        sfn.send_task_success(taskToken=token, output="{not json")
    # Refused output changed nothing: the token still resumes the task, once.
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_failure(taskToken=token, error="Customer.Cancelled", cause="changed mind")
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=token, output="{}")


@pytest.mark.parametrize(
    "call",
    [
        lambda sfn: sfn.send_task_failure(taskToken=UNKNOWN_TOKEN, error="E" * 257),
        lambda sfn: sfn.send_task_failure(taskToken=UNKNOWN_TOKEN, cause="C" * 32_769),
        lambda sfn: sfn.send_task_success(taskToken="T" * 2049, output="{}"),
        lambda sfn: sfn.send_task_success(taskToken=UNKNOWN_TOKEN, output=" " * 262_145),
        lambda sfn: sfn.get_execution_history(
            executionArn=f"{ORDER_ARN.replace('stateMachine', 'execution')}:x", maxResults=1001
        ),
        lambda sfn: sfn.list_executions(stateMachineArn=ORDER_ARN, statusFilter="SLEEPING"),
        lambda sfn: sfn.stop_execution(
            executionArn=f"{ORDER_ARN.replace('stateMachine', 'execution')}:x", cause="C" * 32_769
        ),
    ],
    ids=[
        "error-too-long",
        "cause-too-long",
        "token-too-long",
        "output-too-large",
        "max-results",
        "status-filter",
        "stop-cause",
    ],
)
def test_members_out_of_bounds_are_validation_exceptions(live_server, sfn, call):
    with pytest.raises(sfn.exceptions.ValidationException, match="validation error"):
        call(sfn)


# --- Executions ---------------------------------------------------------------------------------
def test_execution_errors(live_stages, sfn):
    missing = f"arn:aws:states:us-east-1:123456789012:execution:{MACHINE_NAME}:nope"
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=missing)
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.stop_execution(executionArn=missing)
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.describe_execution(executionArn="nope")
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.start_execution(stateMachineArn=MACHINE_NAME)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.start_execution(stateMachineArn=ORDER_ARN.replace(MACHINE_NAME, "Nope"))
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.start_execution(stateMachineArn=ORDER_ARN, name="two words")
    with pytest.raises(sfn.exceptions.InvalidExecutionInput):
        sfn.start_execution(stateMachineArn=ORDER_ARN, input="{not json")
    assert not Execution.objects.exists()

    first = sfn.start_execution(
        stateMachineArn=ORDER_ARN, name="order-1", input=json.dumps(SEED_INPUT)
    )
    # Same name, same input, still running: the same execution (idempotent, as AWS).
    again = sfn.start_execution(
        stateMachineArn=ORDER_ARN, name="order-1", input=json.dumps(SEED_INPUT)
    )
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=ORDER_ARN, name="order-1", input="{}")
    assert Execution.objects.count() == 1


# --- State machines -----------------------------------------------------------------------------
def test_state_machine_errors(live_server, sfn):
    document = machine_document()
    created = sfn.create_state_machine(name="Copy", definition=json.dumps(document), roleArn=ROLE)
    # The same name and definition: the same machine (CreateStateMachine is idempotent).
    again = sfn.create_state_machine(name="Copy", definition=json.dumps(document), roleArn=ROLE)
    assert again["stateMachineArn"] == created["stateMachineArn"]
    document["Comment"] = "changed"
    with pytest.raises(sfn.exceptions.StateMachineAlreadyExists):
        sfn.create_state_machine(name="Copy", definition=json.dumps(document), roleArn=ROLE)
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.create_state_machine(name="a/b", definition=json.dumps(document), roleArn=ROLE)

    broken = machine_document()
    del broken["States"]["Shop Open?"]["Choices"]
    with pytest.raises(sfn.exceptions.InvalidDefinition) as caught:
        sfn.create_state_machine(name="Broken", definition=json.dumps(broken), roleArn=ROLE)
    message = caught.value.response["Error"]["Message"]
    assert '"Shop Open?"' in message and '"Choices"' in message
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.update_state_machine(stateMachineArn=created["stateMachineArn"], definition="{")
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.create_state_machine(name="NotJson", definition="{", roleArn=ROLE)
    assert not StateMachine.objects.filter(name__in=["Broken", "NotJson"]).exists()

    missing = ORDER_ARN.replace(MACHINE_NAME, "Nope")
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=missing)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.update_state_machine(stateMachineArn=missing, definition=json.dumps(document))
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.list_executions(stateMachineArn=missing)
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.describe_state_machine(stateMachineArn="arn:aws:states:us-east-1:1:stateMachine:x")
    with pytest.raises(sfn.exceptions.ValidationException):
        sfn.update_state_machine(stateMachineArn=created["stateMachineArn"])
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.list_state_machines(nextToken="garbage")


# --- The protocol's own refusals ---------------------------------------------------------------
def _post(live_server, key, *, target: str | None, body: bytes) -> tuple[int, dict]:
    """A request signed as botocore signs one, with the target and body given."""
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = AWSRequest(method="POST", url=live_server.url + "/sfn/", data=body, headers=headers)
    SigV4Auth(
        Credentials(key.access_key_id, key.secret_access_key), "states", "us-east-1"
    ).add_auth(request)
    prepared = request.prepare()
    raw = urllib.request.Request(
        prepared.url, data=body, headers=dict(prepared.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(raw, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _code(answer: dict) -> str:
    return answer["__type"].rsplit("#", 1)[-1]


def test_unknown_operation_missing_target_bad_json_and_large_bodies(
    live_server, sfn_key, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    token_like = "B" * 64
    status, answer = _post(
        live_server, sfn_key, target="AWSStepFunctions.DeleteEverything", body=b"{}"
    )
    assert (status, _code(answer)) == (400, "UnknownOperationException")
    assert "DeleteEverything" in answer["message"]
    status, answer = _post(live_server, sfn_key, target=None, body=b"{}")
    assert (status, _code(answer)) == (400, "UnknownOperationException")
    assert "X-Amz-Target" in answer["message"]

    status, answer = _post(
        live_server,
        sfn_key,
        target="AWSStepFunctions.SendTaskSuccess",
        body=b'{"taskToken": "' + token_like.encode() + b'", "output": ',
    )
    assert (status, _code(answer)) == (400, "SerializationException")
    status, answer = _post(
        live_server, sfn_key, target="AWSStepFunctions.StartExecution", body=b"[1, 2]"
    )
    assert (status, _code(answer)) == (400, "SerializationException")
    status, answer = _post(
        live_server,
        sfn_key,
        target="AWSStepFunctions.GetExecutionHistory",
        body=b'{"executionArn": "x", "maxResults": "ten"}',
    )
    assert (status, _code(answer)) == (400, "SerializationException")

    settings.SFN_MAX_BODY_BYTES = 1000
    body = json.dumps({"stateMachineArn": ORDER_ARN, "input": "x" * 2000}).encode()
    status, answer = _post(
        live_server, sfn_key, target="AWSStepFunctions.StartExecution", body=body
    )
    assert (status, _code(answer)) == (400, "ValidationException")
    assert "1000 bytes" in answer["message"]

    assert not Execution.objects.exists()
    server_logs = [r for r in caplog.records if r.name.startswith(("django", "stepfunctions"))]
    assert token_like not in "\n".join(r.getMessage() for r in server_logs)
