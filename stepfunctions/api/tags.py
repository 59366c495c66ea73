"""TagResource, UntagResource and ListTagsForResource: members in, the tag services, members out."""

from typing import Any

from stepfunctions.services import tags

Members = dict[str, Any]


def tag_resource(members: Members) -> Members:
    tags.tags_add(resource_arn=members["resourceArn"], tags=members["tags"])
    return {}


def untag_resource(members: Members) -> Members:
    tags.tags_remove(resource_arn=members["resourceArn"], keys=members["tagKeys"])
    return {}


def list_tags_for_resource(members: Members) -> Members:
    found = tags.tags_of(resource_arn=members["resourceArn"])
    return {"tags": [{"key": tag.key, "value": tag.value} for tag in found]}
