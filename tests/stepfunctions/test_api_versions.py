"""Versions and aliases through boto3 (and the aws CLI) on the live server: publish, list, delete,
aliases and their routing, executions started on a version or through an alias and what
DescribeExecution, ListExecutions and DescribeStateMachineForExecution say of them."""

import json

import pytest

from stepfunctions.models import Execution
from tests.conftest import aws_cli, open_token, wait_for

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/unused"
WAIT = "Wait for token"
_EVENT = {"DetailType": "Versions.Waiting", "EventBusName": "Tests", "Source": "tests"}


def _document(result: str) -> str:
    """A machine that waits on a callback, then ends with `result`: what it ran tells which
    version it was."""
    waits = {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
        "Parameters": {"Entries": [{**_EVENT, "Detail": {"TaskToken.$": "$$.Task.Token"}}]},
        "ResultPath": None,
        "Next": "Done",
    }
    done = {"Type": "Pass", "Result": result, "End": True}
    return json.dumps({"StartAt": WAIT, "States": {WAIT: waits, "Done": done}})


def _pass(result: str) -> str:
    return json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}
    )


@pytest.fixture
def machine_arn(sfn):
    return sfn.create_state_machine(name="Versioned", definition=_pass("v1"), roleArn=ROLE)[
        "stateMachineArn"
    ]


def _cli(live_server, key, *args: str) -> dict:
    done = aws_cli(live_server, key, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_publish_list_describe_and_delete_versions(sfn, machine_arn):
    first = sfn.publish_state_machine_version(stateMachineArn=machine_arn, description="one")
    assert first["stateMachineVersionArn"] == f"{machine_arn}:1"
    # Publishing the unchanged latest revision answers the version it already is.
    again = sfn.publish_state_machine_version(stateMachineArn=machine_arn)
    assert again["stateMachineVersionArn"] == f"{machine_arn}:1"

    updated = sfn.update_state_machine(
        stateMachineArn=machine_arn, definition=_pass("v2"), publish=True, versionDescription="two"
    )
    assert updated["stateMachineVersionArn"] == f"{machine_arn}:2"
    stale = updated["revisionId"]
    sfn.update_state_machine(stateMachineArn=machine_arn, definition=_pass("v3"))
    # A revisionId that is not the latest revision's is refused.
    with pytest.raises(sfn.exceptions.ConflictException):
        sfn.publish_state_machine_version(stateMachineArn=machine_arn, revisionId=stale)

    listed = sfn.list_state_machine_versions(stateMachineArn=machine_arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{machine_arn}:2", f"{machine_arn}:1"]
    paged = sfn.list_state_machine_versions(stateMachineArn=machine_arn, maxResults=1)
    assert [v["stateMachineVersionArn"] for v in paged["stateMachineVersions"]] == [
        f"{machine_arn}:2"
    ]
    rest = sfn.list_state_machine_versions(
        stateMachineArn=machine_arn, nextToken=paged["nextToken"]
    )
    assert [v["stateMachineVersionArn"] for v in rest["stateMachineVersions"]] == [
        f"{machine_arn}:1"
    ]

    one = sfn.describe_state_machine(stateMachineArn=f"{machine_arn}:1")
    assert one["stateMachineArn"] == f"{machine_arn}:1"
    assert json.loads(one["definition"])["States"]["P"]["Result"] == "v1"
    assert one["description"] == "one"
    latest = sfn.describe_state_machine(stateMachineArn=machine_arn)
    assert json.loads(latest["definition"])["States"]["P"]["Result"] == "v3"
    assert latest["revisionId"] != one["revisionId"]

    sfn.delete_state_machine_version(stateMachineVersionArn=f"{machine_arn}:1")
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{machine_arn}:1")  # idempotent
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=f"{machine_arn}:1")
    # A number is never given twice: the next version is 3.
    third = sfn.publish_state_machine_version(stateMachineArn=machine_arn)
    assert third["stateMachineVersionArn"] == f"{machine_arn}:3"
    with pytest.raises(sfn.exceptions.ValidationException):
        sfn.update_state_machine(
            stateMachineArn=machine_arn, definition=_pass("x"), versionDescription="d"
        )
    with pytest.raises(sfn.exceptions.ValidationException):
        sfn.delete_state_machine(stateMachineArn=f"{machine_arn}:3")


def test_create_state_machine_with_publish(sfn):
    created = sfn.create_state_machine(
        name="Published",
        definition=_pass("x"),
        roleArn=ROLE,
        publish=True,
        versionDescription="first",
    )
    assert created["stateMachineVersionArn"] == created["stateMachineArn"] + ":1"
    described = sfn.describe_state_machine(stateMachineArn=created["stateMachineVersionArn"])
    assert described["description"] == "first"


def test_aliases_route_and_refuse_deleting_their_versions(sfn, machine_arn):
    v1 = sfn.publish_state_machine_version(stateMachineArn=machine_arn)["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=machine_arn, definition=_pass("v2"))
    v2 = sfn.publish_state_machine_version(stateMachineArn=machine_arn)["stateMachineVersionArn"]

    routing = [{"stateMachineVersionArn": v1, "weight": 100}]
    alias = sfn.create_state_machine_alias(
        name="prod", routingConfiguration=routing, description="p"
    )
    alias_arn = alias["stateMachineAliasArn"]
    assert alias_arn == f"{machine_arn}:prod"
    # The same alias again is answered as it is; set otherwise, it is a conflict.
    same = sfn.create_state_machine_alias(
        name="prod", routingConfiguration=routing, description="p"
    )
    assert same["stateMachineAliasArn"] == alias_arn
    with pytest.raises(sfn.exceptions.ConflictException):
        sfn.create_state_machine_alias(
            name="prod", routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
        )
    for bad in (
        [
            {"stateMachineVersionArn": v1, "weight": 60},
            {"stateMachineVersionArn": v2, "weight": 30},
        ],
        [
            {"stateMachineVersionArn": v1, "weight": 50},
            {"stateMachineVersionArn": v1, "weight": 50},
        ],
        [{"stateMachineVersionArn": machine_arn, "weight": 100}],
    ):
        with pytest.raises(sfn.exceptions.ValidationException):
            sfn.create_state_machine_alias(name="bad", routingConfiguration=bad)
    with pytest.raises(sfn.exceptions.ValidationException, match="version ARNs"):
        sfn.create_state_machine_alias(
            name="bad",
            routingConfiguration=[{"stateMachineVersionArn": f"{machine_arn}:9", "weight": 100}],
        )
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.create_state_machine_alias(name="12", routingConfiguration=routing)

    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=alias_arn)
    with pytest.raises(sfn.exceptions.MissingRequiredParameter):
        sfn.update_state_machine_alias(stateMachineAliasArn=alias_arn)
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert described["routingConfiguration"] == routing
    assert (described["name"], described["description"]) == ("prod", "p")

    with pytest.raises(sfn.exceptions.ConflictException):
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    split = [
        {"stateMachineVersionArn": v1, "weight": 0},
        {"stateMachineVersionArn": v2, "weight": 100},
    ]
    sfn.update_state_machine_alias(stateMachineAliasArn=alias_arn, routingConfiguration=split)
    assert (
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)["routingConfiguration"]
        == split
    )
    with pytest.raises(sfn.exceptions.ConflictException):  # weight 0 still routes to it
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)

    listed = sfn.list_state_machine_aliases(stateMachineArn=machine_arn)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [alias_arn]
    assert sfn.list_state_machine_aliases(stateMachineArn=v2)["stateMachineAliases"] == listed

    sfn.delete_state_machine_alias(stateMachineAliasArn=alias_arn)
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert sfn.list_state_machine_aliases(stateMachineArn=machine_arn)["stateMachineAliases"] == []
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)  # no alias routes to it now


def _results_by_version(sfn, arns: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for arn in arns:
        version = sfn.describe_execution(executionArn=arn)["stateMachineVersionArn"]
        counts[version] = counts.get(version, 0) + 1
    return counts


def test_an_alias_starts_each_version_in_proportion_to_its_weight(sfn, machine_arn):
    v1 = sfn.publish_state_machine_version(stateMachineArn=machine_arn)["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=machine_arn, definition=_pass("v2"))
    v2 = sfn.publish_state_machine_version(stateMachineArn=machine_arn)["stateMachineVersionArn"]

    def routed(w1: int, w2: int, count: int) -> dict[str, int]:
        routing = [
            {"stateMachineVersionArn": v1, "weight": w1},
            {"stateMachineVersionArn": v2, "weight": w2},
        ]
        sfn.update_state_machine_alias(
            stateMachineAliasArn=f"{machine_arn}:live", routingConfiguration=routing
        )
        arns = [
            sfn.start_execution(stateMachineArn=f"{machine_arn}:live")["executionArn"]
            for _ in range(count)
        ]
        return _results_by_version(sfn, arns)

    sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )
    assert routed(100, 0, 10) == {v1: 10}
    assert routed(0, 100, 10) == {v2: 10}
    # 50/50 over 60 starts: each side at least 10 (a fair draw misses that once in 10^6 or so).
    split = routed(50, 50, 60)
    assert split[v1] >= 10 and split[v2] >= 10, split

    alias_started = sfn.list_executions(stateMachineArn=f"{machine_arn}:live")["executions"]
    assert len(alias_started) == 80
    assert {e["stateMachineAliasArn"] for e in alias_started} == {f"{machine_arn}:live"}
    on_v2 = sfn.list_executions(stateMachineArn=v2, maxResults=1000)["executions"]
    assert len(on_v2) == 10 + split[v2]
    plain = sfn.start_execution(stateMachineArn=machine_arn)["executionArn"]
    described = sfn.describe_execution(executionArn=plain)
    assert "stateMachineVersionArn" not in described and "stateMachineAliasArn" not in described


def test_an_execution_keeps_the_version_it_started_on(live_stages, sfn, machine_arn):
    sfn.update_state_machine(stateMachineArn=machine_arn, definition=_document("v1"))
    v1 = sfn.publish_state_machine_version(stateMachineArn=machine_arn)["stateMachineVersionArn"]
    arn = sfn.start_execution(stateMachineArn=v1, name="pinned")["executionArn"]
    execution = wait_for(
        lambda: Execution.objects.filter(name="pinned", stage=Execution.Stage.WAITING).first(),
        message="the callback wait",
    )
    updated = sfn.update_state_machine(
        stateMachineArn=machine_arn, definition=_document("v2"), publish=True
    )
    assert updated["stateMachineVersionArn"] == f"{machine_arn}:2"
    sfn.send_task_success(taskToken=open_token(execution, WAIT), output="{}")
    done = wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        message="the execution to end",
    )
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", "v1")
    assert done["stateMachineVersionArn"] == v1
    ran = sfn.describe_state_machine_for_execution(executionArn=arn)
    assert ran["stateMachineArn"] == machine_arn
    assert json.loads(ran["definition"])["States"]["Done"]["Result"] == "v1"
    latest = sfn.describe_state_machine(stateMachineArn=machine_arn)
    assert ran["revisionId"] != latest["revisionId"]


def test_versions_and_aliases_with_the_aws_cli(live_server, sfn_key, sfn, machine_arn):
    published = _cli(
        live_server, sfn_key, "publish-state-machine-version", "--state-machine-arn", machine_arn
    )
    assert published["stateMachineVersionArn"] == f"{machine_arn}:1"
    routing = json.dumps([{"stateMachineVersionArn": f"{machine_arn}:1", "weight": 100}])
    alias = _cli(
        live_server,
        sfn_key,
        *("create-state-machine-alias", "--name", "cli", "--routing-configuration", routing),
    )
    assert alias["stateMachineAliasArn"] == f"{machine_arn}:cli"
    started = _cli(
        live_server,
        sfn_key,
        "start-execution",
        "--state-machine-arn",
        alias["stateMachineAliasArn"],
    )
    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert described["stateMachineAliasArn"] == f"{machine_arn}:cli"
    assert described["stateMachineVersionArn"] == f"{machine_arn}:1"


def test_a_read_only_key_reads_versions_aliases_and_tags_but_changes_none(
    make_sfn, sfn, machine_arn
):
    from django.contrib.auth import get_user_model

    from stepfunctions.services.access_keys import access_key_create

    reader_key = access_key_create(
        user=get_user_model().objects.create_user(username="reader"), grants=["read"]
    )
    reader = make_sfn(reader_key)
    version = sfn.publish_state_machine_version(stateMachineArn=machine_arn)[
        "stateMachineVersionArn"
    ]
    routing = [{"stateMachineVersionArn": version, "weight": 100}]
    assert reader.list_state_machine_versions(stateMachineArn=machine_arn)["stateMachineVersions"]
    assert (
        reader.list_state_machine_aliases(stateMachineArn=machine_arn)["stateMachineAliases"] == []
    )
    assert reader.list_tags_for_resource(resourceArn=machine_arn)["tags"] == []
    assert reader.validate_state_machine_definition(definition=_pass("x"))["result"] == "OK"
    for call in (
        lambda: reader.publish_state_machine_version(stateMachineArn=machine_arn),
        lambda: reader.delete_state_machine_version(stateMachineVersionArn=version),
        lambda: reader.create_state_machine_alias(name="r", routingConfiguration=routing),
        lambda: reader.tag_resource(resourceArn=machine_arn, tags=[{"key": "a", "value": "b"}]),
        lambda: reader.untag_resource(resourceArn=machine_arn, tagKeys=["a"]),
    ):
        with pytest.raises(reader.exceptions.ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
