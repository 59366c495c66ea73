"""A state machine's published versions and its aliases, as the API has them.

A machine's revisions are its StateMachineVersion rows: every update that changes the definition
adds one, and the newest is what the unqualified machine ARN runs (AWS's $LATEST; its `number` is
the revisionId). Publishing gives the latest revision the machine's next version number
(`<machine arn>:<n>`, numbers never given twice); deleting a version takes its number away, and
the revision stays for the executions that ran it. An alias (`<machine arn>:<name>`) routes each
StartExecution to one of one or two versions by weight.

Every change here holds the machine's row lock: a version is never deleted beside an alias that
starts routing to it, and two publishes never take the same number.
"""

import random
import re
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from stepfunctions import selectors
from stepfunctions.arns import QUALIFIED_MACHINE_ARN_RE, arn_parse
from stepfunctions.errors import (
    ConflictException,
    InvalidArn,
    InvalidName,
    MissingRequiredParameter,
    ResourceNotFound,
    ServiceError,
    ServiceQuotaExceededException,
    StateMachineDoesNotExist,
    ValidationException,
)
from stepfunctions.models import StateMachine, StateMachineAlias, StateMachineVersion
from stepfunctions.services.state_machines import name_validate

MAX_VERSIONS = 1000
MAX_ALIASES = 100
_NUMBER = re.compile(r"[0-9]+")


def is_version_number(qualifier: str | None) -> bool:
    return qualifier is not None and _NUMBER.fullmatch(qualifier) is not None


def qualified_get(
    *, arn: str, missing: type[ServiceError] = StateMachineDoesNotExist
) -> tuple[StateMachine, str | None]:
    """The machine an ARN names, and what follows it (a version number, an alias name, None)."""
    match = arn_parse(arn, pattern=QUALIFIED_MACHINE_ARN_RE, missing=missing)
    machine = selectors.state_machine_named(name=match["machine"])
    if machine is None:
        raise missing(f"State Machine Does Not Exist: '{arn}'")
    return machine, match["qualifier"]


def version_get(
    *,
    state_machine: StateMachine,
    number: int,
    missing: type[ServiceError] = StateMachineDoesNotExist,
) -> StateMachineVersion:
    version = selectors.version_published(state_machine=state_machine, number=number)
    if version is None:
        raise missing(f"State Machine Version Does Not Exist: '{state_machine.arn}:{number}'")
    return version


def _locked(state_machine: StateMachine) -> StateMachine:
    locked = StateMachine.objects.select_for_update().filter(pk=state_machine.pk).first()
    if locked is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{state_machine.arn}'")
    return locked


def version_publish(
    *, state_machine: StateMachine, revision_id: str | None = None, description: str = ""
) -> StateMachineVersion:
    """Publishes the latest revision as the machine's next version number.

    Idempotent: a latest revision already published answers its version. A `revision_id` that
    is not the latest revision's is ConflictException (the machine changed since the caller
    read it); past 1000 versions, ServiceQuotaExceededException.
    """
    with transaction.atomic():
        locked = _locked(state_machine)
        latest = locked.latest_version
        if revision_id is not None and revision_id != str(latest.number):
            raise ConflictException(
                f"Failed to publish the State Machine version for revision {revision_id}. "
                f"The current State Machine revision is {latest.number}."
            )
        if latest.published_number is not None:
            return latest
        if locked.versions.filter(published_number__isnull=False).count() >= MAX_VERSIONS:
            raise ServiceQuotaExceededException(
                f"The state machine '{locked.arn}' has {MAX_VERSIONS} versions, the most it may "
                "have: delete some before publishing another"
            )
        number = locked.versions_published + 1
        StateMachine.objects.filter(pk=locked.pk).update(versions_published=number)
        now = timezone.now()
        StateMachineVersion.objects.filter(pk=latest.pk).update(
            published_number=number, published_at=now, description=description
        )
        latest.published_number, latest.published_at = number, now
        latest.description = description
        latest.state_machine = locked
        return latest


def version_delete(*, state_machine: StateMachine, number: int) -> None:
    """Takes the version's number away (idempotent: an unknown version is no error); its
    revision stays, and executions running it go on. Refused (ConflictException) while an
    alias routes to it."""
    with transaction.atomic():
        locked = _locked(state_machine)
        version = locked.versions.filter(published_number=number).first()
        if version is None:
            return
        routing = sorted(a.name for a in locked.aliases.all() if a.routes_to(number))
        if routing:
            raise ConflictException(
                "Version to be deleted must not be referenced by an alias. Current list of "
                f"aliases referencing this version: [{', '.join(routing)}]"
            )
        StateMachineVersion.objects.filter(pk=version.pk).update(
            published_number=None, published_at=None, description=""
        )


def _routing_parse(*, state_machine: StateMachine, routing: list) -> list[list[int]]:
    """[[version number, weight], ...] of a routingConfiguration: one or two distinct published
    versions of this machine, with weights from 0 to 100 that sum to 100 (AWS's messages)."""
    if not isinstance(routing, list) or not 1 <= len(routing) <= 2:
        raise ValidationException(
            "1 validation error detected: Value at 'routingConfiguration' failed to satisfy "
            "constraint: Member must have length between 1 and 2"
        )
    arns = [e.get("stateMachineVersionArn") if isinstance(e, dict) else None for e in routing]
    received = f"Received: [{', '.join(map(str, arns))}]"
    parsed: list[list[int]] = []
    for entry in routing:
        arn = entry.get("stateMachineVersionArn") if isinstance(entry, dict) else None
        weight = entry.get("weight") if isinstance(entry, dict) else None
        if not isinstance(arn, str) or type(weight) is not int or not 0 <= weight <= 100:
            raise ValidationException(
                "Each routingConfiguration entry needs a stateMachineVersionArn and an integer "
                "weight from 0 to 100"
            )
        machine, qualifier = qualified_get(arn=arn, missing=ResourceNotFound)
        not_a_version = ValidationException(
            f"Routing configuration must contain state machine version ARNs. {received}"
        )
        if machine.pk != state_machine.pk or not is_version_number(qualifier):
            raise not_a_version
        if selectors.version_published(state_machine=state_machine, number=int(qualifier)) is None:
            raise not_a_version
        parsed.append([int(qualifier), weight])
    if len({number for number, _ in parsed}) != len(parsed):
        raise ValidationException(
            f"Routing configuration must contain distinct state machine version ARNs. {received}"
        )
    weights = [weight for _, weight in parsed]
    if sum(weights) != 100:
        raise ValidationException(
            f"Sum of routing configuration weights must equal 100. Received: {weights}"
        )
    return parsed


def alias_create(
    *, state_machine: StateMachine, name: str, routing: list, description: str = ""
) -> StateMachineAlias:
    """Creates the alias. Idempotent: an alias of this name set the same way is answered as it
    is; one set otherwise is ConflictException. A name of digits only is refused (it would read
    as a version number)."""
    name_validate(name=name)
    if is_version_number(name):
        raise InvalidName(f"Invalid Name: '{name}': an alias name cannot be a number")
    with transaction.atomic():
        locked = _locked(state_machine)
        parsed = _routing_parse(state_machine=locked, routing=routing)
        existing = locked.aliases.filter(name=name).first()
        if existing is not None:
            if existing.routing == parsed and existing.description == description:
                return existing
            raise ConflictException(
                "Failed to create alias because an alias with the same name and a different "
                "routing configuration already exists."
            )
        if locked.aliases.count() >= MAX_ALIASES:
            raise ServiceQuotaExceededException(
                f"The state machine '{locked.arn}' has {MAX_ALIASES} aliases, the most it may have"
            )
        return StateMachineAlias.objects.create(
            state_machine=locked, name=name, routing=parsed, description=description
        )


def alias_get(*, arn: str) -> StateMachineAlias:
    """The alias an ARN names: InvalidArn for an ARN that names no alias, ResourceNotFound for
    an alias (or machine) that does not exist."""
    machine, qualifier = qualified_get(arn=arn, missing=ResourceNotFound)
    if qualifier is None or is_version_number(qualifier):
        raise InvalidArn(f"Invalid Arn: '{arn}': not a state machine alias ARN")
    alias = machine.aliases.filter(name=qualifier).first()
    if alias is None:
        raise ResourceNotFound(f"Resource not found: '{arn}'")
    alias.state_machine = machine
    return alias


def alias_update(
    *, alias: StateMachineAlias, description: str | None = None, routing: list | None = None
) -> StateMachineAlias:
    """Changes the alias's routing and/or description; executions already started keep the
    version they were routed to."""
    if description is None and routing is None:
        raise MissingRequiredParameter(
            "Either the description or the RoutingConfiguration must be specified"
        )
    with transaction.atomic():
        locked = _locked(alias.state_machine)
        row = StateMachineAlias.objects.filter(pk=alias.pk).first()
        if row is None:
            raise ResourceNotFound("Request references a resource that does not exist.")
        if routing is not None:
            row.routing = _routing_parse(state_machine=locked, routing=routing)
        if description is not None:
            row.description = description
        row.save()
        row.state_machine = locked
        return row


def alias_delete(*, alias: StateMachineAlias) -> None:
    """Deletes the alias; executions it started go on with their version."""
    with transaction.atomic():
        _locked(alias.state_machine)
        StateMachineAlias.objects.filter(pk=alias.pk).delete()


def alias_route(*, alias: StateMachineAlias, draw: Callable[[], float] = random.random) -> int:
    """The version number one start goes to: each version's chance is its weight in 100
    (`draw` is a number in [0, 1), random unless a test gives its own)."""
    point = draw() * 100
    for number, weight in alias.routing:
        if point < weight:
            return number
        point -= weight
    return next(number for number, weight in reversed(alias.routing) if weight > 0)


def start_target(
    *, arn: str, draw: Callable[[], float] = random.random
) -> tuple[StateMachine, StateMachineVersion | None, str]:
    """What StartExecution's ARN starts: the machine, the version (None: its latest revision),
    and the execution's qualifier ("" / "3" / "prod:3", stepfunctions.models.Execution)."""
    machine, qualifier = qualified_get(arn=arn)
    if qualifier is None:
        return machine, None, ""
    if is_version_number(qualifier):
        return machine, version_get(state_machine=machine, number=int(qualifier)), qualifier
    alias = machine.aliases.filter(name=qualifier).first()
    if alias is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    number = alias_route(alias=alias, draw=draw)
    return machine, version_get(state_machine=machine, number=number), f"{qualifier}:{number}"
