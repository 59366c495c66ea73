"""Issue 24's close-out: each of botocore's Step Functions operations is served, and called by some
test through boto3 and through the aws CLI on the real HTTP server (a check over the tests' text);
the operations no other test called with the CLI are called here, their answers' members checked
against botocore's output shapes; and a name that is no Step Functions operation answers
UnknownOperationException."""

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stepfunctions.api.protocol import OPERATIONS
from tests.conftest import aws_cli, wait_for

TESTS = Path(__file__).resolve().parents[1]
MODEL = botocore.session.get_session().get_service_model("stepfunctions")
ROLE = "arn:aws:iam::123456789012:role/Audit"
ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:audit"


def _pass(result: str) -> str:
    return json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}
    )


def _output_members(operation: str, list_member: str | None = None) -> set[str]:
    shape = MODEL.operation_model(operation).output_shape
    if list_member:
        shape = shape.members[list_member].member
    return set(shape.members)


def _required(operation: str, list_member: str | None = None) -> set[str]:
    shape = MODEL.operation_model(operation).output_shape
    if list_member:
        shape = shape.members[list_member].member
    return set(shape.required_members)


def _shaped(answer: dict, operation: str, list_member: str | None = None) -> dict:
    """`answer` has every member botocore requires and none it does not know."""
    answer = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    assert _required(operation, list_member) <= set(answer), operation
    assert set(answer) <= _output_members(operation, list_member), operation
    return answer


def test_every_operation_is_served_and_called_with_boto3_and_the_aws_cli():
    assert set(OPERATIONS) == set(MODEL.operation_names)
    texts = [p.read_text() for p in TESTS.rglob("test_*.py")]
    live = [t for t in texts if re.search(r"\b(sfn|make_sfn|live_server)\b", t)]
    cli = [t for t in texts if "aws_cli(" in t]
    for name in MODEL.operation_names:
        method = xform_name(name)
        verb = method.replace("_", "-")
        assert any(f".{method}(" in t for t in live), f"no boto3 test calls {name}"
        assert any(f'"{verb}"' in t for t in cli), f"no aws CLI test calls {name} ({verb})"


def test_a_name_that_is_no_step_functions_operation(live_server, sfn_key):
    request = AWSRequest(
        method="POST",
        url=live_server.url + "/sfn/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.ListBuckets",
        },
    )
    credentials = Credentials(sfn_key.access_key_id, sfn_key.secret_access_key)
    SigV4Auth(credentials, "states", "us-east-1").add_auth(request)
    raw = urllib.request.Request(
        request.url, data=b"{}", headers=dict(request.headers.items()), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(raw, timeout=10)
    answer = json.loads(refused.value.read())
    assert refused.value.code == 400
    assert answer["__type"].rpartition("#")[2] == "UnknownOperationException"


def test_state_machines_versions_and_aliases_with_the_aws_cli(live_server, sfn_key, sfn):
    def cli(*args: str) -> dict:
        done = aws_cli(live_server, sfn_key, *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    created = cli(
        *("create-state-machine", "--name", "Audit", "--definition", _pass("v1")),
        *("--role-arn", ROLE),
    )
    machine = created["stateMachineArn"]
    assert machine == "arn:aws:states:us-east-1:123456789012:stateMachine:Audit"
    described = _shaped(
        cli("describe-state-machine", "--state-machine-arn", machine), "DescribeStateMachine"
    )
    assert (described["name"], described["type"], described["roleArn"]) == (
        "Audit",
        "STANDARD",
        ROLE,
    )
    listed = cli("list-state-machines")["stateMachines"]
    assert "Audit" in [_shaped(m, "ListStateMachines", "stateMachines")["name"] for m in listed]

    version = cli("publish-state-machine-version", "--state-machine-arn", machine)
    assert version["stateMachineVersionArn"] == f"{machine}:1"
    versions = cli("list-state-machine-versions", "--state-machine-arn", machine)
    assert [v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [
        f"{machine}:1"
    ]
    routing = json.dumps([{"stateMachineVersionArn": f"{machine}:1", "weight": 100}])
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=json.loads(routing))[
        "stateMachineAliasArn"
    ]
    assert alias == f"{machine}:live"
    updated = cli(
        *("update-state-machine-alias", "--state-machine-alias-arn", alias),
        *("--description", "the live one"),
    )
    assert "updateDate" in updated
    described_alias = _shaped(
        cli("describe-state-machine-alias", "--state-machine-alias-arn", alias),
        "DescribeStateMachineAlias",
    )
    assert described_alias["description"] == "the live one"
    assert described_alias["routingConfiguration"] == json.loads(routing)
    aliases = cli("list-state-machine-aliases", "--state-machine-arn", machine)
    assert [a["stateMachineAliasArn"] for a in aliases["stateMachineAliases"]] == [alias]

    execution = sfn.start_execution(stateMachineArn=alias)["executionArn"]
    ran = _shaped(
        cli("describe-state-machine-for-execution", "--execution-arn", execution),
        "DescribeStateMachineForExecution",
    )
    assert (ran["stateMachineArn"], ran["name"], ran["roleArn"]) == (machine, "Audit", ROLE)
    assert json.loads(ran["definition"]) == json.loads(_pass("v1"))
    # What AWS answers beyond the required members, for a machine with logging and tracing off.
    assert ran["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert ran["tracingConfiguration"] == described["tracingConfiguration"] == {"enabled": False}
    assert "mapRunArn" not in ran and "label" not in ran

    assert cli("delete-state-machine-alias", "--state-machine-alias-arn", alias) == {}
    assert sfn.list_state_machine_aliases(stateMachineArn=machine)["stateMachineAliases"] == []
    assert cli("delete-state-machine-version", "--state-machine-version-arn", f"{machine}:1") == {}
    assert sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"] == []
    assert cli("delete-state-machine", "--state-machine-arn", machine) == {}
    assert "Audit" not in [m["name"] for m in sfn.list_state_machines()["stateMachines"]]


def test_send_task_heartbeat_and_failure_with_the_aws_cli(live_stages, live_server, sfn_key, sfn):
    sfn.create_activity(name="audit")
    work = {"Type": "Task", "Resource": ACTIVITY, "HeartbeatSeconds": 60, "End": True}
    machine = sfn.create_state_machine(
        name="AuditActivity",
        definition=json.dumps({"StartAt": "Work", "States": {"Work": work}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    token = sfn.get_activity_task(activityArn=ACTIVITY, workerName="audit")["taskToken"]

    done = aws_cli(live_server, sfn_key, "send-task-heartbeat", "--task-token", token)
    assert (done.returncode, done.stdout.strip()) == (0, ""), done.stderr
    done = aws_cli(
        live_server,
        sfn_key,
        *("send-task-failure", "--task-token", token, "--error", "Audit.Broke"),
        *("--cause", "on purpose"),
    )
    assert (done.returncode, done.stdout.strip()) == (0, ""), done.stderr

    described = wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        message="the execution's end",
    )
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Audit.Broke",
        "on purpose",
    )
    _shaped(described, "DescribeExecution")
    items = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [_shaped(i, "ListExecutions", "executions")["status"] for i in items] == ["FAILED"]
