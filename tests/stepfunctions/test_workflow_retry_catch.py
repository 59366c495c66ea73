"""Running definitions through the fake Host: Retry, Catch, error names, Choice, Fail, budgets."""

import copy
import json

import pytest

from stepfunctions.workflow import (
    Continue,
    Finished,
    Sleeping,
    StatesError,
    TaskFailure,
    TaskSuccess,
    TaskTimeout,
    Waiting,
    cursor_of,
    error_matches,
    load_definition,
    resource_names,
    resume,
    start,
)
from tests.stepfunctions.test_workflow_interpreter import (
    CALLBACK,
    CONTEXT,
    LAMBDA,
    ORDER_INPUT,
    SEED,
    FakeHost,
    answer,
    retry,
    retry_machine,
    seed_host,
    single_task,
)


def test_retry_delay_is_capped_and_jitter_stays_within_it():
    capped = retry_machine(
        [{"ErrorEquals": ["E"], "IntervalSeconds": 10, "BackoffRate": 5, "MaxDelaySeconds": 30}]
    )
    outcome = Sleeping("T", {}, [2], 0)
    host = FakeHost({"T": StatesError("E")})
    outcome = retry(capped, outcome, host)
    assert outcome.delay_seconds == 30.0 and outcome.attempts == [3]

    jittered = retry_machine(
        [{"ErrorEquals": ["E"], "IntervalSeconds": 4, "JitterStrategy": "FULL"}]
    )
    delays = {retry(jittered, Sleeping("T", {}, [0], 0), host).delay_seconds for _ in range(20)}
    assert all(0 <= delay <= 4 for delay in delays) and len(delays) > 1


def test_exhausted_zero_attempt_retrier_goes_to_catch_and_uncaught_fails():
    defn = retry_machine([{"ErrorEquals": ["E"], "MaxAttempts": 0}])
    host = FakeHost({"T": StatesError("E", "boom")})
    assert start(defn, {}, context=CONTEXT, host=host) == Finished("FAILED", None, "E", "boom")
    assert host.last("ExecutionFailed") == {"error": "E", "cause": "boom"}


def test_callback_retry_issues_a_fresh_token():
    defn = retry_machine([{"ErrorEquals": ["States.Timeout"]}], resource=CALLBACK)
    host = FakeHost()
    waiting = start(defn, {}, context=CONTEXT, host=host)
    sleeping = answer(defn, waiting, TaskTimeout(heartbeat=False), host)
    assert sleeping == Sleeping("T", {}, [1], 1.0)
    again = retry(defn, sleeping, host)
    assert isinstance(again, Waiting)
    assert (waiting.token, again.token) == ("token-1", "token-2")
    assert json.loads(host.last("TaskScheduled")["parameters"]) == {"retries": 1}


def catching(names):
    return [{"ErrorEquals": names, "Next": "Handled"}]


def test_task_failed_does_not_match_timeout():
    defn = retry_machine([], catching(["States.TaskFailed"]), resource=CALLBACK)
    host = FakeHost()
    timed_out = answer(defn, start(defn, {}, context=CONTEXT, host=host), TaskTimeout(True), host)
    assert timed_out == Finished("FAILED", None, "States.Timeout", "")

    failed = answer(
        defn, start(defn, {}, context=CONTEXT, host=host), TaskFailure("Oops", "c"), host
    )
    assert failed.status == "SUCCEEDED"
    assert failed.output == {"Error": "Oops", "Cause": "c"}


@pytest.mark.parametrize(("heartbeat", "handler"), [(True, "Heartbeat"), (False, "Total")])
def test_heartbeat_timeout_matches_only_a_heartbeat_expiry(heartbeat, handler):
    task = {
        "Type": "Task",
        "Resource": CALLBACK,
        "HeartbeatSeconds": 60,
        "TimeoutSeconds": 600,
        "Catch": [
            {"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Heartbeat"},
            {"ErrorEquals": ["States.Timeout"], "Next": "Total"},
        ],
        "End": True,
    }
    handlers = {
        name: {"Type": "Pass", "Result": name, "End": True} for name in ("Heartbeat", "Total")
    }
    defn = load_definition({"StartAt": "T", "States": {"T": task} | handlers})
    host = FakeHost()
    waiting = start(defn, {}, context=CONTEXT, host=host)
    assert (waiting.heartbeat_seconds, waiting.timeout_seconds) == (60, 600)
    assert host.last("TaskScheduled")["timeoutInSeconds"] == 600
    assert answer(defn, waiting, TaskTimeout(heartbeat), host).output == handler


def test_states_all_does_not_catch_states_runtime():
    defn = load_definition(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Parameters": {"orderId.$": "$.detail.orderId"},
                    "Retry": [{"ErrorEquals": ["States.ALL"]}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                    "End": True,
                },
                "Handled": {"Type": "Succeed"},
            },
        }
    )
    host = FakeHost()
    done = start(defn, {"detail": {}}, context=CONTEXT, host=host)
    assert done.status == "FAILED" and done.error == "States.Runtime"
    assert done.cause == (
        "An error occurred while executing the state 'T' (entered at the event id #2). "
        "The JSONPath '$.detail.orderId' specified for the field 'orderId.$' could not be found "
        """in the input '{"detail":{}}'"""
    )
    assert host.invocations == []
    assert host.types() == ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]


def test_send_task_failure_without_error_is_caught_as_nulls():
    defn = retry_machine([], catching(["States.ALL"]), resource=CALLBACK)
    host = FakeHost()
    done = answer(defn, start(defn, {}, context=CONTEXT, host=host), TaskFailure(), host)
    assert done.output == {"Error": None, "Cause": None}
    assert host.last("TaskFailed")["error"] is None


def test_result_path_match_failure_is_catchable():
    defn = retry_machine([], catching(["States.ResultPathMatchFailure"]))
    doc = copy.deepcopy(defn.raw)
    doc["States"]["T"]["ResultPath"] = "$.a.b"
    defn = load_definition(doc)
    done = start(defn, {"a": "text"}, context=CONTEXT, host=FakeHost({"T": 1}))
    assert done.status == "SUCCEEDED"
    assert done.output["Error"] == "States.ResultPathMatchFailure"


def test_choice_routes_and_no_match_fails():
    defn = load_definition(
        {
            "StartAt": "Did barista || customer cancel ?",
            "States": {
                "Did barista || customer cancel ?": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "And": [
                                {"Variable": "$.order.cancelled", "IsPresent": True},
                                {"Variable": "$.order.cancelled", "BooleanEquals": True},
                            ],
                            "Next": "Cancelled",
                        }
                    ],
                    "OutputPath": "$.order",
                    "Default": "Finished",
                },
                "Cancelled": {"Type": "Fail", "Error": "OrderCancelled", "Cause": "cancelled"},
                "Finished": {"Type": "Succeed"},
            },
        }
    )
    host = FakeHost()
    ok = start(defn, {"order": {"orderId": 1}}, context=CONTEXT, host=host)
    assert ok == Finished("SUCCEEDED", {"orderId": 1}, None, None)
    assert host.types()[1:5] == [
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
    ]
    host = FakeHost()
    cancelled = start(defn, {"order": {"cancelled": True}}, context=CONTEXT, host=host)
    assert cancelled == Finished("FAILED", None, "OrderCancelled", "cancelled")
    assert host.types()[-2:] == ["FailStateEntered", "ExecutionFailed"]

    no_default = copy.deepcopy(defn.raw)
    del no_default["States"]["Did barista || customer cancel ?"]["Default"]
    done = start(load_definition(no_default), {"order": {}}, context=CONTEXT, host=FakeHost())
    assert done.status == "FAILED" and done.error == "States.NoChoiceMatched"


def test_fail_state_reads_error_and_cause_paths():
    defn = load_definition(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}}}
    )
    done = start(defn, {"e": "Bad", "c": "why"}, context=CONTEXT, host=FakeHost())
    assert done == Finished("FAILED", None, "Bad", "why")


def test_heartbeat_and_timeout_seconds_paths():
    defn = load_definition(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": CALLBACK,
                    "HeartbeatSecondsPath": "$.hb",
                    "TimeoutSecondsPath": "$.total",
                    "End": True,
                }
            },
        }
    )
    host = FakeHost()
    waiting = start(defn, {"hb": 30, "total": 300}, context=CONTEXT, host=host)
    assert (waiting.heartbeat_seconds, waiting.timeout_seconds) == (30, 300)
    assert host.last("TaskScheduled")["heartbeatInSeconds"] == 30
    bad = start(defn, {"hb": "soon", "total": 300}, context=CONTEXT, host=FakeHost())
    assert bad.status == "FAILED" and bad.error == "States.Runtime"


def test_transition_budget_returns_continue():
    states = {
        f"P{i}": {"Type": "Pass", "Result": i, "ResultPath": f"$.p{i}", "Next": f"P{i + 1}"}
        for i in range(1, 4)
    }
    states["P4"] = {"Type": "Succeed"}
    defn = load_definition({"StartAt": "P1", "States": states})
    host = FakeHost()
    paused = start(defn, {}, context=CONTEXT, host=host, max_transitions=2)
    assert paused == Continue("P3", {"p1": 1, "p2": 2})
    done = resume(defn, cursor_of(paused), context=CONTEXT, host=host)
    assert done.output == {"p1": 1, "p2": 2, "p3": 3}
    assert host.types().count("PassStateEntered") == 3


def test_lambda_function_arn_and_sync_failure_history():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:GenerateOrderNumber"
    assert resource_names(arn) == ("lambda", arn)
    assert resource_names(CALLBACK) == ("events", "putEvents.waitForTaskToken")
    host = FakeHost({"T": StatesError("Lambda.Unknown", "crash")})
    done = start(single_task(Resource=arn), {}, context=CONTEXT, host=host)
    assert done == Finished("FAILED", None, "Lambda.Unknown", "crash")
    assert host.last("TaskFailed") == {
        "resourceType": "lambda",
        "resource": arn,
        "error": "Lambda.Unknown",
        "cause": "crash",
    }


def test_caller_data_is_never_mutated():
    defn, host = load_definition(SEED), seed_host()
    given, context = copy.deepcopy(ORDER_INPUT), copy.deepcopy(CONTEXT)
    first = start(defn, given, context=context, host=host)
    raw = copy.deepcopy(first.raw_input)
    answer_output = {"orderId": 1}
    second = answer(defn, first, TaskSuccess(answer_output), host)
    answer(defn, second, TaskSuccess(answer_output), host)
    assert given == ORDER_INPUT and context == CONTEXT
    assert first.raw_input == raw and answer_output == {"orderId": 1}


@pytest.mark.parametrize(
    ("names", "error", "heartbeat", "expected"),
    [
        (["States.ALL"], "Anything", False, True),
        (["States.ALL"], None, False, True),
        (["States.ALL"], "States.Timeout", False, True),
        (["States.ALL"], "States.Runtime", False, False),
        (["States.ALL"], "States.DataLimitExceeded", False, True),
        (["States.DataLimitExceeded"], "States.DataLimitExceeded", False, True),
        (["States.Runtime"], "States.Runtime", False, False),
        (["States.TaskFailed"], "OrderCancelled", False, True),
        (["States.TaskFailed"], "States.Timeout", True, False),
        (["States.TaskFailed"], "States.Runtime", False, False),
        (["States.Timeout"], "States.Timeout", True, True),
        (["States.Timeout"], "States.Timeout", False, True),
        (["States.HeartbeatTimeout"], "States.Timeout", True, True),
        (["States.HeartbeatTimeout"], "States.Timeout", False, False),
        (["OrderCancelled"], "OrderCancelled", False, True),
        (["OrderCancelled"], "ordercancelled", False, False),
        (["A", "OrderCancelled"], "OrderCancelled", False, True),
        (["OrderCancelled"], None, False, False),
    ],
)
def test_error_matching(names, error, heartbeat, expected):
    assert error_matches(names, error, heartbeat=heartbeat) is expected
