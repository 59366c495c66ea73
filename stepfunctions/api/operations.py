"""One function per Step Functions operation: members in, a service or selector, members out.

Each receives the request's members (already checked against the service model by
stepfunctions.api.encoding) and returns the answer's members; datetimes are encoded by the protocol.
"""

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from stepfunctions import selectors, services
from stepfunctions.api import map_runs, redrive, shapes, versions
from stepfunctions.api.paging import page, page_fetched
from stepfunctions.errors import (
    InvalidToken,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    ValidationException,
)
from stepfunctions.models import Execution
from stepfunctions.services.express import NOT_SUPPORTED

Members = dict[str, Any]


def _log_level(members: Members) -> str | None:
    """loggingConfiguration's level (no log group is written to: the level says which history
    events an EXPRESS machine's runs keep)."""
    return (members.get("loggingConfiguration") or {}).get("level")


# --- Callbacks ----------------------------------------------------------------------------------
def send_task_success(members: Members) -> Members:
    services.task_success(task_token=members["taskToken"], output=members["output"])
    return {}


def send_task_failure(members: Members) -> Members:
    services.task_failure(
        task_token=members["taskToken"], error=members.get("error"), cause=members.get("cause")
    )
    return {}


def send_task_heartbeat(members: Members) -> Members:
    services.task_heartbeat(task_token=members["taskToken"])
    return {}


# --- Executions ---------------------------------------------------------------------------------
def start_execution(members: Members) -> Members:
    # A version ARN starts that version; an alias ARN the version its routing draws.
    machine, version, qualifier = services.start_target(arn=members["stateMachineArn"])
    execution, _ = services.execution_start(
        state_machine=machine,
        input=members.get("input", "{}"),
        name=members.get("name"),
        version=version,
        qualifier=qualifier,
    )
    return {"executionArn": execution.arn, "startDate": execution.start_date}


def describe_execution(members: Members) -> Members:
    execution = selectors.execution_get(arn=members["executionArn"], with_version=False)
    answer = shapes.execution_describe(execution)
    if execution.group_id is not None:  # a map run's child: its ARNs and the run's
        answer = map_runs.child_described(answer, execution)
    return answer


def stop_execution(members: Members) -> Members:
    execution: Execution = services.execution_stop(
        execution=selectors.execution_get(arn=members["executionArn"]),
        error=members.get("error"),
        cause=members.get("cause"),
    )
    return {"stopDate": execution.stop_date or timezone.now()}


def _paged(member: str, items: list, next_token: str | None) -> Members:
    return {member: items, **({"nextToken": next_token} if next_token else {})}


def _started_before(value: str) -> Q:
    # Newest first: the rows after a (startDate, id) key are the older ones.
    start_date, _, pk = value.partition("|")
    start, pk = datetime.fromisoformat(start_date), uuid.UUID(pk)
    return Q(start_date__lt=start) | Q(start_date=start, pk__lt=pk)


def list_executions(members: Members) -> Members:
    if "mapRunArn" in members:  # a map run's children
        return map_runs.list_map_run_executions(members)
    if "stateMachineArn" not in members:
        raise ValidationException("Either a stateMachineArn or a mapRunArn is required")
    machine, started_as = versions.started_as(members["stateMachineArn"])
    if machine.express:  # AWS keeps no list of Express runs
        raise StateMachineTypeNotSupported(NOT_SUPPORTED)
    status = members.get("statusFilter")
    if status is not None and status not in Execution.Status.values:
        raise ValidationException(
            f"1 validation error detected: Value '{status}' at 'statusFilter' failed to "
            f"satisfy constraint: Member must satisfy enum value set: {Execution.Status.values}"
        )
    executions = selectors.executions_of(state_machine=machine, status=status)
    executions = redrive.redrive_filtered(executions, members.get("redriveFilter"))
    executions, next_token = page(
        executions if started_as is None else executions.filter(started_as),
        kind="executions",
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
        after=_started_before,
        key=lambda e: f"{e.start_date.isoformat()}|{e.pk}",
    )
    items = [shapes.execution_item(e, state_machine=machine) for e in executions]
    return _paged("executions", items, next_token)


def get_execution_history(members: Members) -> Members:
    arn = members["executionArn"]
    reverse = members.get("reverseOrder", False)

    def fetch(after: str | None, count: int) -> list:
        return selectors.history_page(
            arn=arn,
            reverse=reverse,
            after_event_id=None if after is None else int(after),
            limit=count,
        )

    try:
        events, next_token = page_fetched(
            fetch,
            kind="history",
            max_results=members.get("maxResults"),
            next_token=members.get("nextToken"),
            key=lambda e: str(e.event_id),
        )
    except InvalidToken:
        # An unknown execution is named first, as when it was looked up before the page.
        selectors.execution_id_get(arn=arn)
        raise
    if not events:
        # An unknown execution answers ExecutionDoesNotExist; a known one's page past its last
        # event is empty.
        selectors.execution_id_get(arn=arn)
    include = members.get("includeExecutionData", True)
    items = [shapes.history_event(e, include_data=include) for e in events]
    return _paged("events", items, next_token)


# --- State machines -----------------------------------------------------------------------------
def create_state_machine(members: Members) -> Members:
    publish = versions.publish_requested(members)
    machine = services.state_machine_create(
        name=members["name"],
        definition=members["definition"],
        role_arn=members["roleArn"],
        tags=members.get("tags"),
        type=members.get("type", "STANDARD"),
        log_level=_log_level(members) or "OFF",
    )
    version = None
    if publish:
        version = services.version_publish(
            state_machine=machine, description=members.get("versionDescription", "")
        )
    return {
        "stateMachineArn": machine.arn,
        "creationDate": machine.created_at,
        **versions.published(members, version),
    }


def update_state_machine(members: Members) -> Members:
    publish = versions.publish_requested(members)
    machine = versions.machine_unqualified(members["stateMachineArn"], "UpdateStateMachine")
    if {"definition", "roleArn", "loggingConfiguration"} & members.keys():
        version = services.state_machine_update(
            state_machine=machine,
            definition=members.get("definition"),
            role_arn=members.get("roleArn"),
            log_level=_log_level(members),
        )
    elif "tracingConfiguration" in members:
        # Nothing here traces as AWS does: accepted and left as it is.
        version = machine.latest_version
    else:
        raise ValidationException(
            "Either the definition, the role ARN, the LoggingConfiguration, or the "
            "TracingConfiguration must be specified"
        )
    published = None
    if publish:
        # This update's revision only: another update since is a ConflictException.
        published = services.version_publish(
            state_machine=machine,
            revision_id=str(version.number),
            description=members.get("versionDescription", ""),
        )
    return {
        "updateDate": version.created_at,
        "revisionId": str(version.number),
        **versions.published(members, published),
    }


def describe_state_machine(members: Members) -> Members:
    machine, version = versions.machine_at(members["stateMachineArn"])
    return shapes.state_machine_describe(machine, version=version)


def list_state_machines(members: Members) -> Members:
    machines, next_token = page(
        selectors.state_machines(),
        kind="machines",
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
        after=lambda name: Q(name__gt=name),
        key=lambda m: m.name,
    )
    return _paged("stateMachines", [shapes.state_machine_item(m) for m in machines], next_token)


def delete_state_machine(members: Members) -> Members:
    arn = members["stateMachineArn"]
    try:
        machine = versions.machine_unqualified(arn, "DeleteStateMachine")
    except StateMachineDoesNotExist:
        # DeleteStateMachine models no StateMachineDoesNotExist: deleting twice succeeds.
        return {}
    services.state_machine_delete(state_machine=machine)
    return {}
