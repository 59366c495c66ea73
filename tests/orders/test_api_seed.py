"""The seed's testing section through the Step Functions API, with real clients nobody here wrote.

The aws CLI (awscli) and boto3 talk to the real web server (pytest-django's live_server); the
stages run on the real Celery worker. Tokens are read as the seed reads them: from the
TaskScheduled event of GetExecutionHistory.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.services.order_processor import ORDER_PROCESSOR, order_processor_document
from stepfunctions import services
from tests.conftest import SEED_INPUT, aws_cli, wait_for

pytestmark = pytest.mark.integration
CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
SHOP = {"storeOpen": True, "isCapacityAvailable": True}
ORDER_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{ORDER_PROCESSOR}"


def _scheduled(history: dict, state_name: str) -> list[dict]:
    """The TaskScheduled events of entries into `state_name`, oldest first."""
    events = history["events"]
    found = []
    for before, event in zip(events, events[1:], strict=False):
        entered = before.get("stateEnteredEventDetails", {}).get("name")
        if event["type"] == "TaskScheduled" and entered == state_name:
            found.append(event["taskScheduledEventDetails"])
    return found


def _token(details: dict) -> str:
    return json.loads(details["parameters"])["Entries"][0]["Detail"]["TaskToken"]


def _token_via_boto3(sfn, arn: str, state_name: str) -> str:
    def scheduled():
        return _scheduled(sfn.get_execution_history(executionArn=arn), state_name)

    return _token(wait_for(scheduled, message=f"TaskScheduled of {state_name}")[-1])


def _cli_json(live_server, key, *args: str) -> dict:
    done = aws_cli(live_server, key, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def _finished(sfn, arn: str) -> dict:
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        message="the execution to finish",
    )


def test_seed_testing_section_with_the_aws_cli(live_server, live_stages, sfn_key):
    started = _cli_json(
        live_server,
        sfn_key,
        "start-execution",
        "--state-machine-arn",
        ORDER_ARN,
        "--input",
        json.dumps(SEED_INPUT),
    )
    arn = started["executionArn"]
    assert arn.startswith(f"arn:aws:states:us-east-1:123456789012:execution:{ORDER_PROCESSOR}:")

    def token_from_cli(state_name: str) -> str:
        def scheduled():
            history = _cli_json(
                live_server, sfn_key, "get-execution-history", "--execution-arn", arn
            )
            return _scheduled(history, state_name)

        return _token(wait_for(scheduled, message=f"TaskScheduled of {state_name}")[-1])

    def send_task_success(token: str):
        # The seed's command, with only --endpoint-url added (by aws_cli).
        return aws_cli(
            live_server,
            sfn_key,
            *("send-task-success", "--task-output", '{"orderId":1}', "--task-token", token),
        )

    first = token_from_cli(CUSTOMER_WAIT)
    done = send_task_success(first)
    assert (done.returncode, done.stdout.strip()) == (0, ""), done.stderr

    second = token_from_cli(BARISTA_WAIT)
    assert second != first
    done = send_task_success(second)
    assert done.returncode == 0, done.stderr

    def succeeded():
        described = _cli_json(live_server, sfn_key, "describe-execution", "--execution-arn", arn)
        return described["status"] == "SUCCEEDED" and described

    described = wait_for(succeeded, message="SUCCEEDED")
    output = json.loads(described["output"])
    assert output["order"] == {"orderId": 1}
    assert output["detail"] == SEED_INPUT["detail"]
    assert set(output) == {"detail", "GetStore", "Order", "order"}

    # The spent token, answered again: the CLI reports Step Functions' error and fails.
    again = send_task_success(first)
    assert again.returncode != 0
    assert "(TaskTimedOut)" in again.stderr


def test_seed_testing_section_with_boto3(live_stages, sfn):
    arn = sfn.start_execution(stateMachineArn=ORDER_ARN, input=json.dumps(SEED_INPUT))[
        "executionArn"
    ]
    first = _token_via_boto3(sfn, arn, CUSTOMER_WAIT)
    answer = sfn.send_task_success(taskToken=first, output='{"orderId":1}')
    assert set(answer) == {"ResponseMetadata"}
    second = _token_via_boto3(sfn, arn, BARISTA_WAIT)
    assert second != first
    sfn.send_task_success(taskToken=second, output='{"orderId":1}')
    described = _finished(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    assert described["startDate"] <= described["stopDate"]
    number = json.loads(described["output"])["Order"]["Payload"]["orderNumber"]
    assert json.loads(described["output"]) == {
        **SEED_INPUT,
        "GetStore": SHOP,
        "Order": {"Payload": {"orderNumber": number}},
        "order": {"orderId": 1},
    }


def _short_heartbeats(**seconds: int) -> str:
    document = order_processor_document()
    for state_name, heartbeat in seconds.items():
        document["States"][state_name]["HeartbeatSeconds"] = heartbeat
    return json.dumps(document)


def _sweep_past(seconds: int) -> None:
    """Beat's sweep, run as if `seconds` had passed: no test waits for a real heartbeat."""
    services.tokens_expire(now=timezone.now() + timedelta(seconds=seconds))


def _start(sfn, machine_arn: str, order_id: str) -> str:
    payload = {"detail": {"orderId": order_id, "userId": "testuser"}}
    return sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(payload))[
        "executionArn"
    ]


def test_customer_timeout_on_a_machine_created_with_short_heartbeats(live_stages, sfn):
    machine = sfn.create_state_machine(
        name="ShortCustomerWait",
        definition=_short_heartbeats(**{CUSTOMER_WAIT: 1}),
        roleArn="arn:aws:iam::123456789012:role/unused",
    )["stateMachineArn"]
    arn = _start(sfn, machine, "api-customer")
    token = _token_via_boto3(sfn, arn, CUSTOMER_WAIT)
    history = sfn.get_execution_history(executionArn=arn)
    assert _scheduled(history, CUSTOMER_WAIT)[0]["heartbeatInSeconds"] == 1

    _sweep_past(2)
    described = _finished(sfn, arn)
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["cause"] == "Customer timedout"
    assert output["comment"]["Error"] == "States.Timeout"
    timed_out = [
        e
        for e in sfn.get_execution_history(executionArn=arn)["events"]
        if e["type"] == "TaskTimedOut"
    ]
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=token, output='{"orderId":1}')


def test_barista_timeout_after_update_state_machine(
    live_server, live_stages, sfn, sfn_key, tmp_path
):
    machine = sfn.create_state_machine(
        name="ShortBaristaWait",
        definition=_short_heartbeats(),
        roleArn="arn:aws:iam::123456789012:role/unused",
    )["stateMachineArn"]
    before = _start(sfn, machine, "api-before-update")
    _token_via_boto3(sfn, before, CUSTOMER_WAIT)

    # The seed's "edit the workflow" step, as the CLI does it.
    definition = _short_heartbeats(**{BARISTA_WAIT: 1})
    (tmp_path / "workflow.asl.json").write_text(definition)
    updated = _cli_json(
        live_server,
        sfn_key,
        "update-state-machine",
        "--state-machine-arn",
        machine,
        "--definition",
        f"file://{tmp_path / 'workflow.asl.json'}",
    )
    assert updated["revisionId"] == "2"
    assert json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"]) == (
        json.loads(definition)
    )

    arn = _start(sfn, machine, "api-barista")
    customer = _token_via_boto3(sfn, arn, CUSTOMER_WAIT)
    sfn.send_task_success(taskToken=customer, output='{"orderId":1}')
    _token_via_boto3(sfn, arn, BARISTA_WAIT)
    history = sfn.get_execution_history(executionArn=arn)
    assert _scheduled(history, BARISTA_WAIT)[0]["heartbeatInSeconds"] == 1

    _sweep_past(2)
    described = _finished(sfn, arn)
    output = json.loads(described["output"])
    assert (described["status"], output["cause"]) == ("SUCCEEDED", "Barista timedout")

    # The execution started before the update keeps version 1 (900-second heartbeats).
    assert sfn.describe_execution(executionArn=before)["status"] == "RUNNING"
    old = sfn.get_execution_history(executionArn=before)
    assert _scheduled(old, CUSTOMER_WAIT)[0]["heartbeatInSeconds"] == 900


def test_no_token_starts_with_a_dash_so_the_cli_reads_it_as_a_value(monkeypatch):
    from stepfunctions.services import stage

    drawn = iter(["-" + "a" * 63, "b" * 64])
    monkeypatch.setattr(stage.secrets, "token_urlsafe", lambda n: next(drawn))
    assert stage.token_new() == "b" * 64
