"""One function per Step Functions operation: members in, a service or selector, members out.

Each receives the request's members (already checked against the service model by
stepfunctions.api.encoding) and returns the answer's members; datetimes are encoded by the protocol.
"""

from typing import Any

from django.utils import timezone

from stepfunctions import selectors, services
from stepfunctions.errors import InvalidArn, StateMachineDoesNotExist, ValidationException
from stepfunctions.models import Execution, StateMachine
from stepfunctions.services.state_machines import state_machine_delete

Members = dict[str, Any]


def _machine(arn: str) -> StateMachine:
    # The API names machines only by ARN; the management commands also accept a bare name.
    if not arn.startswith("arn:"):
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    return services.state_machine_get(arn_or_name=arn)


def _standard_only(members: Members) -> None:
    if members.get("type", "STANDARD") != "STANDARD":
        raise ValidationException("Only STANDARD state machines are supported by this endpoint")


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
    execution, _ = services.execution_start(
        state_machine=_machine(members["stateMachineArn"]),
        input=members.get("input", "{}"),
        name=members.get("name"),
    )
    return {"executionArn": execution.arn, "startDate": execution.start_date}


def describe_execution(members: Members) -> Members:
    return selectors.execution_describe(
        execution=selectors.execution_get(arn=members["executionArn"])
    )


def stop_execution(members: Members) -> Members:
    execution: Execution = services.execution_stop(
        execution=selectors.execution_get(arn=members["executionArn"]),
        error=members.get("error"),
        cause=members.get("cause"),
    )
    return {"stopDate": execution.stop_date or timezone.now()}


def list_executions(members: Members) -> Members:
    if "stateMachineArn" not in members:
        raise ValidationException("stateMachineArn is required (map runs are not supported)")
    return selectors.executions_list(
        state_machine=_machine(members["stateMachineArn"]),
        status_filter=members.get("statusFilter"),
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
    )


def get_execution_history(members: Members) -> Members:
    return selectors.execution_history(
        execution=selectors.execution_get(arn=members["executionArn"]),
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
        reverse_order=members.get("reverseOrder", False),
        include_execution_data=members.get("includeExecutionData", True),
    )


# --- State machines -----------------------------------------------------------------------------
def create_state_machine(members: Members) -> Members:
    _standard_only(members)
    machine = services.state_machine_create(name=members["name"], definition=members["definition"])
    return {"stateMachineArn": machine.arn, "creationDate": machine.created_at}


def update_state_machine(members: Members) -> Members:
    machine = _machine(members["stateMachineArn"])
    if "definition" in members:
        version = services.state_machine_update(
            state_machine=machine, definition=members["definition"]
        )
    elif {"roleArn", "loggingConfiguration", "tracingConfiguration"} & members.keys():
        # Nothing here uses a role, logging or tracing: accepted and left as they are.
        version = machine.latest_version
    else:
        raise ValidationException(
            "Either the definition, the role ARN, the LoggingConfiguration, or the "
            "TracingConfiguration must be specified"
        )
    return {"updateDate": version.created_at, "revisionId": str(version.number)}


def describe_state_machine(members: Members) -> Members:
    return selectors.state_machine_describe(state_machine=_machine(members["stateMachineArn"]))


def list_state_machines(members: Members) -> Members:
    return selectors.state_machines_list(
        max_results=members.get("maxResults"), next_token=members.get("nextToken")
    )


def delete_state_machine(members: Members) -> Members:
    arn = members["stateMachineArn"]
    try:
        machine = _machine(arn)
    except StateMachineDoesNotExist:
        # DeleteStateMachine models no StateMachineDoesNotExist: deleting twice succeeds.
        return {}
    state_machine_delete(state_machine=machine)
    return {}
