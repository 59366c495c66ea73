"""Distributed Map states through the engine (eager Celery): each item (or batch) a child
execution of its own with its own history, in a map run with its ARN, counts and runtime
settings; MaxConcurrency, tolerated failures, ItemBatcher, UpdateMapRun; ItemReader and
ResultWriter refused. The API's side (boto3 and the aws CLI) is in test_map_runs_api.py."""

import json

import pytest

from stepfunctions import selectors, services
from stepfunctions.errors import InvalidDefinition, ValidationException
from stepfunctions.models import CallbackToken, Execution, MapRun
from stepfunctions.services.map_runs import map_run_counts, map_run_update

CALLBACK = "arn:aws:states:::events:putEvents.waitForTaskToken"
WAITS = {
    "Type": "Task",
    "Resource": CALLBACK,
    "Parameters": {
        "Entries": [{"Source": "t", "DetailType": "w", "Detail": {"T.$": "$$.Task.Token"}}]
    },
    "End": True,
}
CHECKED = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Bad"}],
            "Default": "Good",
        },
        "Bad": {"Type": "Fail", "Error": "TooBig", "Cause": "over 1"},
        "Good": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "id.$": "$$.Execution.Id"},
            "End": True,
        },
    },
}


def distributed(processor, **fields):
    config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {**processor, "ProcessorConfig": config},
        "End": True,
    }
    return {"StartAt": "Fan", "States": {"Fan": state | fields}}


def start(name, definition, data):
    machine = services.state_machine_create(name=name, definition=definition)
    execution, _ = services.execution_start(state_machine=machine, input=data)
    execution.refresh_from_db()
    return execution


def children(map_run):
    return Execution.objects.filter(group_id=map_run.group_id).order_by("branch_index")


def open_tokens(map_run):
    return list(
        CallbackToken.objects.filter(
            execution__group_id=map_run.group_id, status=CallbackToken.Status.OPEN
        )
        .order_by("execution__branch_index")
        .values_list("token", flat=True)
    )


def history_types(execution):
    return list(execution.history.order_by("event_id").values_list("type", flat=True))


def test_each_item_runs_as_a_child_execution_with_its_own_history(inline_stages):
    items = [{"n": 0}, {"n": 1}]
    execution = start("Dist", distributed(CHECKED, Label="Fan1"), {"items": items})
    assert execution.status == "SUCCEEDED"
    map_run = MapRun.objects.get(execution=execution)
    arn = map_run.arn
    assert arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:Dist/Fan1:")
    assert (map_run.status, map_run.item_count) == ("SUCCEEDED", 2)
    first, second = children(map_run)
    child_arn = f"arn:aws:states:us-east-1:123456789012:execution:Dist/Fan1:{first.name}"
    # The child's context object is its own: its ARN under the labelled machine.
    assert execution.output == [
        {"n": 0, "id": child_arn},
        {"n": 1, "id": child_arn[:-36] + second.name},
    ]
    assert history_types(first)[0] == "ExecutionStarted"
    assert history_types(first)[-1] == "ExecutionSucceeded"
    parent = history_types(execution)
    assert "MapIterationStarted" not in parent and "PassStateEntered" not in parent
    started = parent.index("MapRunStarted")
    assert parent[started - 1 : started + 4] == [
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
    ]
    event = execution.history.get(type="MapRunStarted")
    assert event.details == {"mapRunArn": arn}
    # The API reaches the child by its ARN; the hidden inline children stay hidden.
    assert selectors.execution_get(arn=child_arn).pk == first.pk
    assert [e.type for e in selectors.history_page(arn=child_arn, limit=2)] == [
        "ExecutionStarted",
        "ChoiceStateEntered",
    ]
    items_count, executions_count = map_run_counts(map_run=map_run)
    assert items_count["succeeded"] == executions_count["total"] == 2


def test_a_failed_item_fails_the_map_with_the_threshold_error_and_tolerance_counts_items(
    inline_stages,
):
    failing = start("DistFail", distributed(CHECKED), {"items": [{"n": 0}, {"n": 5}]})
    assert (failing.status, failing.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert "MapRunFailed" in history_types(failing)
    assert failing.history.get(type="MapRunFailed").details["error"] == (
        "States.ExceedToleratedFailureThreshold"
    )
    assert MapRun.objects.get(execution=failing).status == "FAILED"

    tolerant = distributed(CHECKED, ToleratedFailurePercentage=50)
    items = [{"n": 0}, {"n": 5}, {"n": 1}, {"n": 9}]
    execution = start("DistTolerant", tolerant, {"items": items})
    assert execution.status == "SUCCEEDED"
    assert execution.output[1] == {"Error": "TooBig", "Cause": "over 1"}
    counts, _ = map_run_counts(map_run=MapRun.objects.get(execution=execution))
    assert (counts["succeeded"], counts["failed"], counts["total"]) == (2, 2, 4)


def test_item_batcher_gives_each_child_a_batch_with_batch_input(inline_stages):
    processor = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    batcher = {"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}}
    definition = distributed(processor, ItemBatcher=batcher)
    execution = start("DistBatch", definition, {"items": [1, 2, 3, 4, 5], "tag": "t"})
    assert execution.status == "SUCCEEDED"
    assert execution.output == [
        {"Items": [1, 2], "BatchInput": {"tag": "t"}},
        {"Items": [3, 4], "BatchInput": {"tag": "t"}},
        {"Items": [5], "BatchInput": {"tag": "t"}},
    ]
    map_run = MapRun.objects.get(execution=execution)
    items_count, executions_count = map_run_counts(map_run=map_run)
    assert (items_count["total"], executions_count["total"]) == (5, 3)

    by_size = distributed(processor, ItemBatcher={"MaxInputBytesPerBatch": 30})
    sized = start("DistBytes", by_size, {"items": ["aaaaaaaa", "bbbbbbbb", "cccccccc"]})
    assert sized.output == [
        {"Items": ["aaaaaaaa"]},
        {"Items": ["bbbbbbbb"]},
        {"Items": ["cccccccc"]},
    ]


def test_max_concurrency_is_honoured_and_update_map_run_raises_it(inline_stages):
    definition = distributed({"StartAt": "W", "States": {"W": WAITS}}, MaxConcurrency=1)
    execution = start("DistConc", definition, {"items": ["a", "b", "c", "d"]})
    map_run = MapRun.objects.get(execution=execution)
    [token] = open_tokens(map_run)
    items, runs = map_run_counts(map_run=map_run)
    assert (runs["running"], runs["pending"]) == (1, 3)
    services.task_success(task_token=token, output='"A"')
    assert len(open_tokens(map_run)) == 1  # the next, one at a time

    map_run_update(map_run=map_run, max_concurrency=3)
    tokens = open_tokens(map_run)
    assert len(tokens) == 3  # b, c and d at once now
    _, runs = map_run_counts(map_run=map_run)
    assert (runs["succeeded"], runs["running"], runs["pending"]) == (1, 3, 0)
    for token in tokens:
        services.task_success(task_token=token, output='"x"')
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", ["A", "x", "x", "x"])
    map_run.refresh_from_db()
    assert (map_run.status, map_run.max_concurrency) == ("SUCCEEDED", 3)
    with pytest.raises(ValidationException):
        map_run_update(map_run=map_run, max_concurrency=5)


def test_update_map_run_lowering_the_tolerance_fails_the_run(inline_stages):
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "StringEquals": "bad", "Next": "Bad"}],
                "Default": "W",
            },
            "Bad": {"Type": "Fail", "Error": "Bad"},
            "W": WAITS,
        },
    }
    definition = distributed(processor, ToleratedFailureCount=1)
    execution = start("DistLower", definition, {"items": ["bad", "ok"]})
    map_run = MapRun.objects.get(execution=execution)
    assert execution.status == "RUNNING"
    map_run_update(map_run=map_run, tolerated_failure_count=0)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
    )
    map_run.refresh_from_db()
    assert (map_run.status, map_run.tolerated_failure_count) == ("FAILED", 0)
    # The child still waiting was aborted, with ExecutionAborted in its own history.
    waiting = children(map_run).get(branch_index=1)
    assert waiting.status == "ABORTED"
    assert history_types(waiting)[-1] == "ExecutionAborted"


def test_stopping_the_parent_aborts_the_map_run_and_its_children(inline_stages):
    definition = distributed({"StartAt": "W", "States": {"W": WAITS}})
    execution = start("DistStop", definition, {"items": [1, 2]})
    services.execution_stop(execution=execution)
    execution.refresh_from_db()
    map_run = MapRun.objects.get(execution=execution)
    assert (execution.status, map_run.status) == ("ABORTED", "ABORTED")
    assert set(children(map_run).values_list("status", flat=True)) == {"ABORTED"}
    assert history_types(execution)[-3:] == ["MapRunAborted", "MapStateAborted", "ExecutionAborted"]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("ItemReader", {"Resource": "arn:aws:states:::s3:getObject"}, "Amazon S3"),
        ("ResultWriter", {"Resource": "arn:aws:states:::s3:putObject"}, "Amazon S3"),
        ("Label", "a:b", "must not contain"),
        ("ItemBatcher", {"BatchInput": {}}, "MaxItemsPerBatch"),
    ],
)
def test_item_reader_and_result_writer_are_refused_saying_why(
    transactional_db, field, value, fragment
):
    definition = distributed(CHECKED, **{field: value})
    with pytest.raises(InvalidDefinition) as refused:
        services.state_machine_create(name="DistRefused", definition=json.dumps(definition))
    assert field in refused.value.message
    assert fragment in refused.value.message


def test_the_admin_lists_map_runs_with_their_item_counts(inline_stages, admin_client):
    processor = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    definition = distributed(processor, Label="Admin", ItemBatcher={"MaxItemsPerBatch": 2})
    execution = start("DistAdmin", definition, {"items": [1, 2, 3]})
    map_run = MapRun.objects.get(execution=execution)
    listed = admin_client.get("/admin/stepfunctions/maprun/")
    assert listed.status_code == 200
    assert b"succeeded: 3" in listed.content and b"total: 3" in listed.content
    page = admin_client.get(f"/admin/stepfunctions/maprun/{map_run.pk}/change/")
    assert page.status_code == 200
    assert map_run.arn.encode() in page.content
    assert b"succeeded: 2" in page.content  # the child executions: two batches
    shown = admin_client.get(f"/admin/stepfunctions/execution/{execution.pk}/change/")
    assert f"/admin/stepfunctions/maprun/{map_run.pk}/change/".encode() in shown.content


def test_a_child_keeps_its_inner_parallel_in_its_own_history_and_jsonata_batches(inline_stages):
    inner = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
                "End": True,
            }
        },
    }
    execution = start("DistNested", distributed(inner), {"items": [7]})
    assert execution.output == [[7]]
    [child] = children(MapRun.objects.get(execution=execution))
    assert "PassStateEntered" in history_types(child)
    assert "PassStateEntered" not in history_types(execution)

    jsonata = {
        "QueryLanguage": "JSONata",
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemBatcher": {
                    "MaxItemsPerBatch": 3,
                    "BatchInput": {"k": "{% $states.input.k %}"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Pass",
                            "Output": "{% [$count($states.input.Items), $states.input.BatchInput.k] %}",
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    counted = start("DistJsonata", jsonata, {"xs": [1, 2, 3, 4], "k": 1})
    assert (counted.status, counted.output) == ("SUCCEEDED", [[3, 1], [1, 1]])


def test_a_child_stopped_through_the_api_fails_an_intolerant_map_run(inline_stages):
    definition = distributed({"StartAt": "W", "States": {"W": WAITS}})
    execution = start("DistChildStop", definition, {"items": [1, 2]})
    map_run = MapRun.objects.get(execution=execution)
    first = children(map_run).first()
    child = selectors.execution_get(arn=map_run.child_arn(first.name))
    services.execution_stop(execution=child)
    execution.refresh_from_db()
    assert (execution.status, execution.error) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
    )
    assert history_types(Execution.objects.get(pk=first.pk))[-1] == "ExecutionAborted"
    assert set(children(map_run).values_list("status", flat=True)) == {"ABORTED"}


def test_children_ending_together_with_update_map_run_keep_max_concurrency(inline_stages):
    """Two children end in two threads while a third raises MaxConcurrency: the group's row
    serializes them, so exactly the room the new bound leaves is filled, never more."""
    from tests.stepfunctions.test_races import _run_together

    definition = distributed({"StartAt": "W", "States": {"W": WAITS}}, MaxConcurrency=2)
    execution = start("DistRace", definition, {"items": list(range(10))})
    map_run = MapRun.objects.get(execution=execution)
    first, second = open_tokens(map_run)
    results = _run_together(
        lambda: services.task_success(task_token=first, output="0"),
        lambda: services.task_success(task_token=second, output="1"),
        lambda: map_run_update(map_run=map_run, max_concurrency=3),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    answered = 2
    while tokens := open_tokens(map_run):
        assert len(tokens) == min(3, 10 - answered)
        for token in tokens:
            services.task_success(task_token=token, output=str(answered))
            answered += 1
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED" and len(execution.output) == 10
    items_count, _ = map_run_counts(map_run=map_run)
    assert (items_count["succeeded"], items_count["running"], items_count["pending"]) == (10, 0, 0)
