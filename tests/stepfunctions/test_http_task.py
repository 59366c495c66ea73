"""The HTTP Task (`arn:aws:states:::http:invoke`) against a real HTTP server in a thread: the call
runs through the task queue's runner (eager here; tests/operations/test_http_task_worker.py runs
it on real workers), each kind of connection authorizes it, statuses outside 2xx are
`States.Http.StatusCode.<code>` for Retry and Catch, a slow server is States.Timeout, a refused
host is a clear error in history, and a connection's secrets appear nowhere but in the request."""

import base64
import itertools
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import time_machine
from django.utils import timezone

from stepfunctions import services
from stepfunctions.integrations.http import HTTP_INVOKE
from stepfunctions.models import Connection, Execution, HistoryEvent
from tests.http_server import OAUTH_CLIENT, OAUTH_TOKEN, local_server

CALL = "Call"
API_KEY_VALUE = "api-key-value-1f2e3d"
PASSWORD = "basic-password-4c5b6a"
_machines = itertools.count()


@pytest.fixture
def server():
    with local_server() as running:
        yield running


@pytest.fixture
def allow_local(settings):
    settings.HTTP_TASK_ALLOWED_HOSTS = ["127.0.0.1"]


def connection(kind: str, server=None) -> Connection:
    fields = {
        "API_KEY": {"api_key_name": "X-Api-Key", "api_key_value": API_KEY_VALUE},
        "BASIC": {"username": "shop", "password": PASSWORD},
        "OAUTH_CLIENT_CREDENTIALS": {
            "authorization_endpoint": f"{server.url}/token" if server else "",
            "client_id": OAUTH_CLIENT[0],
            "client_secret": OAUTH_CLIENT[1],
        },
    }[kind]
    made = Connection(name=f"conn-{kind.lower()}", authorization_type=kind, **fields)
    made.full_clean()
    made.save()
    return made


def definition(parameters: dict, **fields) -> dict:
    state = {"Type": "Task", "Resource": HTTP_INVOKE, "Parameters": parameters, "End": True}
    document = {"StartAt": CALL, "States": {CALL: state | fields}}
    if "Catch" in fields:
        state.pop("End")
        state["Next"] = "Done"
        document["States"]["Done"] = {"Type": "Pass", "End": True}
        document["States"]["Caught"] = {"Type": "Pass", "End": True}
    return document


def caught(*errors: str) -> dict:
    return {"Catch": [{"ErrorEquals": list(errors), "ResultPath": "$.error", "Next": "Caught"}]}


def start(document: dict, data: dict | None = None) -> Execution:
    machine = services.state_machine_create(name=f"Http{next(_machines)}", definition=document)
    execution, _ = services.execution_start(state_machine=machine, input=data or {})
    execution.refresh_from_db()
    return execution


def history_text(execution: Execution) -> str:
    rows = HistoryEvent.objects.filter(execution=execution).values_list("type", "details")
    return json.dumps(list(rows))


def test_a_get_answers_aws_result_shape_and_history(inline_stages, allow_local, server):
    parameters = {"ApiEndpoint": f"{server.url}/echo", "Method": "GET"}
    execution = start(definition(parameters, ResultPath="$.response"), {"keep": 1})
    assert execution.status == "SUCCEEDED", execution.cause
    response = execution.output["response"]
    assert execution.output["keep"] == 1
    assert (response["StatusCode"], response["StatusText"]) == (200, "OK")
    assert response["ResponseBody"] == {"method": "GET", "path": "/echo", "greeting": "hello"}
    assert response["Headers"]["content-type"] == ["application/json"]
    types = list(execution.history.order_by("event_id").values_list("type", flat=True))
    # As AWS writes a request and its response: no TaskSubmitted.
    assert types[1:5] == ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded"]
    scheduled = execution.history.get(type="TaskScheduled").details
    assert (scheduled["resourceType"], scheduled["resource"]) == ("http", "invoke")


def test_query_parameters_headers_and_a_url_encoded_body(inline_stages, allow_local, server):
    parameters = {
        "ApiEndpoint": f"{server.url}/echo?fixed=1",
        "Method": "POST",
        "Headers": {"X-Order": "42"},
        "QueryParameters": {"size.$": "$.size", "extra": ["a", "b"]},
        "RequestBody": {"items": ["latte", "mocha"], "note": "hot"},
        "Transform": {
            "RequestBodyEncoding": "URL_ENCODED",
            "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"},
        },
    }
    execution = start(definition(parameters), {"size": "large"})
    assert execution.status == "SUCCEEDED", execution.cause
    received = server.last("/echo")
    assert received.method == "POST"
    path, _, query = received.path.partition("?")
    assert path == "/echo" and query.startswith("fixed=1&")  # the endpoint's own query first
    # (PostgreSQL's JSONB keeps a definition's keys in an order of its own.)
    expected = [("extra", "a"), ("extra", "b"), ("fixed", "1"), ("size", "large")]
    assert sorted(parse_qsl(query)) == expected
    assert received.headers["X-Order"] == "42"
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = received.body.decode()
    assert "items%5B%5D=latte&items%5B%5D=mocha" in body  # an array's items in order
    assert sorted(parse_qsl(body)) == [("items[]", "latte"), ("items[]", "mocha"), ("note", "hot")]


def test_a_json_body_and_a_text_answer(inline_stages, allow_local, server):
    parameters = {"ApiEndpoint": f"{server.url}/text", "Method": "PUT", "RequestBody": {"a": [1]}}
    execution = start(definition(parameters))
    assert execution.output["ResponseBody"] == "plain café"
    received = server.last("/text")
    assert (received.headers["Content-Type"], received.body) == ("application/json", b'{"a": [1]}')


@pytest.mark.parametrize("kind", ["API_KEY", "BASIC", "OAUTH_CLIENT_CREDENTIALS"])
def test_each_connection_authorizes_and_its_secret_shows_nowhere(
    kind, inline_stages, allow_local, server, sfn, caplog
):
    caplog.set_level(logging.DEBUG)
    made = connection(kind, server)
    parameters = {
        "ApiEndpoint": f"{server.url}/echo",
        "Method": "GET",
        "Authentication": {"ConnectionArn": made.arn},
    }
    machine = services.state_machine_create(name=f"Auth{kind}", definition=definition(parameters))
    arn = sfn.start_execution(stateMachineArn=machine.arn)["executionArn"]
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED", described
    received = server.last("/echo").headers
    expected = {
        "API_KEY": ("X-Api-Key", API_KEY_VALUE),
        "BASIC": ("Authorization", "Basic " + base64.b64encode(f"shop:{PASSWORD}".encode()).decode()),
        "OAUTH_CLIENT_CREDENTIALS": ("Authorization", f"Bearer {OAUTH_TOKEN}"),
    }[kind]  # fmt: skip
    assert received[expected[0]] == expected[1]
    history = sfn.get_execution_history(executionArn=arn)
    execution = Execution.objects.get(name=arn.rsplit(":", 1)[1])
    secrets = {
        "API_KEY": [API_KEY_VALUE],
        "BASIC": [PASSWORD, expected[1].removeprefix("Basic ")],
        "OAUTH_CLIENT_CREDENTIALS": [OAUTH_CLIENT[1], OAUTH_TOKEN],
    }[kind]
    for secret in secrets:
        for where, text in {
            "history rows": history_text(execution),
            "logs": caplog.text,
            "DescribeExecution": json.dumps(described, default=str),
            "GetExecutionHistory": json.dumps(history, default=str),
        }.items():
            assert secret not in text, f"{kind}'s secret in {where}"


def test_an_oauth_token_is_asked_once_and_kept(inline_stages, allow_local, server):
    made = connection("OAUTH_CLIENT_CREDENTIALS", server)
    parameters = {"ApiEndpoint": f"{server.url}/echo", "Method": "GET",
                  "Authentication": {"ConnectionArn": made.arn}}  # fmt: skip
    for _ in range(2):
        assert start(definition(parameters)).status == "SUCCEEDED"
    assert (server.counts["/token"], server.counts["/echo"]) == (1, 2)


def test_a_connection_arn_names_one_of_this_engine(inline_stages, allow_local, server):
    made = connection("BASIC")
    wrong_id = made.arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    for arn in (wrong_id, made.arn.replace(":connection/conn-basic/", ":connection/missing/")):
        parameters = {"ApiEndpoint": f"{server.url}/echo", "Method": "GET",
                      "Authentication": {"ConnectionArn": arn}}  # fmt: skip
        execution = start(definition(parameters, **caught("States.ALL")))
        assert execution.output["error"]["Error"] == "Http.ConnectionNotFound"
    without_id = made.arn.rsplit("/", 1)[0]
    parameters["Authentication"]["ConnectionArn"] = without_id
    assert start(definition(parameters)).status == "SUCCEEDED"
    assert "/echo" in server.counts and server.counts["/echo"] == 1


def test_a_4xx_is_caught_by_its_status_code_with_the_response_as_cause(
    inline_stages, allow_local, server
):
    parameters = {"ApiEndpoint": f"{server.url}/status/404", "Method": "GET"}
    execution = start(definition(parameters, **caught("States.Http.StatusCode.404")))
    assert execution.status == "SUCCEEDED"
    error = execution.output["error"]
    assert error["Error"] == "States.Http.StatusCode.404"
    cause = json.loads(error["Cause"])
    assert (cause["StatusCode"], cause["ResponseBody"]) == (404, {"message": "as asked"})
    failed = execution.history.get(type="TaskFailed").details
    assert failed["error"] == "States.Http.StatusCode.404"


def test_a_5xx_is_retried_until_it_succeeds(inline_stages, allow_local, server):
    retry = [{"ErrorEquals": ["States.Http.StatusCode.503"], "IntervalSeconds": 1,
              "MaxAttempts": 3}]  # fmt: skip
    execution = start(definition({"ApiEndpoint": f"{server.url}/flaky", "Method": "GET"},
                                 Retry=retry))  # fmt: skip
    for seconds in (5, 15):  # past each retry's delay (1 s, then 2 s)
        with time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False):
            services.executions_relay()
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["ResponseBody"] == {"attempt": 3}
    assert execution.history.filter(type="TaskFailed").count() == 2


def test_a_5xx_past_its_retries_fails_the_execution(inline_stages, allow_local, server):
    execution = start(definition({"ApiEndpoint": f"{server.url}/status/500", "Method": "DELETE"}))
    assert (execution.status, execution.error) == ("FAILED", "States.Http.StatusCode.500")


def test_a_slow_server_times_the_state_out(inline_stages, allow_local, server):
    parameters = {"ApiEndpoint": f"{server.url}/slow?seconds=4", "Method": "GET"}
    execution = start(definition(parameters, TimeoutSeconds=1, **caught("States.Timeout")))
    # The call ended at the state's deadline; its failure came too late: the sweep times it out.
    assert execution.status == "RUNNING"
    assert services.tokens_expire() == 1
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"
    assert execution.output["error"]["Error"] == "States.Timeout"
    assert execution.history.filter(type="TaskTimedOut").count() == 1


def test_a_body_over_256_kib_is_the_data_limit(inline_stages, allow_local, server):
    parameters = {"ApiEndpoint": f"{server.url}/large", "Method": "GET"}
    execution = start(definition(parameters, **caught("States.DataLimitExceeded")))
    assert execution.output["error"]["Error"] == "States.DataLimitExceeded"


def test_a_refused_host_is_a_clear_error_in_history(inline_stages, server):
    # The default setting: public addresses only.
    parameters = {"ApiEndpoint": f"{server.url}/echo", "Method": "GET"}
    execution = start(definition(parameters))
    assert (execution.status, execution.error) == ("FAILED", "Http.HostNotAllowed")
    failed = execution.history.get(type="TaskFailed").details
    assert failed["error"] == "Http.HostNotAllowed"
    assert "127.0.0.1 (loopback)" in failed["cause"]
    assert "HTTP_TASK_ALLOWED_HOSTS" in failed["cause"]
    assert server.received == []  # never called


def test_a_redirect_to_a_refused_host_is_not_followed(inline_stages, allow_local, server):
    target = f"http://127.0.0.2:{server.port}/echo"
    parameters = {"ApiEndpoint": f"{server.url}/redirect?to={target}", "Method": "GET"}
    execution = start(definition(parameters))
    assert (execution.status, execution.error) == ("FAILED", "Http.HostNotAllowed")
    assert "127.0.0.2" in execution.cause
    assert [request.path for request in server.received] == [f"/redirect?to={target}"]


def test_a_redirect_keeps_the_secret_to_its_own_origin(inline_stages, settings, server):
    settings.HTTP_TASK_ALLOWED_HOSTS = ["127.0.0.0/8"]
    made = connection("API_KEY")
    for target, sent in ((f"{server.url}/echo", True),
                         (f"http://localhost:{server.port}/echo", False)):  # fmt: skip
        parameters = {"ApiEndpoint": f"{server.url}/redirect?to={target}", "Method": "GET",
                      "Authentication": {"ConnectionArn": made.arn}}  # fmt: skip
        execution = start(definition(parameters))
        assert execution.output["ResponseBody"]["greeting"] == "hello"
        assert ("X-Api-Key" in server.last("/echo").headers) is sent


def test_parameters_are_checked_in_the_stage(inline_stages, allow_local):
    for parameters in (
        {"ApiEndpoint": "ftp://example.com/", "Method": "GET"},
        {"ApiEndpoint": "https://example.com/", "Method": "FETCH"},
        {"ApiEndpoint": "https://example.com/", "Method": "GET", "Authentication": {"ConnectionArn": "x"}},
        {"ApiEndpoint": "https://example.com/", "Method": "GET",
         "Transform": {"RequestBodyEncoding": "GZIP"}},
    ):  # fmt: skip
        execution = start(definition(parameters, **caught("Http.InvalidParameters")))
        assert execution.output["error"]["Error"] == "Http.InvalidParameters", parameters


def test_the_readmes_example_runs_as_written(inline_stages, allow_local, server, capsys):
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [shell] = [b for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S) if "Connection(" in b]
    exec(re.search(r'shell -c "(.*?)"', shell, flags=re.S).group(1), {})  # the connection
    arn = capsys.readouterr().out.strip()
    assert arn == Connection.objects.get(name="payments").arn
    [block] = [b for b in re.findall(r"```json\n(.*?)```", text, flags=re.S) if "http:invoke" in b]
    document = json.loads(block)
    parameters = document["States"]["Charge"]["Parameters"]
    assert parameters["ApiEndpoint"] == "https://api.example.com/charges"
    parameters["ApiEndpoint"] = f"{server.url}/echo"  # this test's server stands in for the API
    machine = services.state_machine_create(name="Payments", definition=document)
    execution, _ = services.execution_start(
        state_machine=machine, input={"amount": 450, "customer": "c-17"}
    )
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["payment"]["status"] == 200
    received = server.last("/echo")
    assert received.path == "/echo?currency=EUR"
    assert received.headers["X-Api-Key"] == "the-key-your-provider-gave"
    assert received.headers["Idempotency-Key"] == execution.name
    assert json.loads(received.body) == {"amount": 450, "customer": "c-17"}
