"""TestState: one state on its own or by stateName, its inspection data at INFO, DEBUG and TRACE,
mocked results and errors (Retry: RETRIABLE, Catch: CAUGHT_ERROR), and its refusals; then boto3
and the aws CLI on the live server (the `sync-` host prefix turned off)."""

import json

import pytest
from botocore.config import Config

from stepfunctions.api import test_state as api
from stepfunctions.errors import InvalidDefinition, InvalidExecutionInput, ValidationException
from tests.conftest import aws_cli
from tests.stepfunctions.conftest import machine_document

LAMBDA = "arn:aws:states:::lambda:invoke"


def _run(state: dict, input: object = None, **members) -> dict:
    request = {"definition": json.dumps(state), **members}
    if input is not None:
        request["input"] = json.dumps(input)
    return api.test_state(request)


def _data(answer: dict) -> dict:
    """The inspection data with its JSON texts read."""
    found = dict(answer["inspectionData"])
    for key, value in found.items():
        if isinstance(value, str):
            found[key] = json.loads(value)
    return found


PASS = {
    "Type": "Pass",
    "InputPath": "$.order",
    "Parameters": {"id.$": "$.id", "size": "large"},
    "ResultPath": "$.placed",
    "OutputPath": "$.placed",
    "Next": "Brew",
}


def test_pass_state_at_each_inspection_level():
    input = {"order": {"id": 7}, "other": 1}
    info = _run(PASS, input)
    assert info == {
        "status": "SUCCEEDED",
        "output": '{"id":7,"size":"large"}',
        "nextState": "Brew",
    }
    for level in ("DEBUG", "TRACE"):  # TRACE adds only an HTTP Task's request and response
        answer = _run(PASS, input, inspectionLevel=level)
        assert _data(answer) == {
            "input": input,
            "afterInputPath": {"id": 7},
            "afterParameters": {"id": 7, "size": "large"},
            "result": {"id": 7, "size": "large"},
            "afterResultPath": {
                "order": {"id": 7},
                "other": 1,
                "placed": {"id": 7, "size": "large"},
            },
        }
        assert answer["output"] == info["output"]


TASK = {
    "Type": "Task",
    "Resource": LAMBDA,
    "Parameters": {"FunctionName": "Brew", "Payload.$": "$"},
    "ResultSelector": {"cup.$": "$.Payload.cup"},
    "ResultPath": "$.brewed",
    "End": True,
}


def test_task_with_a_mocked_result_runs_no_resource():
    mock = {"result": json.dumps({"Payload": {"cup": "flat white"}, "StatusCode": 200})}
    answer = _run(
        TASK, {"n": 1}, inspectionLevel="DEBUG", mock=mock, roleArn="arn:aws:iam::1:role/x"
    )
    assert answer["status"] == "SUCCEEDED" and "nextState" not in answer
    assert json.loads(answer["output"]) == {"n": 1, "brewed": {"cup": "flat white"}}
    data = _data(answer)
    assert data["afterParameters"] == {"FunctionName": "Brew", "Payload": {"n": 1}}
    assert data["result"] == {"Payload": {"cup": "flat white"}, "StatusCode": 200}
    assert data["afterResultSelector"] == {"cup": "flat white"}
    assert data["afterResultPath"] == {"n": 1, "brewed": {"cup": "flat white"}}


def test_mocked_error_retried_caught_or_failed():
    state = {
        **TASK,
        "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 3, "MaxAttempts": 2}],
        "Catch": [
            {"ErrorEquals": ["Nope"], "Next": "Ignored"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Sorry"},
        ],
    }
    busy = {"errorOutput": {"error": "Busy", "cause": "the machine is busy"}}
    retried = _run(state, {"n": 1}, inspectionLevel="DEBUG", mock=busy)
    assert retried["status"] == "RETRIABLE"
    assert (retried["error"], retried["cause"]) == ("Busy", "the machine is busy")
    assert retried["nextState"] == "TestState"  # it runs again
    assert retried["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 3,
    }
    # The second retry waits IntervalSeconds * BackoffRate; after MaxAttempts the Catch takes it.
    second = _run(
        state,
        {"n": 1},
        inspectionLevel="DEBUG",
        mock=busy,
        stateConfiguration={"retrierRetryCount": 1},
    )
    assert second["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == 6
    caught = _run(
        state,
        {"n": 1},
        inspectionLevel="DEBUG",
        mock=busy,
        stateConfiguration={"retrierRetryCount": 2},
    )
    assert caught["status"] == "CAUGHT_ERROR" and caught["nextState"] == "Sorry"
    assert caught["inspectionData"]["errorDetails"] == {"catchIndex": 1}
    assert json.loads(caught["output"]) == {
        "n": 1,
        "error": {"Error": "Busy", "Cause": "the machine is busy"},
    }
    failed = _run({**TASK}, {"n": 1}, mock=busy)
    assert failed == {"status": "FAILED", "error": "Busy", "cause": "the machine is busy"}


def test_choice_gives_the_next_state_and_a_failing_path_fails():
    choice = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.size", "StringEquals": "large", "Next": "Big"}],
        "Default": "Small",
    }
    assert _run(choice, {"size": "large"})["nextState"] == "Big"
    assert _run(choice, {"size": "tiny"})["nextState"] == "Small"
    failed = _run({**PASS, "InputPath": "$.missing"}, {"order": {}})
    assert failed["status"] == "FAILED" and failed["error"] == "States.Runtime"


def test_map_with_a_mocked_result_shows_its_items():
    state = {
        "Type": "Map",
        "ItemsPath": "$.drinks",
        "ItemSelector": {"drink.$": "$$.Map.Item.Value", "at.$": "$$.Map.Item.Index"},
        "MaxConcurrency": 2,
        "ToleratedFailurePercentage": 10,
        "ItemProcessor": {"StartAt": "Make", "States": {"Make": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    mock = {"result": json.dumps(["a", "b"])}
    answer = _run(state, {"drinks": ["latte", "mocha"]}, inspectionLevel="DEBUG", mock=mock)
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == ["a", "b"]
    data = _data(answer)
    assert data["afterItemsPath"] == ["latte", "mocha"]
    assert data["afterItemSelector"] == [{"drink": "latte", "at": 0}, {"drink": "mocha", "at": 1}]
    assert (data["maxConcurrency"], data["toleratedFailurePercentage"]) == (2, 10.0)
    with pytest.raises(ValidationException, match="needs a mock"):
        _run(state, {"drinks": []})


def test_state_name_within_a_whole_machine_and_its_variables():
    doc = machine_document()
    # A callback task of the seed, with its wait mocked: the mock is what the callback answers.
    name = "Emit - Awaiting Completion TT"
    mock = {"result": json.dumps({"orderId": 1})}
    answer = api.test_state(
        {
            "definition": json.dumps(doc),
            "stateName": name,
            "input": json.dumps(
                {
                    "detail": {"orderId": "1", "userId": "u"},
                    "Order": {"Payload": {"orderNumber": 4}},
                }
            ),
            "mock": mock,
            "inspectionLevel": "DEBUG",
        }
    )
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"])["order"] == {"orderId": 1}
    assert answer["nextState"] == doc["States"][name]["Next"]
    (entry,) = _data(answer)["afterParameters"]["Entries"]
    assert entry["Detail"]["orderNumber"] == 4 and entry["Detail"]["TaskToken"]
    with pytest.raises(ValidationException, match="names no state"):
        api.test_state({"definition": json.dumps(doc), "stateName": "Nowhere"})
    with pytest.raises(ValidationException, match="stateName"):
        api.test_state({"definition": json.dumps(doc)})

    assigning = {"Type": "Pass", "Assign": {"total.$": "States.MathAdd($price, 1)"}, "End": True}
    answer = _run(assigning, {}, inspectionLevel="DEBUG", variables=json.dumps({"price": 3}))
    assert _data(answer)["variables"] == {"price": 3, "total": 4}
    jsonata = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": LAMBDA,
        "Arguments": {"FunctionName": "Brew", "Payload": "{% $states.input.n * 2 %}"},
        "Output": "{% $states.result.Payload %}",
        "End": True,
    }
    answer = _run(jsonata, {"n": 2}, inspectionLevel="DEBUG", mock={"result": '{"Payload": 5}'})
    assert _data(answer)["afterArguments"] == {"FunctionName": "Brew", "Payload": 4}
    assert answer["output"] == "5" and "afterInputPath" not in answer["inspectionData"]


@pytest.mark.parametrize(
    ("request_members", "refusal", "says"),
    [
        ({"definition": "{not json"}, InvalidDefinition, "Invalid State Machine Definition"),
        ({"definition": json.dumps({"Type": "Pass"})}, InvalidDefinition, "Next and End"),
        ({"definition": json.dumps(PASS), "input": "[1,"}, InvalidExecutionInput, "Input"),
        ({"definition": json.dumps(PASS), "variables": "[]"}, ValidationException, "variables"),
        ({"definition": json.dumps(TASK)}, ValidationException, "needs a mock"),
        (
            {"definition": json.dumps(PASS), "mock": {"result": "{}"}},
            ValidationException,
            "Task, Map and Parallel",
        ),
        (
            {"definition": json.dumps(TASK), "mock": {"result": "{}", "errorOutput": {}}},
            ValidationException,
            "not both",
        ),
        ({"definition": json.dumps(TASK), "mock": {"result": "{x"}}, ValidationException, "mock"),
        ({"definition": json.dumps(PASS), "context": "{}"}, ValidationException, "with a 'mock'"),
        (
            {"definition": json.dumps(PASS), "stateConfiguration": {"retrierRetryCount": "x"}},
            ValidationException,
            "retrierRetryCount",
        ),
    ],
)
def test_bad_requests_are_refused(request_members, refusal, says):
    with pytest.raises(refusal, match=says):
        api.test_state(request_members)


@pytest.mark.integration
def test_test_state_through_boto3(make_sfn, sfn_key):
    # botocore sends TestState to `sync-<host>`; without the prefix it reaches this server.
    sfn = make_sfn(sfn_key, config=Config(retries={"max_attempts": 1}, inject_host_prefix=False))
    answer = sfn.test_state(
        definition=json.dumps(PASS),
        input=json.dumps({"order": {"id": 3}}),
        inspectionLevel="DEBUG",
    )
    assert answer["status"] == "SUCCEEDED" and answer["nextState"] == "Brew"
    assert json.loads(answer["inspectionData"]["afterInputPath"]) == {"id": 3}
    with pytest.raises(sfn.exceptions.ValidationException):
        sfn.test_state(definition=json.dumps(TASK))


@pytest.mark.integration
def test_test_state_with_the_aws_cli(live_server, sfn_key):
    done = aws_cli(
        live_server,
        sfn_key,
        "test-state",
        "--definition",
        json.dumps(TASK),
        "--input",
        "{}",
        "--mock",
        json.dumps({"errorOutput": {"error": "Busy", "cause": "later"}}),
        "--inspection-level",
        "INFO",
        env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": "FAILED", "error": "Busy", "cause": "later"}


def test_wait_goes_on_at_once_and_parallel_takes_its_mock():
    wait = {"Type": "Wait", "Seconds": 3600, "Next": "Later"}
    assert _run(wait, {"a": 1}) == {
        "status": "SUCCEEDED",
        "output": '{"a":1}',
        "nextState": "Later",
    }
    parallel = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}],
        "End": True,
    }
    caught = _run(parallel, {}, mock={"errorOutput": {"error": "Broke"}})
    assert (caught["status"], caught["nextState"]) == ("CAUGHT_ERROR", "Oops")
    assert json.loads(caught["output"]) == {"Error": "Broke", "Cause": None}
