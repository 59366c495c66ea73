"""Running definitions through a fake in-memory Host: data flow, Retry, Catch, history."""

import copy
import json
from datetime import UTC, datetime

import pytest

from orders.workflow import (
    Continue,
    Finished,
    Sleeping,
    StatesError,
    TaskFailure,
    TaskSuccess,
    TaskTimeout,
    Waiting,
    error_matches,
    load_definition,
    resource_names,
    resume_continue,
    resume_retry,
    resume_task,
    start,
)

CALLBACK = "arn:aws:states:::events:putEvents.waitForTaskToken"
LAMBDA = "arn:aws:states:::lambda:invoke"
CONTEXT = {
    "Execution": {
        "Id": "arn:aws:states:us-east-1:123456789012:execution:OrderProcessor:exec-1",
        "Input": {},
        "Name": "exec-1",
        "StartTime": "2024-05-01T12:00:00.000Z",
        "RoleArn": "arn:aws:iam::123456789012:role/sfn",
    },
    "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:OP", "Name": "OP"},
}
ORDER_INPUT = {"detail": {"orderId": "1", "userId": "testuser"}}


class FakeHost:
    """Records history and invocations; answers each state from `responses` (a StatesError raises,
    a list is consumed one answer per call)."""

    def __init__(self, responses=None):
        self.responses = responses or {}
        self.events = []
        self.invocations = []
        self.tokens = 0

    def new_token(self):
        self.tokens += 1
        return f"token-{self.tokens}"

    def invoke(self, resource, parameters, *, state_name, token):
        self.invocations.append((state_name, resource, parameters, token))
        answer = self.responses.get(state_name, {"Entries": [{"EventId": "e-1"}]})
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, StatesError):
            raise answer
        return answer

    def record(self, event_type, details):
        self.events.append((event_type, details))
        return len(self.events)  # event ids count from 1, as in AWS history

    def now(self):
        return datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)

    def types(self):
        return [event_type for event_type, _ in self.events]

    def last(self, event_type):
        return [details for kind, details in self.events if kind == event_type][-1]


def emit(detail_type, result_path, catch_next, *, catch_result_path="$.comment", **extra):
    catcher = {"ErrorEquals": ["States.Timeout"], "Next": catch_next}
    if catch_result_path is not ...:
        catcher["ResultPath"] = catch_result_path
    return {
        "Type": "Task",
        "Resource": CALLBACK,
        "HeartbeatSeconds": 900,
        "Parameters": {
            "Entries": [
                {
                    "Detail": {
                        "TaskToken.$": "$$.Task.Token",
                        "orderId.$": "$.detail.orderId",
                        "userId.$": "$.detail.userId",
                    }
                    | extra,
                    "DetailType": detail_type,
                    "EventBusName": "Serverlesspresso",
                    "Source": "awsserverlessda.serverlesspresso",
                }
            ]
        },
        "ResultPath": result_path,
        "Catch": [catcher],
    }


SEED = {
    "StartAt": "Emit - Workflow Started TT",
    "States": {
        "Emit - Workflow Started TT": emit(
            "OrderProcessor.WorkflowStarted", None, "Customer timedout"
        )
        | {"Next": "Generate Order Number"},
        "Customer timedout": {
            "Type": "Pass",
            "Result": "Customer timedout",
            "ResultPath": "$.cause",
            "End": True,
        },
        "Generate Order Number": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"Payload.$": "$"},
            "ResultPath": "$.Order",
            "Next": "Emit - Awaiting Completion TT",
        },
        "Emit - Awaiting Completion TT": emit(
            "OrderProcessor.WaitingCompletion",
            "$.order",
            "Barista timedout",
            **{"orderNumber.$": "$.Order.Payload.orderNumber"},
        )
        | {"End": True},
        "Barista timedout": {
            "Type": "Pass",
            "Result": "Barista timedout",
            "ResultPath": "$.cause",
            "End": True,
        },
    },
}


def seed_host():
    return FakeHost({"Generate Order Number": {"Payload": {"orderNumber": 7}}})


def answer(defn, waiting, result, host, **kwargs):
    return resume_task(
        defn,
        state_name=waiting.state_name,
        raw_input=waiting.raw_input,
        attempts=waiting.attempts,
        result=result,
        context=CONTEXT,
        host=host,
        **kwargs,
    )


def test_seed_runs_end_to_end():
    defn, host = load_definition(SEED), seed_host()
    given = copy.deepcopy(ORDER_INPUT)

    first = start(defn, given, context=CONTEXT, host=host)
    assert isinstance(first, Waiting)
    assert first.state_name == "Emit - Workflow Started TT"
    assert (first.token, first.heartbeat_seconds, first.timeout_seconds) == ("token-1", 900, None)
    scheduled = host.last("TaskScheduled")
    assert scheduled["resourceType"] == "events"
    assert scheduled["resource"] == "putEvents.waitForTaskToken"
    assert scheduled["region"] == "us-east-1"
    assert scheduled["heartbeatInSeconds"] == 900 and "timeoutInSeconds" not in scheduled
    detail = json.loads(scheduled["parameters"])["Entries"][0]["Detail"]
    assert detail == {"TaskToken": "token-1", "orderId": "1", "userId": "testuser"}
    assert host.types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
    ]
    assert host.last("TaskSubmitted")["output"] == '{"Entries":[{"EventId":"e-1"}]}'

    second = answer(defn, first, TaskSuccess({"orderId": 1}), host)
    assert isinstance(second, Waiting)
    assert second.state_name == "Emit - Awaiting Completion TT"
    assert second.token == "token-2"
    assert second.raw_input == ORDER_INPUT | {"Order": {"Payload": {"orderNumber": 7}}}
    detail = json.loads(host.last("TaskScheduled")["parameters"])["Entries"][0]["Detail"]
    assert detail["TaskToken"] == "token-2" and detail["orderNumber"] == 7
    assert host.invocations[1][:3] == ("Generate Order Number", LAMBDA, {"Payload": ORDER_INPUT})
    assert host.invocations[1][3] is None  # a synchronous task has no token

    done = answer(defn, second, TaskSuccess({"orderId": 1}), host)
    assert done == Finished(
        "SUCCEEDED",
        {
            "detail": {"orderId": "1", "userId": "testuser"},
            "Order": {"Payload": {"orderNumber": 7}},
            "order": {"orderId": 1},
        },
        None,
        None,
    )
    assert host.types()[5:] == [
        "TaskSucceeded",
        "TaskStateExited",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert host.events[5][1]["output"] == '{"orderId":1}'
    # ResultPath null: "Emit - Workflow Started TT" passed its input on unchanged.
    assert json.loads(host.events[6][1]["output"]) == ORDER_INPUT
    assert given == ORDER_INPUT


def test_seed_customer_timeout():
    defn, host = load_definition(SEED), seed_host()
    first = start(defn, ORDER_INPUT, context=CONTEXT, host=host)
    done = answer(defn, first, TaskTimeout(heartbeat=True), host)
    assert done == Finished(
        "SUCCEEDED",
        {
            "detail": {"orderId": "1", "userId": "testuser"},
            "comment": {"Error": "States.Timeout", "Cause": ""},
            "cause": "Customer timedout",
        },
        None,
        None,
    )
    assert host.last("TaskTimedOut") == {
        "resourceType": "events",
        "resource": "putEvents.waitForTaskToken",
        "error": "States.Timeout",
        "cause": "",
    }
    assert host.types()[5:] == [
        "TaskTimedOut",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_seed_barista_timeout():
    defn, host = load_definition(SEED), seed_host()
    first = start(defn, ORDER_INPUT, context=CONTEXT, host=host)
    second = answer(defn, first, TaskSuccess({"orderId": 1}), host)
    done = answer(defn, second, TaskTimeout(heartbeat=False), host)
    assert done.output == {
        "detail": {"orderId": "1", "userId": "testuser"},
        "Order": {"Payload": {"orderNumber": 7}},
        "comment": {"Error": "States.Timeout", "Cause": ""},
        "cause": "Barista timedout",
    }


def test_catch_without_result_path_passes_only_the_error_object():
    doc = copy.deepcopy(SEED)
    doc["States"]["Emit - Workflow Started TT"]["Catch"][0].pop("ResultPath")
    defn, host = load_definition(doc), seed_host()
    first = start(defn, ORDER_INPUT, context=CONTEXT, host=host)
    done = answer(defn, first, TaskTimeout(heartbeat=True), host)
    assert done.output == {
        "Error": "States.Timeout",
        "Cause": "",
        "cause": "Customer timedout",
    }


def single_task(**fields):
    task = {"Type": "Task", "Resource": LAMBDA, "End": True} | fields
    return load_definition({"StartAt": "T", "States": {"T": task}})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ResultPath": None}, {"a": 1}),
        ({}, {"n": 7}),
        ({"ResultPath": "$"}, {"n": 7}),
        ({"ResultPath": "$.x.y"}, {"a": 1, "x": {"y": {"n": 7}}}),
        ({"ResultPath": "$.a"}, {"a": {"n": 7}}),
        (
            {"ResultSelector": {"num.$": "$.n", "k": "v"}, "ResultPath": "$.r"},
            {"a": 1, "r": {"num": 7, "k": "v"}},
        ),
        ({"ResultPath": "$.r", "OutputPath": "$.r"}, {"n": 7}),
        ({"OutputPath": None}, {}),
    ],
)
def test_sync_task_data_flow(fields, expected):
    host = FakeHost({"T": {"n": 7}})
    done = start(single_task(**fields), {"a": 1}, context=CONTEXT, host=host)
    assert done == Finished("SUCCEEDED", expected, None, None)
    assert host.last("TaskSucceeded") == {
        "resourceType": "lambda",
        "resource": "invoke",
        "output": '{"n":7}',
    }


def test_input_path_feeds_parameters_but_result_path_uses_raw_input():
    host = FakeHost({"T": "ok"})
    defn = single_task(
        InputPath="$.detail",
        Parameters={"id.$": "$.orderId", "name.$": "$$.State.Name", "at.$": "$$.State.EnteredTime"},
        ResultPath="$.result",
    )
    done = start(defn, ORDER_INPUT, context=CONTEXT, host=host)
    assert host.invocations[0][2] == {"id": "1", "name": "T", "at": "2024-05-01T12:00:05.000Z"}
    assert done.output == ORDER_INPUT | {"result": "ok"}


def test_input_path_null_gives_an_empty_effective_input():
    host = FakeHost({"T": "ok"})
    start(single_task(InputPath=None), ORDER_INPUT, context=CONTEXT, host=host)
    assert host.invocations[0][2] == {}
    assert json.loads(host.last("TaskScheduled")["parameters"]) == {}


def pass_machine(**fields):
    return load_definition(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True} | fields}}
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"Result": "Customer timedout", "ResultPath": "$.cause"},
            ORDER_INPUT | {"cause": "Customer timedout"},
        ),
        ({"Result": {"r": 1}}, {"r": 1}),
        ({"Result": None, "ResultPath": "$.none"}, ORDER_INPUT | {"none": None}),
        ({}, ORDER_INPUT),
        ({"InputPath": "$.detail"}, {"orderId": "1", "userId": "testuser"}),
        (
            {"InputPath": "$.detail", "ResultPath": "$.copy"},
            ORDER_INPUT | {"copy": ORDER_INPUT["detail"]},
        ),
        (
            {"Parameters": {"user.$": "$.detail.userId", "exec.$": "$$.Execution.Name"}},
            {"user": "testuser", "exec": "exec-1"},
        ),
        ({"OutputPath": "$.detail.orderId"}, "1"),
    ],
)
def test_pass_state_data_flow(fields, expected):
    host = FakeHost()
    done = start(pass_machine(**fields), ORDER_INPUT, context=CONTEXT, host=host)
    assert done.output == expected
    assert host.types() == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert json.loads(host.last("PassStateExited")["output"]) == expected


def retry_machine(retry, catch=(), resource=LAMBDA):
    task = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {"retries.$": "$$.State.RetryCount"},
        "Retry": retry,
        "Catch": list(catch),
        "End": True,
    }
    states = {"T": task, "Handled": {"Type": "Pass", "End": True}}
    return load_definition({"StartAt": "T", "States": states})


def retry(defn, sleeping, host):
    return resume_retry(
        defn,
        state_name=sleeping.state_name,
        raw_input=sleeping.raw_input,
        attempts=sleeping.attempts,
        context=CONTEXT,
        host=host,
    )


def test_retry_with_backoff_then_catch():
    defn = retry_machine(
        [
            {"ErrorEquals": ["Other"], "MaxAttempts": 5},
            {"ErrorEquals": ["Busy"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 2.0},
        ],
        [{"ErrorEquals": ["Busy"], "Next": "Handled", "ResultPath": "$.error"}],
    )
    host = FakeHost({"T": StatesError("Busy", "try later")})
    outcome = start(defn, {"a": 1}, context=CONTEXT, host=host)
    assert outcome == Sleeping("T", {"a": 1}, [0, 1], 3.0)
    outcome = retry(defn, outcome, host)
    assert outcome == Sleeping("T", {"a": 1}, [0, 2], 6.0)
    outcome = retry(defn, outcome, host)
    assert outcome == Finished(
        "SUCCEEDED", {"a": 1, "error": {"Error": "Busy", "Cause": "try later"}}, None, None
    )
    assert [params["retries"] for _, _, params, _ in host.invocations] == [0, 1, 2]
    assert host.types().count("TaskStateEntered") == 1
    assert host.types().count("TaskScheduled") == 3
    assert host.last("TaskFailed") == {
        "resourceType": "lambda",
        "resource": "invoke",
        "error": "Busy",
        "cause": "try later",
    }


def test_retry_succeeds_on_a_later_attempt():
    defn = retry_machine([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}])
    host = FakeHost({"T": [StatesError("Flaky"), {"ok": True}]})
    sleeping = start(defn, {}, context=CONTEXT, host=host)
    assert sleeping.delay_seconds == 1.0
    assert retry(defn, sleeping, host) == Finished("SUCCEEDED", {"ok": True}, None, None)


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
    done = resume_continue(
        defn,
        state_name=paused.state_name,
        state_input=paused.state_input,
        context=CONTEXT,
        host=host,
    )
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
