"""RedriveExecution's rule (stepfunctions.services.redrive) through the engine, stages inline:
an execution that failed, was stopped or timed out goes on from the state that did not succeed,
with that state's input; states that succeeded are not run again (their resource's calls are
counted), and in a Parallel or Map only the branches and iterations that did not succeed; every
ExecutionNotRedrivable reason; two redrives at once redrive once."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from stepfunctions import resources, services
from stepfunctions.errors import ExecutionNotRedrivable
from stepfunctions.models import ChildGroup, Execution
from stepfunctions.services import redrive
from stepfunctions.workflow import Cursor, Finished, StatesError, redrive_point
from tests.conftest import open_token
from tests.stepfunctions.test_children import callback_state

COUNTED = "arn:aws:states:::test:redrive.counted"
RedriveCount = "$$.Execution.RedriveCount"
calls: Counter = Counter()
broken: set = set()


@resources.resource(COUNTED)
def _counted(payload, invocation):
    """Counts its calls by the payload's `step`; fails while that step is in `broken`."""
    step = payload["step"]
    calls[step] += 1
    if step in broken:
        raise StatesError("Broken", f"{step} is broken")
    return {"step": step, "seen": payload.get("value"), "redrives": payload.get("redrives")}


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()
    broken.clear()


def task(step, value_path="$", **fields):
    return {
        "Type": "Task",
        "Resource": COUNTED,
        "Parameters": {"step": step, "value.$": value_path, "redrives.$": RedriveCount},
        **fields,
    }


def run(name, definition, data=None, **start):
    machine = services.state_machine_create(name=name, definition=definition)
    execution, _ = services.execution_start(state_machine=machine, input=data or {}, **start)
    execution.refresh_from_db()
    return execution


def redriven(execution):
    services.execution_redrive(execution=execution)
    execution.refresh_from_db()
    return execution


def types(execution):
    return list(execution.history.order_by("event_id").values_list("type", flat=True))


CHAIN = {
    "StartAt": "First",
    "States": {
        "First": task("first", Assign={"kept.$": "$.seen.n"}, ResultPath="$.first", Next="Second"),
        "Second": task("second", "$kept", ResultPath="$.second", Next="Done"),
        "Done": {"Type": "Pass", "End": True},
    },
}


def test_a_failed_execution_goes_on_from_the_failed_state(inline_stages):
    broken.add("second")
    execution = run("Chain", CHAIN, {"n": 7})
    assert (execution.status, execution.error) == ("FAILED", "Broken"), execution.cause
    assert services.execution_redrive_status(execution=execution, now=timezone.now()) == (
        "REDRIVABLE",
        None,
    )
    failed_at = execution.event_count

    broken.clear()
    execution = redriven(execution)
    assert execution.status == "SUCCEEDED", execution.cause
    # First ran once; Second twice, the second time with the same input and variables.
    assert calls == {"first": 1, "second": 2}
    # The context object's RedriveCount: 0 in the first run, 1 in the redriven one.
    assert execution.output["first"] == {"step": "first", "seen": {"n": 7}, "redrives": 0}
    assert execution.output["second"] == {"step": "second", "seen": 7, "redrives": 1}
    assert (execution.redrive_count, execution.error, execution.redrive_cursor) == (1, "", None)
    assert execution.redrive_date is not None
    event = execution.history.get(event_id=failed_at + 1)
    assert (event.type, event.details) == ("ExecutionRedriven", {"redriveCount": 1})
    assert types(execution)[failed_at + 1 : failed_at + 3] == [
        "TaskStateEntered",
        "TaskScheduled",
    ]
    assert execution.history.filter(type="TaskStateEntered").count() == 3
    assert types(execution)[-1] == "ExecutionSucceeded"
    reason = redrive.REASON_SUCCEEDED
    with pytest.raises(ExecutionNotRedrivable, match=reason):
        services.execution_redrive(execution=execution)


def test_it_can_fail_again_and_be_redriven_again(inline_stages):
    broken.add("second")
    execution = redriven(run("Twice", CHAIN, {"n": 1}))
    assert (execution.status, execution.redrive_count) == ("FAILED", 1)
    broken.clear()
    execution = redriven(execution)
    assert (execution.status, execution.redrive_count) == ("SUCCEEDED", 2)
    assert calls == {"first": 1, "second": 3}
    redrives = execution.history.filter(type="ExecutionRedriven").order_by("event_id")
    assert [e.details["redriveCount"] for e in redrives] == [1, 2]


def test_only_the_failed_parallel_branch_runs_again(inline_stages):
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": task("a", End=True)}},
                    {"StartAt": "B", "States": {"B": task("b", End=True)}},
                ],
                "End": True,
            }
        },
    }
    broken.add("b")
    execution = run("Branches", definition, {"x": 1})
    assert execution.status == "FAILED"
    broken.clear()
    # A child still being aborted after its parent ended (a moment, after that commit): refused.
    failed_child = Execution.objects.get(group__parent=execution, status="FAILED")
    child = Execution.objects.filter(pk=failed_child.pk)
    child.update(status="RUNNING")
    with pytest.raises(ExecutionNotRedrivable, match=redrive.REASON_RUNNING):
        services.execution_redrive(execution=execution)
    child.update(status="FAILED")
    execution = redriven(execution)
    assert execution.status == "SUCCEEDED", execution.cause
    assert calls == {"a": 1, "b": 2}
    assert [out["step"] for out in execution.output] == ["a", "b"]


def test_only_the_failed_map_iterations_run_again(inline_stages):
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "StartAt": "Item",
                    "States": {
                        "Item": {
                            "Type": "Task",
                            "Resource": COUNTED,
                            "Parameters": {"step.$": "$", "redrives.$": RedriveCount},
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    broken.add("i1")
    execution = run("Items", definition, ["i0", "i1", "i2", "i3"])
    assert execution.status == "FAILED"
    before = dict(calls)
    assert before["i0"] == before["i1"] == 1
    broken.clear()
    execution = redriven(execution)
    assert execution.status == "SUCCEEDED", execution.cause
    assert [out["step"] for out in execution.output] == ["i0", "i1", "i2", "i3"]
    assert [out["redrives"] for out in execution.output][:2] == [0, 1]
    # Each item that had succeeded ran once in all; the failed (and the never started) ran now.
    assert calls["i0"] == 1 and calls["i1"] == 2
    assert all(calls[item] == 1 + (item == "i1") for item in ("i0", "i1", "i2", "i3"))
    assert ChildGroup.objects.get(parent=execution).woken


def test_a_parallel_inside_a_map_runs_only_its_failed_branch_again(inline_stages):
    inner = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "A", "States": {"A": task("a", End=True)}},
            {"StartAt": "B", "States": {"B": task("$", "$", End=True)}},
        ],
        "End": True,
    }
    inner["Branches"][1]["States"]["B"]["Parameters"] = {"step.$": "$", "value": 0}
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Both", "States": {"Both": inner}},
                "End": True,
            }
        },
    }
    broken.add("y")
    execution = run("Nested", definition, ["x", "y", "z"])
    assert execution.status == "FAILED"
    broken.clear()
    execution = redriven(execution)
    assert execution.status == "SUCCEEDED", execution.cause
    assert [[b["step"] for b in item] for item in execution.output] == [
        ["a", "x"],
        ["a", "y"],
        ["a", "z"],
    ]
    # Item y's branch B ran twice; its branch A, and items x and z, once each.
    assert calls["y"] == 2 and calls["x"] == calls["z"] == 1
    assert calls["a"] == 3


def test_a_stopped_execution_enters_its_task_again(inline_stages):
    definition = {
        "StartAt": "First",
        "States": {
            "First": task("first", ResultPath="$.first", Next="Wait"),
            "Wait": callback_state("Wait"),
        },
    }
    execution = run("Stopped", definition, {"n": 2})
    first_token = open_token(execution, "Wait")
    services.execution_stop(execution=execution, error="Manager")
    execution.refresh_from_db()
    assert execution.status == "ABORTED"

    execution = redriven(execution)
    assert (execution.status, execution.stage, execution.error) == ("RUNNING", "WAITING", "")
    token = open_token(execution, "Wait")
    assert token != first_token
    services.task_success(task_token=token, output='{"ok": true}')
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"ok": True})
    assert calls == {"first": 1}


def test_a_timed_out_execution_gets_its_timeout_again(inline_stages):
    definition = {
        "StartAt": "Wait",
        "TimeoutSeconds": 60,
        "States": {"Wait": callback_state("Wait")},
    }
    execution = run("TimedOut", definition)
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        services.executions_time_out()
        execution.refresh_from_db()
        assert execution.status == "TIMED_OUT"
        execution = redriven(execution)
        assert execution.status == "RUNNING"
        assert execution.timeout_at == execution.redrive_date + timedelta(seconds=60)
    with time_machine.travel(execution.timeout_at + timedelta(seconds=1), tick=False):
        services.executions_time_out()
        execution.refresh_from_db()
        assert (execution.status, execution.cause) == (
            "TIMED_OUT",
            "The execution ran longer than its TimeoutSeconds (60)",
        )
        execution = redriven(execution)
    services.task_success(task_token=open_token(execution, "Wait"), output="1")
    execution.refresh_from_db()
    assert (execution.status, execution.redrive_count) == ("SUCCEEDED", 2)


def _refused(execution, reason):
    execution.refresh_from_db()
    assert services.execution_redrive_status(execution=execution, now=timezone.now()) == (
        "NOT_REDRIVABLE",
        reason,
    )
    with pytest.raises(ExecutionNotRedrivable, match=reason):
        services.execution_redrive(execution=execution)


def test_every_reason_an_execution_is_not_redrivable(inline_stages):
    running = run("Running", {"StartAt": "Wait", "States": {"Wait": callback_state("Wait")}})
    _refused(running, redrive.REASON_RUNNING)
    _refused(run("Succeeded", CHAIN, {"n": 1}), redrive.REASON_SUCCEEDED)

    broken.add("second")
    failed = run("Failed", CHAIN, {"n": 1})
    Execution.objects.filter(pk=failed.pk).update(redrive_cursor=None)
    _refused(failed, redrive.REASON_BEFORE_REDRIVE)

    failed = run("Full", CHAIN, {"n": 1})
    Execution.objects.filter(pk=failed.pk).update(event_count=redrive.HISTORY_EVENTS_REDRIVABLE)
    _refused(failed, redrive.REASON_HISTORY_LIMIT)

    failed = run("Old", CHAIN, {"n": 1})
    with time_machine.travel(failed.stop_date + timedelta(days=14, seconds=1), tick=False):
        _refused(failed, redrive.REASON_PERIOD)
    with time_machine.travel(failed.stop_date + timedelta(days=14), tick=False):
        assert services.execution_redrive_status(execution=failed, now=timezone.now())[1] is None
    long_ago = timezone.now() - timedelta(days=365)
    Execution.objects.filter(pk=failed.pk).update(start_date=long_ago)
    _refused(failed, redrive.REASON_MAX_TIME)
    assert failed.history.filter(type="ExecutionRedriven").count() == 0


def test_the_same_client_token_redrives_once(inline_stages):
    broken.add("second")
    execution = run("Token", CHAIN, {"n": 1})
    first = services.execution_redrive(execution=execution, client_token="abc")
    again = services.execution_redrive(execution=execution, client_token="abc")
    assert first == again
    execution.refresh_from_db()
    assert (execution.status, execution.redrive_count) == ("FAILED", 1)
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        services.execution_redrive(execution=execution, client_token="abc")
    execution.refresh_from_db()
    assert execution.redrive_count == 2


@pytest.mark.django_db(transaction=True)
def test_two_redrives_at_once_redrive_once(inline_stages):
    broken.add("second")
    execution = run("Race", CHAIN, {"n": 1})
    broken.clear()
    barrier = threading.Barrier(2)
    results = []

    def attempt():
        try:
            barrier.wait()
            results.append(services.execution_redrive(execution=execution))
        except Exception as error:  # noqa: BLE001 - the loser's refusal is the result
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refused = [r for r in results if isinstance(r, ExecutionNotRedrivable)]
    assert len(results) == 2 and len(refused) == 1, results
    execution.refresh_from_db()
    assert execution.redrive_count == 1
    assert execution.history.filter(type="ExecutionRedriven").count() == 1


def test_where_a_redrive_goes_on():
    """workflow.redrive_point, by how the execution ended: the failed state entered again with
    its input and variables; a stop in a task enters that task again; a Parallel or Map state
    keeps its children's group; a run not started, or between states, goes on from there."""
    failed = Finished("FAILED", None, "E", "c", "S", {"in": 1}, {"v": 2})
    assert redrive_point(Cursor(Cursor.START), failed) == Cursor(
        Cursor.CONTINUE, state="S", input={"in": 1}, variables={"v": 2}
    )
    children = Cursor(Cursor.CHILDREN, state="M", raw_input=[1], attempts=(2,), group="g")
    assert redrive_point(children, failed).kind == Cursor.CONTINUE  # caught, then S failed
    on_map = Finished("FAILED", None, "E", "c", "M", [1], None)
    assert redrive_point(children, on_map) == Cursor(
        Cursor.CHILDREN, state="M", raw_input=[1], attempts=(), group="g"
    )
    task = Cursor(Cursor.TASK, state="T", raw_input={"x": 1}, attempts=(1,), token_id=5)
    assert redrive_point(task) == Cursor(Cursor.CONTINUE, state="T", input={"x": 1})
    for cursor in (Cursor(Cursor.START), Cursor(Cursor.CONTINUE, state="P", input=1)):
        assert redrive_point(cursor) == cursor
    assert redrive_point(None) == Cursor(Cursor.START)
