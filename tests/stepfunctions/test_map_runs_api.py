"""Map runs through boto3 and the aws CLI on the live server, with the real worker running the
stages: ListMapRuns, DescribeMapRun (counts by status), UpdateMapRun raising MaxConcurrency,
ListExecutions(mapRunArn=...), and DescribeExecution / GetExecutionHistory of a child."""

import json

import pytest

from stepfunctions.models import CallbackToken, MapRun
from tests.conftest import aws_cli, wait_for

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/unused"
WAITS = {
    "Type": "Task",
    "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
    "Parameters": {
        "Entries": [{"Source": "t", "DetailType": "w", "Detail": {"T.$": "$$.Task.Token"}}]
    },
    "End": True,
}
DEFINITION = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "Label": "Orders",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "W",
                "States": {"W": WAITS},
            },
            "End": True,
        }
    },
}


def _cli(live_server, key, *args: str) -> dict:
    done = aws_cli(live_server, key, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def _open_tokens(map_run_id, count):
    def tokens():
        found = list(
            CallbackToken.objects.filter(
                execution__group__map_run__id=map_run_id, status=CallbackToken.Status.OPEN
            ).values_list("token", flat=True)
        )
        return found if len(found) == count else None

    return wait_for(tokens, message=f"{count} open tokens")


def test_map_runs_with_boto3_and_the_aws_cli(live_stages, live_server, sfn_key, sfn, make_sfn):
    machine = sfn.create_state_machine(
        name="Fanout", definition=json.dumps(DEFINITION), roleArn=ROLE
    )["stateMachineArn"]
    items = [1, 2, 3, 4, 5, 6]
    execution_arn = sfn.start_execution(
        stateMachineArn=machine, input=json.dumps({"items": items})
    )["executionArn"]
    run_id = wait_for(
        lambda: MapRun.objects.filter(execution__name=execution_arn.rsplit(":", 1)[1])
        .values_list("pk", flat=True)
        .first(),
        message="the map run",
    )
    [token] = _open_tokens(run_id, 1)

    [listed] = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    run_arn = listed["mapRunArn"]
    assert run_arn == f"arn:aws:states:us-east-1:123456789012:mapRun:Fanout/Orders:{run_id}"
    assert listed["stateMachineArn"] == f"{machine}/Orders"
    assert listed["executionArn"] == execution_arn
    described = _cli(live_server, sfn_key, "describe-map-run", "--map-run-arn", run_arn)
    assert described["status"] == "RUNNING"
    assert described["maxConcurrency"] == 1
    assert described["itemCounts"]["running"] == 2 and described["itemCounts"]["pending"] == 4
    assert described["executionCounts"]["total"] == 3

    # The first batch ends; then the run is given room for both others at once.
    sfn.send_task_success(taskToken=token, output='"first"')
    _open_tokens(run_id, 1)
    _cli(live_server, sfn_key, "update-map-run", "--map-run-arn", run_arn, "--max-concurrency", "5")
    tokens = _open_tokens(run_id, 2)
    assert sfn.describe_map_run(mapRunArn=run_arn)["maxConcurrency"] == 5

    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 3
    first_page = sfn.list_executions(mapRunArn=run_arn, maxResults=2)
    rest = _cli(
        live_server,
        sfn_key,
        "list-executions",
        "--map-run-arn",
        run_arn,
        "--starting-token",
        first_page["nextToken"],
    )
    paged = [c["executionArn"] for c in first_page["executions"] + rest["executions"]]
    assert paged == [c["executionArn"] for c in children]
    assert {c["mapRunArn"] for c in children} == {run_arn}
    assert sorted(c["itemCount"] for c in children) == [2, 2, 2]
    child = next(c for c in children if c["status"] == "SUCCEEDED")
    assert child["executionArn"].startswith(
        "arn:aws:states:us-east-1:123456789012:execution:Fanout/Orders:"
    )
    child_described = sfn.describe_execution(executionArn=child["executionArn"])
    assert child_described["mapRunArn"] == run_arn
    assert child_described["stateMachineArn"] == f"{machine}/Orders"
    assert json.loads(child_described["input"]) == {"Items": [1, 2]}
    child_machine = sfn.describe_state_machine_for_execution(executionArn=child["executionArn"])
    assert child_machine["stateMachineArn"] == f"{machine}/Orders"
    assert (child_machine["mapRunArn"], child_machine["label"]) == (run_arn, "Orders")
    history = sfn.get_execution_history(executionArn=child["executionArn"])["events"]
    assert [e["type"] for e in history][0] == "ExecutionStarted"
    assert [e["type"] for e in history][-1] == "ExecutionSucceeded"
    listed_cli = _cli(live_server, sfn_key, "list-map-runs", "--execution-arn", execution_arn)
    assert [r["mapRunArn"] for r in listed_cli["mapRuns"]] == [run_arn]

    for token in tokens:
        sfn.send_task_success(taskToken=token, output='"more"')
    wait_for(
        lambda: sfn.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED",
        message="the parent's end",
    )
    assert json.loads(sfn.describe_execution(executionArn=execution_arn)["output"]) == [
        "first",
        "more",
        "more",
    ]
    ended = sfn.describe_map_run(mapRunArn=run_arn)
    assert ended["status"] == "SUCCEEDED" and "stopDate" in ended
    assert ended["itemCounts"]["succeeded"] == 6
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    started = next(e for e in events if e["type"] == "MapRunStarted")
    assert started["mapRunStartedEventDetails"] == {"mapRunArn": run_arn}
    assert "MapRunSucceeded" in [e["type"] for e in events]

    # A map run that has ended changes no more; an unknown one is ResourceNotFound.
    with pytest.raises(sfn.exceptions.ValidationException):
        sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=2)
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.describe_map_run(mapRunArn=run_arn[:-36] + "00000000-0000-0000-0000-000000000000")
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.describe_map_run(mapRunArn="arn:aws:states:us-east-1:123456789012:mapRun:nope")

    # A read-only key reads map runs; updating one needs the permission a stop needs.
    from django.contrib.auth import get_user_model

    from stepfunctions.services.access_keys import access_key_create

    reader_key = access_key_create(
        user=get_user_model().objects.create_user(username="map-reader"), grants=["read"]
    )
    reader = make_sfn(reader_key)
    assert reader.describe_map_run(mapRunArn=run_arn)["status"] == "SUCCEEDED"
    assert reader.list_map_runs(executionArn=execution_arn)["mapRuns"]
    with pytest.raises(reader.exceptions.ClientError) as denied:
        reader.update_map_run(mapRunArn=run_arn, maxConcurrency=2)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
