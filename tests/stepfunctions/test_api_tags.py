"""Tags through boto3 and the aws CLI on the live server: TagResource, UntagResource,
ListTagsForResource and CreateStateMachine's tags, with AWS's limits and errors."""

import json

import pytest

from stepfunctions.models import Tag
from tests.conftest import aws_cli

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/unused"
PASS_ONLY = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def _tags(sfn, arn: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}


def test_tags_on_a_state_machine(sfn):
    arn = sfn.create_state_machine(
        name="Tagged",
        definition=PASS_ONLY,
        roleArn=ROLE,
        tags=[{"key": "team", "value": "bar"}, {"key": "env", "value": ""}],
    )["stateMachineArn"]
    assert _tags(sfn, arn) == {"team": "bar", "env": ""}

    sfn.tag_resource(
        resourceArn=arn, tags=[{"key": "team", "value": "kitchen"}, {"key": "k", "value": "v"}]
    )
    assert _tags(sfn, arn) == {"team": "kitchen", "env": "", "k": "v"}
    sfn.untag_resource(resourceArn=arn, tagKeys=["env", "absent"])
    assert _tags(sfn, arn) == {"team": "kitchen", "k": "v"}

    # 50 a resource: 48 more make 50; one more is TooManyTags, and nothing changes.
    sfn.tag_resource(resourceArn=arn, tags=[{"key": f"t{i}", "value": "x"} for i in range(48)])
    with pytest.raises(sfn.exceptions.TooManyTags):
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": "x"}])
    assert len(_tags(sfn, arn)) == 50
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "t0", "value": "again"}])  # replaces
    assert _tags(sfn, arn)["t0"] == "again"

    # (botocore checks lower bounds itself; the upper ones are the server's.)
    for bad in ({"key": "k" * 129, "value": "x"}, {"key": "k", "value": "v" * 257}):
        with pytest.raises(sfn.exceptions.ValidationException):
            sfn.tag_resource(resourceArn=arn, tags=[bad])
    assert len(_tags(sfn, arn)) == 50

    missing = arn.replace(":Tagged", ":Nope")
    for call in (
        lambda: sfn.tag_resource(resourceArn=missing, tags=[{"key": "a", "value": "b"}]),
        lambda: sfn.untag_resource(resourceArn=missing, tagKeys=["a"]),
        lambda: sfn.list_tags_for_resource(resourceArn=missing),
    ):
        with pytest.raises(sfn.exceptions.ResourceNotFound):
            call()
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.list_tags_for_resource(resourceArn="not-an-arn")

    sfn.delete_state_machine(stateMachineArn=arn)
    assert not Tag.objects.filter(resource_arn=arn).exists()


def test_too_many_tags_at_creation_creates_nothing(sfn):
    with pytest.raises(sfn.exceptions.TooManyTags):
        sfn.create_state_machine(
            name="Overtagged",
            definition=PASS_ONLY,
            roleArn=ROLE,
            tags=[{"key": f"t{i}", "value": "x"} for i in range(51)],
        )
    names = {m["name"] for m in sfn.list_state_machines()["stateMachines"]}
    assert "Overtagged" not in names


def test_tag_resource_with_the_aws_cli(live_server, sfn_key, sfn):
    arn = sfn.create_state_machine(name="CliTagged", definition=PASS_ONLY, roleArn=ROLE)[
        "stateMachineArn"
    ]
    done = aws_cli(
        live_server, sfn_key, "tag-resource", "--resource-arn", arn, "--tags", "key=team,value=bar"
    )
    assert done.returncode == 0, done.stderr
    listed = aws_cli(live_server, sfn_key, "list-tags-for-resource", "--resource-arn", arn)
    assert json.loads(listed.stdout)["tags"] == [{"key": "team", "value": "bar"}]
    done = aws_cli(
        live_server, sfn_key, "untag-resource", "--resource-arn", arn, "--tag-keys", "team"
    )
    assert done.returncode == 0, done.stderr
    assert _tags(sfn, arn) == {}


def test_tag_errors_name_the_resource_and_aws_keys_are_refused(sfn):
    arn = sfn.create_state_machine(name="Named", definition=PASS_ONLY, roleArn=ROLE)[
        "stateMachineArn"
    ]
    missing = arn.replace(":Named", ":Nope")
    with pytest.raises(sfn.exceptions.ResourceNotFound) as refused:
        sfn.list_tags_for_resource(resourceArn=missing)
    assert refused.value.response["resourceName"] == missing
    sfn.tag_resource(resourceArn=arn, tags=[{"key": f"t{i}", "value": "x"} for i in range(50)])
    with pytest.raises(sfn.exceptions.TooManyTags) as refused:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": "x"}])
    assert refused.value.response["resourceName"] == arn

    # `aws:` (any case) is AWS's own prefix: neither set nor removed, and nothing changes.
    for key in ("aws:team", "AWS:Team"):
        with pytest.raises(sfn.exceptions.ValidationException, match="aws:"):
            sfn.tag_resource(resourceArn=arn, tags=[{"key": "t0", "value": "y"}, {"key": key}])
        with pytest.raises(sfn.exceptions.ValidationException, match="aws:"):
            sfn.untag_resource(resourceArn=arn, tagKeys=["t0", key])
    assert _tags(sfn, arn)["t0"] == "x" and len(_tags(sfn, arn)) == 50
