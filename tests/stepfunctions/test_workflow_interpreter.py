"""Running definitions through a fake in-memory Host: data flow, Retry, Catch, history.

More of Retry and Catch, error names, Choice and Fail in test_workflow_retry_catch.py."""

import copy
import json

import pytest

from stepfunctions.workflow import (
    Finished,
    Sleeping,
    StatesError,
    TaskSuccess,
    TaskTimeout,
    Waiting,
    cursor_of,
    load_definition,
    resume,
    start,
)
from tests.stepfunctions.workflow_host import Host

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


class FakeHost(Host):
    """Records history and invocations; answers each state from `responses` (a StatesError raises,
    a list is consumed one answer per call)."""

    def __init__(self, responses=None):
        super().__init__()
        self.responses = responses or {}
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
    return resume(
        defn, cursor_of(waiting), task_result=result, context=CONTEXT, host=host, **kwargs
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
    return resume(defn, cursor_of(sleeping), context=CONTEXT, host=host)


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
