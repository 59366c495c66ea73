"""Parallel and Map through the engine: each branch or iteration is a child execution run by the
batched stages (here inline, eager Celery), waking its parent from the database; the children's
events appear in the parent's history as AWS shows them. The real worker on PostgreSQL, and the
races, are in test_children_worker.py."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from stepfunctions import selectors, services
from stepfunctions.errors import ExecutionDoesNotExist
from stepfunctions.models import CallbackToken, ChildGroup, Execution
from stepfunctions.services.children import children_abort
from stepfunctions.services.retention import executions_purge

CALLBACK = "arn:aws:states:::events:putEvents.waitForTaskToken"
STATELINT = Path(sys.executable).with_name("statelint")


def callback_state(name, **fields):
    """A callback task: puts an event with the token, then waits for SendTaskSuccess."""
    return {
        "Type": "Task",
        "Resource": CALLBACK,
        "Parameters": {
            "Entries": [
                {
                    "Source": "test",
                    "DetailType": name,
                    "Detail": {"TaskToken.$": "$$.Task.Token", "input.$": "$"},
                }
            ]
        },
        "End": True,
    } | fields


def branch(states, start_at=None):
    return {"StartAt": start_at or next(iter(states)), "States": states}


PASS_A = branch({"A": {"Type": "Pass", "Result": "a", "End": True}})
PASS_B = branch({"B": {"Type": "Pass", "Parameters": {"b.$": "$.x"}, "End": True}})


def start(name, states, data, start_at=None):
    machine = services.state_machine_create(
        name=name, definition={"StartAt": start_at or next(iter(states)), "States": states}
    )
    execution, _ = services.execution_start(state_machine=machine, input=data)
    execution.refresh_from_db()
    return execution


def types(execution):
    return list(execution.history.order_by("event_id").values_list("type", flat=True))


def children_of(execution):
    return Execution.objects.filter(group__parent=execution).order_by("branch_index")


def tokens_of(execution, state_name):
    return list(
        CallbackToken.objects.filter(
            execution__group__parent=execution,
            state_name=state_name,
            status=CallbackToken.Status.OPEN,
        )
        .order_by("execution__branch_index")
        .values_list("token", flat=True)
    )


FAILING = branch({"F": {"Type": "Fail", "Error": "Boom", "Cause": "broke"}})
PARALLEL = {"P": {"Type": "Parallel", "Branches": [PASS_A, PASS_B], "End": True}}
PARALLEL_WAITS = {
    "P": {
        "Type": "Parallel",
        "Branches": [branch({"W1": callback_state("w1")}), branch({"W2": callback_state("w2")})],
        "ResultPath": "$.results",
        "Next": "Done",
    },
    "Done": {"Type": "Pass", "End": True},
}
PARALLEL_FAILING = {
    "P": {
        "Type": "Parallel",
        "Branches": [branch({"W": callback_state("w")}), FAILING],
        "End": True,
    }
}
PARALLEL_CATCH = {
    "P": {
        "Type": "Parallel",
        "Branches": [PASS_A, FAILING],
        "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Handled"}],
        "Next": "Done",
    },
    "Handled": {"Type": "Pass", "End": True},
    "Done": {"Type": "Pass", "End": True},
}
NESTED = {
    "P": {
        "Type": "Parallel",
        "Branches": [branch({"I": PARALLEL["P"]}), PASS_A],
        "End": True,
    }
}
MAP_DOUBLE = {
    "M": {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Double",
            "States": {
                "Double": {
                    "Type": "Pass",
                    "Parameters": {"v.$": "States.MathAdd($.n, $.n)", "i.$": "$.i"},
                    "End": True,
                }
            },
        },
        "End": True,
    }
}
MAP_ONE_AT_A_TIME = {
    "M": {
        "Type": "Map",
        "MaxConcurrency": 1,
        "ItemProcessor": branch({"W": callback_state("w")}),
        "End": True,
    }
}
MAP_CHECKED = {
    "M": {
        "Type": "Map",
        "ItemProcessor": branch(
            {
                "Check": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "Bad"}],
                    "Default": "Good",
                },
                "Bad": {"Type": "Fail", "Error": "TooBig"},
                "Good": {"Type": "Pass", "End": True},
            },
            start_at="Check",
        ),
        "End": True,
    }
}
MAP_TOLERANT = {"M": MAP_CHECKED["M"] | {"ToleratedFailureCount": 1}}
MAP_ITERATOR = {
    "M": {
        "Type": "Map",
        "Iterator": branch({"Double": {"Type": "Pass", "End": True}}),
        "Parameters": {"v.$": "$$.Map.Item.Value"},
        "End": True,
    }
}
JSONATA_MAP = {
    "M": {
        "Type": "Map",
        "QueryLanguage": "JSONata",
        "Items": "{% $states.input.items %}",
        "ItemSelector": {"n": "{% $states.context.Map.Item.Value %}"},
        "ItemProcessor": branch(
            {
                "Square": {
                    "Type": "Pass",
                    "QueryLanguage": "JSONata",
                    "Output": "{% $states.input.n * $states.input.n %}",
                    "End": True,
                }
            }
        ),
        "Output": {"squares": "{% $states.result %}"},
        "End": True,
    }
}
# Every definition tested here, for AWS's own linter (test_statelint_accepts_...).
DEFINITIONS = {
    "PARALLEL": PARALLEL,
    "PARALLEL_WAITS": PARALLEL_WAITS,
    "PARALLEL_FAILING": PARALLEL_FAILING,
    "PARALLEL_CATCH": PARALLEL_CATCH,
    "NESTED": NESTED,
    "MAP_DOUBLE": MAP_DOUBLE,
    "MAP_ONE_AT_A_TIME": MAP_ONE_AT_A_TIME,
    "MAP_CHECKED": MAP_CHECKED,
    "MAP_TOLERANT": MAP_TOLERANT,
    "MAP_ITERATOR": MAP_ITERATOR,
    "JSONATA_MAP": JSONATA_MAP,
}


def document(states):
    return {"StartAt": next(iter(states)), "States": states}


def test_parallel_output_is_the_branch_outputs_in_order_with_its_history(inline_stages):
    execution = start("Par", PARALLEL, {"x": 1})
    assert execution.status == "SUCCEEDED"
    assert execution.output == ["a", {"b": 1}]
    history = types(execution)
    assert history[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert history[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    # The branches' states, each entered and exited, between; no branch's ExecutionStarted.
    assert sorted(history[3:-3]) == sorted(
        ["PassStateEntered", "PassStateExited", "PassStateEntered", "PassStateExited"]
    )
    ids = list(execution.history.order_by("event_id").values_list("event_id", flat=True))
    assert ids == list(range(1, len(ids) + 1))


def test_children_are_hidden_from_the_apis_lists_and_lookups(inline_stages):
    execution = start("ParHidden", PARALLEL, {})
    assert list(selectors.executions_of(state_machine=execution.state_machine)) == [execution]
    child = children_of(execution).first()
    with pytest.raises(ExecutionDoesNotExist):
        selectors.execution_get(arn=child.arn)
    with pytest.raises(ExecutionDoesNotExist):
        selectors.execution_id_get(arn=child.arn)
    assert selectors.history_page(arn=child.arn, limit=10) == []


def test_children_are_not_listed_in_the_admin(inline_stages, admin_client):
    execution = start("ParAdmin", PARALLEL, {})
    child = children_of(execution).first()
    listed = admin_client.get("/admin/stepfunctions/execution/")
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [execution]
    assert admin_client.get(f"/admin/stepfunctions/execution/{child.pk}/change/").status_code in (
        302,
        404,
    )
    shown = admin_client.get(f"/admin/stepfunctions/execution/{execution.pk}/change/")
    assert shown.status_code == 200
    assert b"ParallelStateEntered" in shown.content


def test_a_branch_waits_on_a_callback_and_the_parent_resumes_when_the_last_one_ends(
    inline_stages,
):
    execution = start("ParWait", PARALLEL_WAITS, {"order": 7})
    assert (execution.status, execution.stage) == ("RUNNING", "WAITING")
    assert execution.cursor["kind"] == "children"
    [first] = tokens_of(execution, "W1")
    [second] = tokens_of(execution, "W2")
    services.task_success(task_token=second, output=json.dumps({"two": 2}))
    execution.refresh_from_db()
    assert execution.stage == "WAITING"  # one branch is still open
    services.task_success(task_token=first, output=json.dumps({"one": 1}))
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"order": 7, "results": [{"one": 1}, {"two": 2}]}
    history = types(execution)
    assert history.count("TaskSubmitted") == 2 and history.count("TaskSucceeded") == 2
    assert history[-5:] == [
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_a_failing_branch_fails_the_state_and_the_other_branches_are_aborted(inline_stages):
    execution = start("ParFail", PARALLEL_FAILING, {})
    assert execution.status == "FAILED"
    assert (execution.error, execution.cause) == ("Boom", "broke")
    assert types(execution)[-2:] == ["ParallelStateFailed", "ExecutionFailed"]
    waiting, failed = children_of(execution)
    assert (waiting.status, failed.status) == ("ABORTED", "FAILED")
    # The aborted branch's token is spent: a late callback answers TaskTimedOut.
    token = CallbackToken.objects.get(execution=waiting)
    assert token.status == CallbackToken.Status.CLOSED


def test_a_failing_branch_is_caught_on_the_parallel_state(inline_stages):
    execution = start("ParCatch", PARALLEL_CATCH, {"k": 1})
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"k": 1, "error": {"Error": "Boom", "Cause": "broke"}}


def test_stopping_the_parent_aborts_its_waiting_branches_and_closes_their_tokens(inline_stages):
    execution = start("ParStop", PARALLEL_WAITS, {})
    tokens = tokens_of(execution, "W1") + tokens_of(execution, "W2")
    services.execution_stop(execution=execution)
    execution.refresh_from_db()
    assert execution.status == "ABORTED"
    assert set(children_of(execution).values_list("status", flat=True)) == {"ABORTED"}
    assert set(CallbackToken.objects.filter(token__in=tokens).values_list("status", flat=True)) == {
        "CLOSED"
    }
    assert children_abort(parent_id=execution.pk) == 0  # a second abort changes nothing


def test_nested_parallel_writes_every_event_into_the_top_level_history(inline_stages):
    execution = start("ParNested", NESTED, {"x": 2})
    assert execution.status == "SUCCEEDED"
    assert execution.output == [["a", {"b": 2}], "a"]
    history = types(execution)
    assert history.count("ParallelStateEntered") == 2
    assert history.count("PassStateEntered") == 3
    assert ChildGroup.objects.filter(root=execution).count() == 2


def test_map_runs_an_iteration_per_item_with_its_history(inline_stages):
    execution = start("MapRun", MAP_DOUBLE, {"items": [1, 2, 3]})
    assert execution.status == "SUCCEEDED"
    assert execution.output == [{"v": 2, "i": 0}, {"v": 4, "i": 1}, {"v": 6, "i": 2}]
    history = types(execution)
    assert history[:3] == ["ExecutionStarted", "MapStateEntered", "MapStateStarted"]
    assert history.count("MapIterationStarted") == 3
    assert history.count("MapIterationSucceeded") == 3
    assert history[-3:] == ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    started = execution.history.filter(type="MapIterationStarted")
    assert sorted(event.details["index"] for event in started) == [0, 1, 2]
    assert {event.details["name"] for event in started} == {"M"}


def test_map_with_the_older_iterator_and_parameters(inline_stages):
    execution = start("MapIterator", MAP_ITERATOR, [1, 2])
    assert execution.output == [{"v": 1}, {"v": 2}]


def test_map_with_max_concurrency_starts_the_next_iteration_as_one_ends(inline_stages):
    execution = start("MapConcurrency", MAP_ONE_AT_A_TIME, ["a", "b", "c"])
    for expected in ("a", "b", "c"):
        # One iteration at a time: exactly one open token, for the item next in order.
        [token] = tokens_of(execution, "W")
        assert CallbackToken.objects.get(token=token).execution.input == expected
        services.task_success(task_token=token, output=json.dumps(expected.upper()))
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output == ["A", "B", "C"]


def test_map_within_its_tolerated_failures_succeeds_with_the_failures_error_output(
    inline_stages,
):
    execution = start("MapTolerant", MAP_TOLERANT, [1, 2])
    assert execution.status == "SUCCEEDED"
    assert execution.output == [1, {"Error": "TooBig", "Cause": ""}]


def test_map_past_its_tolerated_failures_fails_with_exceed_tolerated_failure_threshold(
    inline_stages,
):
    execution = start("MapIntolerant", MAP_TOLERANT, [2, 3, 1])
    assert (execution.status, execution.error) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
    )


def test_map_without_tolerance_fails_with_the_iterations_error(inline_stages):
    execution = start("MapPlain", MAP_CHECKED, [1, 5])
    assert (execution.status, execution.error) == ("FAILED", "TooBig")
    assert "MapIterationFailed" in types(execution)


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_statelint_accepts_the_definitions_tested_here(name, tmp_path):
    path = tmp_path / f"{name}.asl.json"
    path.write_text(json.dumps(document(DEFINITIONS[name])))
    result = subprocess.run(
        [str(STATELINT), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_retry_on_the_parallel_state_runs_every_branch_again_after_its_interval(inline_stages):
    states = {
        "P": {
            "Type": "Parallel",
            "Branches": [PASS_A, FAILING],
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            "End": True,
        }
    }
    execution = start("ParRetry", states, {})
    assert (execution.stage, execution.cursor["kind"]) == ("READY", "retry")
    with time_machine.travel(execution.due_at + dt.timedelta(seconds=1), tick=False):
        assert services.execution_advance(execution_id=execution.pk) is True
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "Boom")
    assert types(execution).count("ParallelStateStarted") == 2
    assert ChildGroup.objects.filter(parent=execution).count() == 2


def test_retention_keeps_a_running_parents_ended_branches_and_purges_them_with_it(
    inline_stages,
):
    execution = start("ParRetention", PARALLEL_FAILING, {})
    assert execution.status == "FAILED"
    waiting = start("ParRetentionWaiting", PARALLEL_WAITS, {})
    [token] = tokens_of(waiting, "W1")
    services.task_success(task_token=token, output="{}")  # one branch DONE, the parent waits
    later = timezone.now() + dt.timedelta(days=1)
    # The ended execution and its two branches; nothing of the waiting one.
    assert executions_purge(now=later, older_than=dt.timedelta(0)) == 3
    assert not Execution.objects.filter(group__parent_id=execution.pk).exists()
    assert children_of(waiting).filter(status="SUCCEEDED").count() == 1


def test_a_jsonata_map_runs_on_the_engine(inline_stages):
    execution = start("MapJsonata", JSONATA_MAP, {"items": [2, 3]})
    assert (execution.status, execution.output) == ("SUCCEEDED", {"squares": [4, 9]})


def test_the_parents_timeout_aborts_its_branches(inline_stages):
    definition = document(PARALLEL_WAITS) | {"TimeoutSeconds": 5}
    machine = services.state_machine_create(name="ParTimeout", definition=definition)
    execution, _ = services.execution_start(state_machine=machine, input={})
    assert services.executions_time_out(now=timezone.now() + dt.timedelta(seconds=6)) == 1
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("TIMED_OUT", "States.Timeout")
    assert set(children_of(execution).values_list("status", flat=True)) == {"ABORTED"}


def test_a_branchs_token_expires_like_any_other_and_its_catch_runs(inline_stages):
    expiring = callback_state("w", TimeoutSeconds=5)
    expiring.pop("End")
    expiring |= {
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.late", "Next": "Late"}],
        "Next": "Late",
    }
    states = {
        "P": {
            "Type": "Parallel",
            "Branches": [PASS_A, branch({"W": expiring, "Late": {"Type": "Pass", "End": True}})],
            "End": True,
        }
    }
    execution = start("ParExpiry", states, {"k": 1})
    assert services.tokens_expire(now=timezone.now() + dt.timedelta(seconds=6)) == 1
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output == ["a", {"k": 1, "late": {"Error": "States.Timeout", "Cause": ""}}]


def test_a_failed_iteration_aborts_the_maps_other_iterations_in_its_history(inline_stages):
    processor = branch(
        {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "Bad"}],
                "Default": "W",
            },
            "Bad": {"Type": "Fail", "Error": "TooBig"},
            "W": callback_state("w"),
        },
        start_at="Check",
    )
    states = {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}}
    execution = start("MapAbortOthers", states, [1, 5])
    assert (execution.status, execution.error) == ("FAILED", "TooBig")
    history = types(execution)
    # The iterations run side by side (their events interleave in either order); the parent,
    # woken by the failure, aborts the other one, then fails.
    assert history[-3:] == ["MapIterationAborted", "MapStateFailed", "ExecutionFailed"]
    assert history.index("MapIterationFailed") < history.index("MapIterationAborted")
    aborted = execution.history.get(type="MapIterationAborted")
    assert aborted.details == {"index": 0, "name": "M"}


def test_stop_execution_ends_the_parallel_state_with_parallel_state_aborted(inline_stages):
    execution = start("ParStopHistory", PARALLEL_WAITS, {})
    services.execution_stop(execution=execution)
    assert types(execution)[-2:] == ["ParallelStateAborted", "ExecutionAborted"]
