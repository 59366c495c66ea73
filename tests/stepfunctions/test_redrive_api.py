"""RedriveExecution through boto3 and the aws CLI on the live server (stages inline): the
redrive members of DescribeExecution and ListExecutions, ListExecutions' redriveFilter, the
ExecutionRedriven event, ExecutionNotRedrivable with AWS's reason, and the permission it needs."""

import json

import pytest
from botocore.exceptions import ClientError
from django.contrib.auth import get_user_model

from stepfunctions.services.access_keys import access_key_create
from tests.conftest import aws_cli, wait_for
from tests.stepfunctions.test_redrive import CHAIN, broken, calls

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/unused"


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()
    broken.clear()


def _ended(sfn, arn: str) -> dict:
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        message="the execution's end",
    )


@pytest.fixture
def machine_arn(sfn):
    return sfn.create_state_machine(name="Redriven", definition=json.dumps(CHAIN), roleArn=ROLE)[
        "stateMachineArn"
    ]


def test_redrive_with_boto3(inline_stages, sfn, make_sfn, machine_arn):
    broken.add("second")
    arn = sfn.start_execution(stateMachineArn=machine_arn, name="one", input='{"n": 3}')[
        "executionArn"
    ]
    other = sfn.start_execution(stateMachineArn=machine_arn, name="two", input='{"n": 4}')
    failed = _ended(sfn, arn)
    assert (failed["status"], failed["error"]) == ("FAILED", "Broken")
    assert (failed["redriveCount"], failed["redriveStatus"]) == (0, "REDRIVABLE")
    assert "redriveStatusReason" not in failed and "redriveDate" not in failed

    reader = make_sfn(
        access_key_create(user=get_user_model().objects.create_user("reader"), grants=["read"])
    )
    with pytest.raises(ClientError) as denied:
        reader.redrive_execution(executionArn=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"

    broken.clear()
    redrive_date = sfn.redrive_execution(executionArn=arn)["redriveDate"]
    done = _ended(sfn, arn)
    assert (done["status"], json.loads(done["output"])["second"]["seen"]) == ("SUCCEEDED", 3)
    assert (done["redriveCount"], done["redriveDate"]) == (1, redrive_date)
    assert done["startDate"] == failed["startDate"] and done["executionArn"] == arn
    assert (done["redriveStatus"], done["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        "Execution is SUCCEEDED and cannot be redriven.",
    )
    assert calls == {"first": 2, "second": 3}  # one and two's First; one's Second twice

    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable) as refused:
        sfn.redrive_execution(executionArn=arn)
    assert "SUCCEEDED and cannot be redriven" in refused.value.response["Error"]["Message"]
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.redrive_execution(executionArn=arn.replace(":one", ":three"))
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.redrive_execution(executionArn="not-an-arn")

    events = sfn.get_execution_history(executionArn=arn)["events"]
    redriven = [e for e in events if e["type"] == "ExecutionRedriven"]
    assert [e["executionRedrivenEventDetails"] for e in redriven] == [{"redriveCount": 1}]
    assert events[events.index(redriven[0]) - 1]["type"] == "ExecutionFailed"

    def listed(**filters):
        items = sfn.list_executions(stateMachineArn=machine_arn, **filters)["executions"]
        return {item["name"]: item for item in items}

    assert listed(redriveFilter="REDRIVEN").keys() == {"one"}
    assert listed(redriveFilter="NOT_REDRIVEN").keys() == {"two"}
    everything = listed()
    assert (everything["one"]["redriveCount"], everything["one"]["redriveDate"]) == (
        1,
        redrive_date,
    )
    assert everything["two"]["redriveCount"] == 0 and "redriveDate" not in everything["two"]
    assert other["executionArn"] == everything["two"]["executionArn"]


def test_redrive_with_the_aws_cli(inline_stages, live_server, sfn_key, sfn, machine_arn):
    broken.add("second")
    arn = sfn.start_execution(stateMachineArn=machine_arn, input='{"n": 5}')["executionArn"]
    _ended(sfn, arn)
    broken.clear()

    done = aws_cli(live_server, sfn_key, "redrive-execution", "--execution-arn", arn)
    assert done.returncode == 0, done.stderr
    assert "redriveDate" in json.loads(done.stdout)
    assert _ended(sfn, arn)["status"] == "SUCCEEDED"

    described = aws_cli(live_server, sfn_key, "describe-execution", "--execution-arn", arn)
    assert json.loads(described.stdout)["redriveCount"] == 1
    listed = aws_cli(
        live_server,
        sfn_key,
        "list-executions",
        "--state-machine-arn",
        machine_arn,
        "--redrive-filter",
        "REDRIVEN",
    )
    assert [e["executionArn"] for e in json.loads(listed.stdout)["executions"]] == [arn]

    again = aws_cli(live_server, sfn_key, "redrive-execution", "--execution-arn", arn)
    assert again.returncode != 0
    assert "ExecutionNotRedrivable" in again.stderr
