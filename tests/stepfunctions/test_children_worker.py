"""Parallel and Map on the real parts: the Celery worker running the children's stages, and
races between children from real threads on real connections (they mean most on PostgreSQL:
`make services-test`; on SQLite the IMMEDIATE transactions serialise the same code)."""

import json
import threading

import pytest
from django.utils import timezone

from stepfunctions import services
from stepfunctions.models import CallbackToken, ChildGroup, Execution
from tests.conftest import wait_for

from .test_children import (
    MAP_DOUBLE,
    branch,
    callback_state,
    children_of,
    document,
    start,
    tokens_of,
    types,
)
from .test_races import _run_together

ROLE = "arn:aws:iam::123456789012:role/unused"
TWO_WAITS = {
    "P": {
        "Type": "Parallel",
        "Branches": [branch({"W1": callback_state("w1")}), branch({"W2": callback_state("w2")})],
        "End": True,
    }
}


def _history_is_numbered(execution):
    ids = list(execution.history.order_by("event_id").values_list("event_id", flat=True))
    return ids == list(range(1, len(ids) + 1)) and ids[-1] == execution.event_count


def test_two_branches_ending_at_once_wake_the_parent_exactly_once(inline_stages, monkeypatch):
    wakes = []
    lock = threading.Lock()
    original = Execution.objects.wake

    def counted(ids, *, at):
        with lock:
            wakes.append(list(ids))
        return original(ids, at=at)

    monkeypatch.setattr(Execution.objects, "wake", counted)
    for round_ in range(10):
        execution = start(f"ParRace{round_}", TWO_WAITS, {"round": round_})
        first, second = children_of(execution)
        # Both tokens close (their children due) without running a stage; then both children's
        # stages run at once, each ending its branch and counting it on the group.
        now = timezone.now()
        for state in ("W1", "W2"):
            [token] = tokens_of(execution, state)
            closed = CallbackToken.objects.close_and_wake(
                token, status="SUCCEEDED", outcome={"output": state}, now=now
            )
            assert closed is not None
        wakes.clear()
        results = _run_together(
            lambda c=first: services.execution_advance(execution_id=c.pk),
            lambda c=second: services.execution_advance(execution_id=c.pk),
        )
        assert results == [True, True]
        assert wakes == [[execution.pk]]
        execution.refresh_from_db()
        assert execution.status == "SUCCEEDED", execution.cause
        assert execution.output == ["W1", "W2"]
        assert types(execution).count("ParallelStateSucceeded") == 1
        assert _history_is_numbered(execution)
        group = ChildGroup.objects.get(parent=execution)
        assert (group.open_children, group.woken) == (0, True)


def test_a_redelivered_stage_of_a_child_or_parent_changes_nothing(inline_stages):
    execution = start("ParRedelivered", TWO_WAITS, {})
    for state in ("W1", "W2"):
        [token] = tokens_of(execution, state)
        services.task_success(task_token=token, output=json.dumps(state))
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    events = execution.history.count()
    for pk in [execution.pk, *children_of(execution).values_list("pk", flat=True)]:
        assert services.execution_advance(execution_id=pk) is False
    assert execution.history.count() == events
    assert ChildGroup.objects.get(parent=execution).open_children == 0


def test_a_branch_failing_while_another_waits_fails_the_parent_and_aborts_the_waiting_one(
    inline_stages,
):
    execution = start("ParFailWhileWaiting", TWO_WAITS, {})
    [token] = tokens_of(execution, "W2")
    services.task_failure(task_token=token, error="Rejected", cause="no")
    execution.refresh_from_db()
    assert (execution.status, execution.error, execution.cause) == ("FAILED", "Rejected", "no")
    waiting, failed = children_of(execution)
    assert (waiting.status, failed.status) == ("ABORTED", "FAILED")
    [spent] = CallbackToken.objects.filter(execution=waiting).values_list("token", flat=True)
    with pytest.raises(Exception, match="Task Timed Out"):
        services.task_success(task_token=spent, output="{}")
    assert _history_is_numbered(execution)


@pytest.mark.usefixtures("live_stages")
def test_parallel_and_map_through_the_real_worker():
    states = {
        "P": {
            "Type": "Parallel",
            "Branches": [
                branch({"W": callback_state("w")}),
                branch(
                    {
                        "M": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 3,
                            "ItemProcessor": branch(
                                {"Wait": {"Type": "Wait", "Seconds": 0, "End": True}}
                            ),
                            "End": True,
                        }
                    }
                ),
            ],
            "End": True,
        }
    }
    machine = services.state_machine_create(
        name="ParWorker", definition={"StartAt": "P", "States": states}
    )
    items = list(range(12))
    execution, _ = services.execution_start(state_machine=machine, input={"items": items})
    token = wait_for(
        lambda: tokens_of(execution, "W"), message="the callback branch to wait on its token"
    )[0]
    services.task_success(task_token=token, output=json.dumps("done"))
    wait_for(
        lambda: Execution.objects.get(pk=execution.pk).status != "RUNNING",
        message="the execution to end",
    )
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == ["done", items]
    history = types(execution)
    assert history.count("MapIterationSucceeded") == len(items)
    assert history.count("WaitStateEntered") == len(items)
    assert _history_is_numbered(execution)


@pytest.mark.usefixtures("live_stages")
def test_stop_execution_aborts_the_branches_through_the_real_worker():
    machine = services.state_machine_create(
        name="ParWorkerStop", definition={"StartAt": "P", "States": TWO_WAITS}
    )
    execution, _ = services.execution_start(state_machine=machine, input={})
    wait_for(lambda: len(tokens_of(execution, "W1") + tokens_of(execution, "W2")) == 2)
    services.execution_stop(execution=execution)
    wait_for(
        lambda: set(children_of(execution).values_list("status", flat=True)) == {"ABORTED"},
        message="the branches to be aborted",
    )
    assert not CallbackToken.objects.filter(
        execution__group__parent=execution, status=CallbackToken.Status.OPEN
    ).exists()


def test_the_api_shows_a_map_as_one_execution_with_its_iterations_in_its_history(live_stages, sfn):
    arn = sfn.create_state_machine(
        name="MapApi", definition=json.dumps(document(MAP_DOUBLE)), roleArn=ROLE
    )["stateMachineArn"]
    execution_arn = sfn.start_execution(stateMachineArn=arn, input='{"items": [1, 2]}')[
        "executionArn"
    ]
    wait_for(
        lambda: sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING",
        message="the execution to end",
    )
    described = sfn.describe_execution(executionArn=execution_arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == [{"v": 2, "i": 0}, {"v": 4, "i": 1}]
    assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == [
        execution_arn
    ]
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    iterations = [e for e in events if e["type"] == "MapIterationStarted"]
    assert sorted(e["mapIterationStartedEventDetails"]["index"] for e in iterations) == [0, 1]
    started = next(e for e in events if e["type"] == "MapStateStarted")
    assert started["mapStateStartedEventDetails"] == {"length": 2}
