"""The operations on a state machine's versions and aliases, and DescribeStateMachineForExecution:
members in, a service or selector, members out (as stepfunctions.api.operations)."""

from typing import Any

from django.db.models import Q

from stepfunctions import selectors
from stepfunctions.api import shapes
from stepfunctions.api.paging import page
from stepfunctions.errors import (
    InvalidArn,
    ResourceNotFound,
    StateMachineDoesNotExist,
    ValidationException,
)
from stepfunctions.models import StateMachine, StateMachineVersion
from stepfunctions.services import versions

Members = dict[str, Any]


def _paged(member: str, items: list, next_token: str | None) -> Members:
    return {member: items, **({"nextToken": next_token} if next_token else {})}


def machine_unqualified(arn: str, operation: str) -> StateMachine:
    """The machine of an ARN that must name the machine itself (not a version or an alias)."""
    machine, qualifier = versions.qualified_get(arn=arn)
    if qualifier is not None:
        raise ValidationException(
            f"{operation} takes a state machine ARN, not a version or alias ARN: '{arn}'"
        )
    return machine


def machine_at(arn: str) -> tuple[StateMachine, StateMachineVersion | None]:
    """DescribeStateMachine's machine, and the version its ARN names (None: the machine)."""
    machine, qualifier = versions.qualified_get(arn=arn)
    if qualifier is None:
        return machine, None
    if not versions.is_version_number(qualifier):
        # An alias is no state machine (DescribeStateMachineAlias describes it).
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    return machine, versions.version_get(state_machine=machine, number=int(qualifier))


def started_as(arn: str) -> tuple[StateMachine, Q | None]:
    """ListExecutions' machine, and for a version or alias ARN which executions it lists: those
    started on that version (by its ARN or through an alias), or through that alias."""
    machine, qualifier = versions.qualified_get(arn=arn)
    if qualifier is None:
        return machine, None
    if versions.is_version_number(qualifier):
        versions.version_get(state_machine=machine, number=int(qualifier), missing=ResourceNotFound)
        return machine, Q(qualifier=qualifier) | Q(qualifier__endswith=f":{qualifier}")
    versions.alias_get(arn=arn)
    return machine, Q(qualifier__startswith=f"{qualifier}:")


def published(members: Members, version: StateMachineVersion | None) -> Members:
    """Create/UpdateStateMachine's `publish`: the version ARN it gave, in the answer."""
    return {"stateMachineVersionArn": version.arn} if version is not None else {}


def publish_requested(members: Members) -> bool:
    if "versionDescription" in members and not members.get("publish"):
        raise ValidationException("Version description can only be set when publish is true")
    return bool(members.get("publish"))


# --- Versions -----------------------------------------------------------------------------------
def publish_state_machine_version(members: Members) -> Members:
    machine = machine_unqualified(members["stateMachineArn"], "PublishStateMachineVersion")
    version = versions.version_publish(
        state_machine=machine,
        revision_id=members.get("revisionId"),
        description=members.get("description", ""),
    )
    return {"creationDate": version.published_at, "stateMachineVersionArn": version.arn}


def list_state_machine_versions(members: Members) -> Members:
    machine = machine_unqualified(members["stateMachineArn"], "ListStateMachineVersions")
    rows, next_token = page(
        selectors.versions_published(state_machine=machine),
        kind="versions",
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
        after=lambda number: Q(published_number__lt=int(number)),
        key=lambda v: str(v.published_number),
    )
    items = [
        {
            "stateMachineVersionArn": f"{machine.arn}:{v.published_number}",
            "creationDate": v.published_at,
        }
        for v in rows
    ]
    return _paged("stateMachineVersions", items, next_token)


def delete_state_machine_version(members: Members) -> Members:
    arn = members["stateMachineVersionArn"]
    machine, qualifier = versions.qualified_get(arn=arn)
    if not versions.is_version_number(qualifier):
        raise ValidationException(f"'{arn}' is not a state machine version ARN")
    versions.version_delete(state_machine=machine, number=int(qualifier))
    return {}


# --- Aliases ------------------------------------------------------------------------------------
def _alias_machine(members: Members) -> StateMachine:
    """The machine of CreateStateMachineAlias's routing (the first version ARN's)."""
    routing = members["routingConfiguration"]
    first = (
        routing[0].get("stateMachineVersionArn")
        if routing and isinstance(routing[0], dict)
        else None
    )
    if not isinstance(first, str):
        raise ValidationException("routingConfiguration needs a stateMachineVersionArn")
    machine, _ = versions.qualified_get(arn=first, missing=ResourceNotFound)
    return machine


def create_state_machine_alias(members: Members) -> Members:
    alias = versions.alias_create(
        state_machine=_alias_machine(members),
        name=members["name"],
        routing=members["routingConfiguration"],
        description=members.get("description", ""),
    )
    return {"stateMachineAliasArn": alias.arn, "creationDate": alias.created_at}


def _routing(routing: list) -> list[Members]:
    return [{"stateMachineVersionArn": arn, "weight": weight} for arn, weight in routing]


def describe_state_machine_alias(members: Members) -> Members:
    alias = versions.alias_get(arn=members["stateMachineAliasArn"])
    machine_arn = alias.state_machine.arn
    return {
        "stateMachineAliasArn": alias.arn,
        "name": alias.name,
        **({"description": alias.description} if alias.description else {}),
        "routingConfiguration": _routing([(f"{machine_arn}:{n}", w) for n, w in alias.routing]),
        "creationDate": alias.created_at,
        "updateDate": alias.updated_at,
    }


def update_state_machine_alias(members: Members) -> Members:
    alias = versions.alias_update(
        alias=versions.alias_get(arn=members["stateMachineAliasArn"]),
        description=members.get("description"),
        routing=members.get("routingConfiguration"),
    )
    return {"updateDate": alias.updated_at}


def delete_state_machine_alias(members: Members) -> Members:
    versions.alias_delete(alias=versions.alias_get(arn=members["stateMachineAliasArn"]))
    return {}


def list_state_machine_aliases(members: Members) -> Members:
    arn = members["stateMachineArn"]
    machine, qualifier = versions.qualified_get(arn=arn, missing=ResourceNotFound)
    if qualifier is not None and not versions.is_version_number(qualifier):
        raise InvalidArn(f"Invalid Arn: '{arn}': a state machine or version ARN is required")
    rows = selectors.aliases_of(state_machine=machine)
    if qualifier is not None:
        number = int(qualifier)
        versions.version_get(state_machine=machine, number=number, missing=ResourceNotFound)
        # The aliases routing to this version (one page: a machine has at most 100 aliases).
        rows = rows.filter(pk__in=[a.pk for a in rows if a.routes_to(number)])
    aliases, next_token = page(
        rows,
        kind="aliases",
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
        after=lambda name: Q(name__gt=name),
        key=lambda a: a.name,
    )
    items = [
        {"stateMachineAliasArn": f"{machine.arn}:{a.name}", "creationDate": a.created_at}
        for a in aliases
    ]
    return _paged("stateMachineAliases", items, next_token)


# --- Executions ---------------------------------------------------------------------------------
def describe_state_machine_for_execution(members: Members) -> Members:
    """The machine as the execution runs it: the version it started on, whatever came since."""
    return shapes.state_machine_for_execution(selectors.execution_get(arn=members["executionArn"]))
