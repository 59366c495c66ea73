"""State machines and their definitions: create, update (a new version), load for running."""

import re

from django.db import IntegrityError, transaction

from stepfunctions import hooks, resources, selectors
from stepfunctions.arns import MACHINE_ARN_RE, arn_parse
from stepfunctions.errors import (
    InvalidDefinition,
    InvalidName,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
)
from stepfunctions.models import Execution, StateMachine, StateMachineVersion
from stepfunctions.services.express_definitions import express_definition_check
from stepfunctions.services.tags import tags_add, tags_forget
from stepfunctions.workflow import Definition, load_definition
from stepfunctions.workflow.diagnostics import Diagnostic, definition_check

# AWS: 1-80 characters, no whitespace, brackets, wildcards, punctuation or control characters.
_NAME_RE = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")

_loaded: dict[tuple, Definition] = {}


def name_validate(*, name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidName(f"Invalid Name: '{name}'")
    return name


def definition_diagnose(*, definition: str | dict) -> tuple[Definition | None, list[Diagnostic]]:
    """The checks of ValidateStateMachineDefinition, with the resources this engine knows."""
    return definition_check(definition, resource_known=resources.resource_known)


def definition_parse(*, definition: str | dict) -> dict:
    """Validates an ASL document with the engine; raises InvalidDefinition with the first ERROR
    diagnostic (its code, the state and field, and the location), as AWS words it."""
    loaded, diagnostics = definition_diagnose(definition=definition)
    if loaded is None:
        first = diagnostics[0]
        where = f" at {first.location}" if first.location else ""
        raise InvalidDefinition(
            f"Invalid State Machine Definition: '{first.code}: {first.message}{where}'"
        )
    return loaded.raw


def definition_for(*, version: StateMachineVersion) -> Definition:
    """The parsed definition of a version, parsed once per process (versions never change).
    Keyed by the row's id and the moment it was written: an id alone can name another row later
    (SQLite gives a deleted last row's id again)."""
    key = (version.pk, version.created_at)
    definition = _loaded.get(key)
    if definition is None:
        definition = load_definition(version.definition, resource_known=resources.resource_known)
        _loaded[key] = definition
    return definition


def state_machine_get(*, arn_or_name: str) -> StateMachine:
    name = arn_or_name
    if arn_or_name.startswith("arn:"):
        match = arn_parse(arn_or_name, pattern=MACHINE_ARN_RE, missing=StateMachineDoesNotExist)
        name = match["machine"]
    machine = selectors.state_machine_named(name=name)
    if machine is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn_or_name}'")
    return machine


def state_machine_create(
    *,
    name: str,
    definition: str | dict,
    role_arn: str | None = None,
    tags: list | None = None,
    type: str = StateMachine.Type.STANDARD,
    log_level: str = StateMachine.LogLevel.OFF,
) -> StateMachine:
    """Creates a state machine with revision 1, running as `role_arn` ($$.Execution.RoleArn;
    StateMachine.role_arn_default(name) when none is given), with its `tags`, of `type`
    (STANDARD or EXPRESS: an EXPRESS definition is refused what Express cannot run), its runs'
    history kept by `log_level` (StateMachine.history_keeps).

    Idempotent as CreateStateMachine is: the same name with the same definition, type and role
    (any role, when none is given) answers the existing machine (its tags as they are); another
    definition, type or role is refused.
    """
    name_validate(name=name)
    document = definition_parse(definition=definition)
    if type == StateMachine.Type.EXPRESS:
        express_definition_check(document=document)
    try:
        with transaction.atomic():
            machine = StateMachine.objects.create(
                name=name,
                role_arn=role_arn or StateMachine.role_arn_default(name),
                type=type,
                log_level=log_level,
            )
            StateMachineVersion.objects.create(state_machine=machine, number=1, definition=document)
            if tags:
                tags_add(resource_arn=machine.arn, tags=tags)
    except IntegrityError as error:
        existing = StateMachine.objects.filter(name=name).first()
        if (
            existing is not None
            and existing.latest_version.definition == document
            and existing.type == type
            and role_arn in (None, existing.role_arn)
        ):
            return existing
        raise StateMachineAlreadyExists(f"State Machine Already Exists: '{name}'") from error
    return machine


def state_machine_delete(*, state_machine: StateMachine) -> None:
    """Deletes the machine with its versions, executions, tokens and history; idempotent.

    AWS deletes asynchronously and stops running executions on their next transition; here it
    happens at once. A late callback for a removed execution's token answers InvalidToken, and a
    stage already queued for it finds no row and does nothing.
    """
    with transaction.atomic():
        locked = StateMachine.objects.select_for_update().filter(pk=state_machine.pk).first()
        if locked is None:
            return
        for execution in locked.executions.filter(status=Execution.Status.RUNNING):
            hooks.execution_closed(execution, hooks.DELETED)
        locked.executions.all().delete()
        tags_forget(resource_arn=locked.arn)
        locked.delete()


def state_machine_update(
    *,
    state_machine: StateMachine,
    definition: str | dict | None = None,
    role_arn: str | None = None,
    log_level: str | None = None,
) -> StateMachineVersion:
    """Adds a version for a new definition (executions already running keep the version they
    started with) and stores a new role (their next stages run as it, as on AWS) and logging
    level (the history an EXPRESS machine's runs keep from their next stage on)."""
    document = definition_parse(definition=definition) if definition is not None else None
    if document is not None and state_machine.express:
        express_definition_check(document=document)
    with transaction.atomic():
        locked = StateMachine.objects.select_for_update().get(pk=state_machine.pk)
        changed = {"role_arn": role_arn, "log_level": log_level}
        changed = {k: v for k, v in changed.items() if v is not None and v != getattr(locked, k)}
        if changed:
            for field, value in changed.items():
                setattr(locked, field, value)
            locked.save(update_fields=list(changed))
        latest = locked.latest_version
        if document is None or (latest is not None and latest.definition == document):
            return latest
        number = (latest.number if latest else 0) + 1
        return StateMachineVersion.objects.create(
            state_machine=locked, number=number, definition=document
        )
