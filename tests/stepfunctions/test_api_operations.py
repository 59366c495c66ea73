"""The listing, paging and state machine operations, driven by boto3 (and its paginators)."""

import json

import pytest

from stepfunctions.models import Event, Execution, StateMachine
from tests.conftest import wait_for
from tests.stepfunctions.conftest import MACHINE_NAME, machine_document

# The engine's test workflow, stored before each test (the coffee bar's is not installed).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("machine")]
ORDER_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{MACHINE_NAME}"
ROLE = "arn:aws:iam::123456789012:role/unused"
PASS_ONLY = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def _order(order_id: str) -> str:
    return json.dumps({"detail": {"orderId": order_id, "userId": "testuser"}})


def test_list_executions_filters_pages_and_lists_newest_first(live_stages, sfn):
    arns = [
        sfn.start_execution(stateMachineArn=ORDER_ARN, name=f"o{i}", input=_order(f"l{i}"))[
            "executionArn"
        ]
        for i in range(5)
    ]
    sfn.stop_execution(executionArn=arns[1])

    page = sfn.list_executions(stateMachineArn=ORDER_ARN, maxResults=2)
    assert [e["name"] for e in page["executions"]] == ["o4", "o3"]
    assert page["nextToken"]
    names = [
        e["name"]
        for p in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=ORDER_ARN, PaginationConfig={"PageSize": 2}
        )
        for e in p["executions"]
    ]
    assert names == ["o4", "o3", "o2", "o1", "o0"]

    aborted = sfn.list_executions(stateMachineArn=ORDER_ARN, statusFilter="ABORTED")
    assert [(e["name"], e["status"]) for e in aborted["executions"]] == [("o1", "ABORTED")]
    assert "stopDate" in aborted["executions"][0]
    running = sfn.list_executions(stateMachineArn=ORDER_ARN, statusFilter="RUNNING")
    assert {e["name"] for e in running["executions"]} == {"o0", "o2", "o3", "o4"}
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.list_executions(stateMachineArn=ORDER_ARN, nextToken="bm9wZQ==")


def test_get_execution_history_pages_reverses_and_leaves_out_data(live_stages, sfn):
    arn = sfn.start_execution(stateMachineArn=ORDER_ARN, input=_order("h1"))["executionArn"]
    wait_for(
        lambda: Execution.objects.filter(stage=Execution.Stage.WAITING).exists(),
        message="the customer step",
    )
    whole = sfn.get_execution_history(executionArn=arn)["events"]
    assert whole[0]["type"] == "ExecutionStarted"
    assert [e["id"] for e in whole] == list(range(1, len(whole) + 1))
    assert whole[1]["previousEventId"] == 1
    assert whole[0]["timestamp"] <= whole[-1]["timestamp"]

    paged = [
        e
        for p in sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn, PaginationConfig={"PageSize": 3}
        )
        for e in p["events"]
    ]
    assert paged == whole
    backwards = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=4)
    assert [e["id"] for e in backwards["events"]] == [len(whole) - i for i in range(4)]
    rest = sfn.get_execution_history(
        executionArn=arn, reverseOrder=True, nextToken=backwards["nextToken"]
    )
    assert [e["id"] for e in rest["events"]] == list(range(len(whole) - 4, 0, -1))

    bare = sfn.get_execution_history(executionArn=arn, includeExecutionData=False)["events"]
    assert "input" in whole[0]["executionStartedEventDetails"]
    assert "input" not in bare[0].get("executionStartedEventDetails", {})
    scheduled = [e for e in bare if e["type"] == "TaskScheduled"]
    assert all("parameters" not in e["taskScheduledEventDetails"] for e in scheduled)


def test_state_machines_create_describe_list_update_delete(live_stages, sfn):
    created = sfn.create_state_machine(
        name="Tiny", definition=json.dumps(PASS_ONLY), roleArn=ROLE, type="STANDARD"
    )
    arn = created["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:Tiny"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["name"], described["status"], described["type"]) == (
        "Tiny",
        "ACTIVE",
        "STANDARD",
    )
    assert json.loads(described["definition"]) == PASS_ONLY
    assert described["creationDate"] == created["creationDate"]

    names = [
        m["name"]
        for p in sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 1})
        for m in p["stateMachines"]
    ]
    # Every stored machine once, by name (the coffee bar's own is there too when it is installed).
    assert names == sorted(StateMachine.objects.values_list("name", flat=True))
    assert {MACHINE_NAME, "Tiny"} <= set(names)

    with_comment = {**PASS_ONLY, "Comment": "v2"}
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(with_comment))
    assert updated["revisionId"] == "2"
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == (
        with_comment
    )

    execution = sfn.start_execution(stateMachineArn=arn, input='{"a": 1}')["executionArn"]
    finished = wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] == "SUCCEEDED"
        and d,
        message="the Pass machine to finish",
    )
    assert json.loads(finished["output"]) == {"a": 1}

    sfn.delete_state_machine(stateMachineArn=arn)
    sfn.delete_state_machine(stateMachineArn=arn)  # deleting twice succeeds, as on AWS
    assert not StateMachine.objects.filter(name="Tiny").exists()
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=execution)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=arn)
    # EXPRESS machines are served now (tests/stepfunctions/test_express_api.py); a type that
    # is neither is refused.
    with pytest.raises(sfn.exceptions.ValidationException):
        sfn.create_state_machine(
            name="Fast", definition=json.dumps(PASS_ONLY), roleArn=ROLE, type="FAST"
        )


def test_deleting_a_machine_with_a_waiting_execution(live_stages, sfn):
    arn = sfn.create_state_machine(
        name="Orders2", definition=json.dumps(machine_document()), roleArn=ROLE
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=arn, input=_order("d1"))
    wait_for(
        lambda: Execution.objects.filter(stage=Execution.Stage.WAITING).exists(),
        message="the customer step",
    )
    sfn.delete_state_machine(stateMachineArn=arn)
    assert not Execution.objects.exists()
    # The bus keeps what was put on it; the rows no longer point at a removed execution.
    assert Event.objects.filter(execution__isnull=True).exists()
