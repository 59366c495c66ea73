"""Reads shaped as the Step Functions API answers them (datetimes left for the caller to encode)."""

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q

from stepfunctions.errors import (
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidToken,
    ValidationException,
)
from stepfunctions.models import Execution, HistoryEvent, StateMachine

_EXECUTION_ARN_RE = re.compile(
    r"^arn:aws:states:[a-z0-9-]+:\d{12}:execution:(?P<machine>[^:]+):(?P<name>[^:]+)$"
)


def execution_get(*, arn: str) -> Execution:
    match = _EXECUTION_ARN_RE.match(arn or "")
    if not match:
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    execution = (
        Execution.objects.select_related("state_machine", "version")
        .filter(state_machine__name=match["machine"], name=match["name"])
        .first()
    )
    if execution is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return execution


def execution_describe(*, execution: Execution) -> dict[str, Any]:
    """DescribeExecution's answer."""

    answer: dict[str, Any] = {
        "executionArn": execution.arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": execution.start_date,
        "input": json.dumps(execution.input),
        "inputDetails": {"included": True},
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
    return answer


def _details_member(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def history_event_shape(event: HistoryEvent, *, include_data: bool = True) -> dict[str, Any]:
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


def _page_token(after: Any, *, kind: str = "history") -> str:
    return base64.urlsafe_b64encode(f"{kind}:{after}".encode()).decode()


def _page_value(next_token: str | None, *, kind: str, parse: Callable[[str], Any]) -> Any:
    """What a nextToken of this kind was made from; InvalidToken for any other token."""
    if not next_token:
        return None
    try:
        found, _, after = base64.urlsafe_b64decode(next_token.encode()).decode().partition(":")
        if found != kind:
            raise ValueError(found)
        return parse(after)
    except ValueError:
        raise InvalidToken(f"Invalid Token: '{next_token}'") from None


def _page_after(next_token: str | None) -> int | None:
    return _page_value(next_token, kind="history", parse=int)


def _max_results(max_results: int | None) -> int:
    """The page size: 100 when not given (or 0), at most 1000, as the API documents."""
    if max_results in (None, 0):
        return 100
    if not 0 <= max_results <= 1000:
        raise ValidationException(
            "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 1000"
        )
    return max_results


def execution_history(
    *,
    execution: Execution,
    max_results: int | None = None,
    next_token: str | None = None,
    reverse_order: bool = False,
    include_execution_data: bool = True,
) -> dict[str, Any]:
    """GetExecutionHistory's answer: at most max_results events (100 by default, 1000 at most)."""
    max_results = _max_results(max_results)
    events = HistoryEvent.objects.filter(execution=execution)
    after = _page_after(next_token)
    if after is not None:
        events = (
            events.filter(event_id__lt=after)
            if reverse_order
            else events.filter(event_id__gt=after)
        )
    events = list(events.order_by("-event_id" if reverse_order else "event_id")[: max_results + 1])
    answer: dict[str, Any] = {
        "events": [
            history_event_shape(e, include_data=include_execution_data)
            for e in events[:max_results]
        ]
    }
    if len(events) > max_results:
        answer["nextToken"] = _page_token(events[max_results - 1].event_id)
    return answer


def _execution_after(value: str) -> tuple[datetime, uuid.UUID]:
    start_date, _, pk = value.partition("|")
    return datetime.fromisoformat(start_date), uuid.UUID(pk)


def executions_list(
    *,
    state_machine: StateMachine,
    status_filter: str | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> dict[str, Any]:
    """ListExecutions' answer: newest first, paged by (startDate, id) so pages never overlap."""
    if status_filter is not None and status_filter not in Execution.Status.values:
        raise ValidationException(
            f"1 validation error detected: Value '{status_filter}' at 'statusFilter' failed to "
            f"satisfy constraint: Member must satisfy enum value set: {Execution.Status.values}"
        )
    max_results = _max_results(max_results)
    executions = Execution.objects.filter(state_machine=state_machine)
    if status_filter:
        executions = executions.filter(status=status_filter)
    after = _page_value(next_token, kind="executions", parse=_execution_after)
    if after is not None:
        executions = executions.filter(
            Q(start_date__lt=after[0]) | Q(start_date=after[0], pk__lt=after[1])
        )
    page = list(executions.order_by("-start_date", "-pk")[: max_results + 1])
    answer: dict[str, Any] = {
        "executions": [
            {
                "executionArn": e.arn,
                "stateMachineArn": state_machine.arn,
                "name": e.name,
                "status": e.status,
                "startDate": e.start_date,
                **({"stopDate": e.stop_date} if e.stop_date else {}),
            }
            for e in page[:max_results]
        ]
    }
    if len(page) > max_results:
        last = page[max_results - 1]
        answer["nextToken"] = _page_token(
            f"{last.start_date.isoformat()}|{last.pk}", kind="executions"
        )
    return answer


def state_machine_describe(*, state_machine: StateMachine) -> dict[str, Any]:
    """DescribeStateMachine's answer, from the latest version.

    The project runs no IAM: roleArn is a fixed placeholder so tools that expect one find one.
    """
    latest = state_machine.latest_version
    return {
        "stateMachineArn": state_machine.arn,
        "name": state_machine.name,
        "status": "ACTIVE",
        "definition": json.dumps(latest.definition, indent=2),
        "roleArn": state_machine_role_arn(),
        "type": "STANDARD",
        "creationDate": state_machine.created_at,
        "revisionId": str(latest.number),
    }


def state_machine_role_arn() -> str:
    return f"arn:aws:iam::{settings.AWS_ACCOUNT_ID}:role/serverlesspresso-no-iam"


def state_machines_list(
    *, max_results: int | None = None, next_token: str | None = None
) -> dict[str, Any]:
    """ListStateMachines' answer, by name."""
    max_results = _max_results(max_results)
    machines = StateMachine.objects.all()
    after = _page_value(next_token, kind="machines", parse=str)
    if after is not None:
        machines = machines.filter(name__gt=after)
    page = list(machines.order_by("name")[: max_results + 1])
    answer: dict[str, Any] = {
        "stateMachines": [
            {
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": "STANDARD",
                "creationDate": m.created_at,
            }
            for m in page[:max_results]
        ]
    }
    if len(page) > max_results:
        answer["nextToken"] = _page_token(page[max_results - 1].name, kind="machines")
    return answer
