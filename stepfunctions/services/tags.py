"""Tags on the API's resources, kept by resource ARN (stepfunctions.models.Tag), with AWS's limits:
at most 50 a resource, keys of 1 to 128 characters not beginning with `aws:` (AWS's own), values
of up to 256. ResourceNotFound and TooManyTags name the resource (`resourceName`), as AWS's do.

Which kinds of resource take tags is a registry (`taggable`): state machines register here; another
kind (activities) registers its own lookup, and the tags need nothing else of it.
"""

from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import QuerySet

from stepfunctions.arns import RESOURCE_ARN_RE, arn_parse
from stepfunctions.errors import ResourceNotFound, TooManyTags, ValidationException
from stepfunctions.models import Activity, StateMachine, Tag

MAX_TAGS = 50
MAX_KEY, MAX_VALUE = 128, 256
RESERVED_PREFIX = "aws:"  # AWS's own tags; no caller sets or removes one, whatever its case

# kind (as in the ARN) -> the rows of the resource of a name (one row, or none).
_TAGGABLE: dict[str, Callable[[str], QuerySet]] = {}


def taggable(kind: str, named: Callable[[str], QuerySet]) -> None:
    """Lets resources of `kind` (`arn:aws:states:<region>:<account>:<kind>:<name>`) take tags;
    `named(name)` is the resource's row. A change of tags holds that row locked, so a tag never
    outlives a resource deleted beside it (whose deletion calls tags_forget)."""
    _TAGGABLE[kind] = named


taggable("stateMachine", lambda name: StateMachine.objects.filter(name=name))
taggable("activity", lambda name: Activity.objects.filter(name=name))


def _resource_check(resource_arn: str, *, lock: bool) -> None:
    """InvalidArn for an ARN that names no resource here; ResourceNotFound for one that does
    not exist. With `lock`, its row is locked for the caller's transaction."""
    try:
        match = arn_parse(resource_arn, pattern=RESOURCE_ARN_RE, missing=ResourceNotFound)
    except ResourceNotFound as error:  # another account's: AWS names the resource all the same
        raise ResourceNotFound(error.message, resource_arn) from None
    named = _TAGGABLE.get(match["kind"])
    rows = named(match["name"]) if named is not None else None
    if rows is not None and lock:
        rows = rows.select_for_update()
    if rows is None or rows.values_list("pk", flat=True).first() is None:
        raise ResourceNotFound(f"Resource not found: '{resource_arn}'", resource_arn)


def _tags_check(tags: Iterable) -> dict[str, str]:
    """The tags as {key: value} (a key given twice: the last value), each within AWS's bounds."""
    checked: dict[str, str] = {}
    for i, tag in enumerate(tags):
        key = tag.get("key") if isinstance(tag, dict) else None
        value = tag.get("value", "") if isinstance(tag, dict) else None
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
            raise ValidationException(
                f"1 validation error detected: Value at 'tags.{i + 1}.member.key' failed to "
                f"satisfy constraint: Member must have length between 1 and {MAX_KEY}"
            )
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise ValidationException(
                f"1 validation error detected: Value at 'tags.{i + 1}.member.value' failed to "
                f"satisfy constraint: Member must have length less than or equal to {MAX_VALUE}"
            )
        if key.lower().startswith(RESERVED_PREFIX):
            raise ValidationException(_reserved(key, f"tags.{i + 1}.member.key"))
        checked[key] = value
    return checked


def _reserved(key: str, at: str) -> str:
    return (
        f"1 validation error detected: Value '{key}' at '{at}' failed to satisfy constraint: "
        f"Tag keys may not begin with '{RESERVED_PREFIX}' (any case): the prefix is reserved for "
        "AWS use"
    )


def tags_add(*, resource_arn: str, tags: Iterable) -> None:
    """Adds the tags (a key already there takes the new value), under the resource's row lock;
    more than 50 on the resource in all is TooManyTags, and nothing changes."""
    checked = _tags_check(tags)
    with transaction.atomic():
        _resource_check(resource_arn, lock=True)
        held = set(Tag.objects.filter(resource_arn=resource_arn).values_list("key", flat=True))
        if len(held | checked.keys()) > MAX_TAGS:
            raise TooManyTags(
                f"Too many tags: '{resource_arn}' would have {len(held | checked.keys())} "
                f"tags; a resource takes at most {MAX_TAGS}",
                resource_arn,
            )
        Tag.objects.filter(resource_arn=resource_arn, key__in=checked).delete()
        Tag.objects.bulk_create(
            Tag(resource_arn=resource_arn, key=key, value=value) for key, value in checked.items()
        )


def tags_remove(*, resource_arn: str, keys: Iterable[str]) -> None:
    """Removes the tags of these keys; a key the resource has not is no error, an `aws:` key
    is refused (ValidationException) and nothing is removed."""
    keys = list(keys)
    for i, key in enumerate(keys):
        if isinstance(key, str) and key.lower().startswith(RESERVED_PREFIX):
            raise ValidationException(_reserved(key, f"tagKeys.{i + 1}.member"))
    with transaction.atomic():
        _resource_check(resource_arn, lock=True)
        Tag.objects.filter(resource_arn=resource_arn, key__in=keys).delete()


def tags_of(*, resource_arn: str) -> list[Tag]:
    """The resource's tags by key; ResourceNotFound for a resource that does not exist."""
    _resource_check(resource_arn, lock=False)
    return list(Tag.objects.filter(resource_arn=resource_arn).order_by("key"))


def tags_forget(*, resource_arn: str) -> None:
    """Drops a deleted resource's tags (its deletion calls this in its own transaction)."""
    Tag.objects.filter(resource_arn=resource_arn).delete()
