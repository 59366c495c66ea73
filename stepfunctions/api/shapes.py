"""The API's response shapes for the engine's rows (datetimes left for the protocol to encode)."""

import json
from typing import Any

from django.utils import timezone

from stepfunctions import selectors
from stepfunctions.models import Execution, HistoryEvent, StateMachine, StateMachineVersion
from stepfunctions.services import execution_redrive_status

# What AWS answers for a machine without X-Ray tracing (nothing here traces).
NO_TRACING = {"enabled": False}


def started_on(execution: Execution, *, machine_arn: str) -> dict[str, Any]:
    """stateMachineVersionArn / stateMachineAliasArn of an execution started on a version or
    through an alias (Execution.qualifier: "3" or "prod:3"); nothing for one started on the
    machine itself."""
    if not execution.qualifier:
        return {}
    alias, _, number = execution.qualifier.rpartition(":")
    return {
        "stateMachineVersionArn": f"{machine_arn}:{number}",
        **({"stateMachineAliasArn": f"{machine_arn}:{alias}"} if alias else {}),
    }


def execution_describe(execution: Execution) -> dict[str, Any]:
    """DescribeExecution's answer."""
    answer: dict[str, Any] = {
        "executionArn": execution.arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": execution.start_date,
        "input": json.dumps(execution.input),
        "inputDetails": {"included": True},
        **started_on(execution, machine_arn=execution.state_machine.arn),
    }
    if execution.stop_date:
        answer["stopDate"] = execution.stop_date
    if execution.status == Execution.Status.SUCCEEDED:
        answer["output"] = json.dumps(execution.output)
        answer["outputDetails"] = {"included": True}
    if execution.error:
        answer["error"] = execution.error
    if execution.cause:
        answer["cause"] = execution.cause
    answer.update(redrive_members(execution, status=True))
    return answer


def redrive_members(execution: Execution, *, status: bool = False) -> dict[str, Any]:
    """redriveCount, redriveDate once redriven, and with `status` (DescribeExecution's)
    redriveStatus, with redriveStatusReason when it is NOT_REDRIVABLE."""
    members: dict[str, Any] = {"redriveCount": execution.redrive_count}
    if execution.redrive_date is not None:
        members["redriveDate"] = execution.redrive_date
    if status:
        members["redriveStatus"], reason = execution_redrive_status(
            execution=execution, now=timezone.now()
        )
        if reason is not None:
            members["redriveStatusReason"] = reason
    return members


def execution_item(execution: Execution, *, state_machine: StateMachine) -> dict[str, Any]:
    """One execution as ListExecutions lists it."""
    return {
        "executionArn": execution.arn,
        "stateMachineArn": state_machine.arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": execution.start_date,
        **({"stopDate": execution.stop_date} if execution.stop_date else {}),
        **started_on(execution, machine_arn=state_machine.arn),
        **redrive_members(execution),
    }


def _details_member(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def history_event(event: HistoryEvent, *, include_data: bool = True) -> dict[str, Any]:
    """One event as GetExecutionHistory gives it."""
    shaped: dict[str, Any] = {
        "timestamp": event.timestamp,
        "type": event.type,
        "id": event.event_id,
        "previousEventId": event.previous_event_id,
    }
    details = dict(event.details)
    if not include_data:
        for key in ("input", "output", "parameters"):
            details.pop(key, None)
    if details or event.type.endswith(("Entered", "Exited")):
        shaped[_details_member(event.type)] = details
    return shaped


def state_machine_describe(
    state_machine: StateMachine, *, version: StateMachineVersion | None = None
) -> dict[str, Any]:
    """DescribeStateMachine's answer: of the latest revision, or of a published `version` (its
    ARN, definition, description and publication date). The project runs no IAM: roleArn is
    the role given at creation (or since), kept for $$.Execution.RoleArn and for tools."""
    shown = version or state_machine.latest_version
    answer = {
        "stateMachineArn": version.arn if version else state_machine.arn,
        "name": state_machine.name,
        "status": "ACTIVE",
        "definition": json.dumps(shown.definition, indent=2),
        "roleArn": state_machine.role_arn,
        "type": state_machine.type,
        "creationDate": version.published_at if version else state_machine.created_at,
        "revisionId": str(shown.number),
        "loggingConfiguration": {"level": state_machine.log_level, "includeExecutionData": False},
        "tracingConfiguration": NO_TRACING,
    }
    if version is not None and version.description:
        answer["description"] = version.description
    return answer


def state_machine_for_execution(execution: Execution) -> dict[str, Any]:
    """DescribeStateMachineForExecution's answer: the machine as the execution runs it (the
    version it started on, whatever came since); for a map run's child, the labelled machine
    with the run's ARN and label."""
    machine, version = execution.state_machine, execution.version
    answer = {
        "stateMachineArn": machine.arn,
        "name": machine.name,
        "definition": json.dumps(version.definition, indent=2),
        "roleArn": machine.role_arn,
        "updateDate": version.created_at,
        "revisionId": str(version.number),
        "loggingConfiguration": {"level": machine.log_level, "includeExecutionData": False},
        "tracingConfiguration": NO_TRACING,
    }
    map_run = selectors.map_run_of_child(execution=execution)
    if map_run is not None:
        answer["stateMachineArn"] = map_run.state_machine_arn
        answer["mapRunArn"] = map_run.arn
        answer["label"] = map_run.label
    return answer


def state_machine_item(state_machine: StateMachine) -> dict[str, Any]:
    """One machine as ListStateMachines lists it."""
    return {
        "stateMachineArn": state_machine.arn,
        "name": state_machine.name,
        "type": state_machine.type,
        "creationDate": state_machine.created_at,
    }


def sync_execution(
    execution: Execution, *, billed_milliseconds: int, with_data: bool = True
) -> dict[str, Any]:
    """StartSyncExecution's answer for an ended EXPRESS run (`with_data`: its input and output,
    includedData ALL_DATA; METADATA_ONLY leaves them out)."""
    machine_arn = execution.state_machine.arn
    answer: dict[str, Any] = {
        "executionArn": execution.arn,
        "stateMachineArn": machine_arn,
        "name": execution.api_name,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date,
        "status": execution.status,
        "inputDetails": {"included": with_data},
        "billingDetails": {
            # AWS bills memory in 64 MB steps; nothing here measures a run's memory.
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": billed_milliseconds,
        },
    }
    if with_data:
        answer["input"] = json.dumps(execution.input)
    if execution.status == Execution.Status.SUCCEEDED:
        answer["outputDetails"] = {"included": with_data}
        if with_data:
            answer["output"] = json.dumps(execution.output)
    if execution.error:
        answer["error"] = execution.error
    if execution.cause:
        answer["cause"] = execution.cause
    return answer
