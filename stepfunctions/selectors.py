"""The engine's reads: rows and objects, in the order the API lists them. Their response shapes
and the paging live with the API (stepfunctions.api.shapes, stepfunctions.api.paging)."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from stepfunctions.arns import EXECUTION_ARN_RE, arn_parse
from stepfunctions.errors import ExecutionDoesNotExist
from stepfunctions.models import CallbackToken, Execution, HistoryEvent, StateMachine


def execution_get(*, arn: str) -> Execution:
    match = arn_parse(arn, pattern=EXECUTION_ARN_RE, missing=ExecutionDoesNotExist)
    execution = (
        Execution.objects.select_related("state_machine", "version")
        # A Parallel branch or Map iteration (a child run) is no execution of the API's.
        .filter(state_machine__name=match["machine"], name=match["name"], group__isnull=True)
        .first()
    )
    if execution is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return execution


def history_events(*, execution: Execution, reverse: bool = False) -> QuerySet:
    """The execution's history, oldest first (or newest first)."""
    return HistoryEvent.objects.filter(execution=execution).order_by(
        "-event_id" if reverse else "event_id"
    )


def executions_of(*, state_machine: StateMachine, status: str | None = None) -> QuerySet:
    """The machine's executions, newest first, by (start_date, id) so pages never overlap."""
    executions = Execution.objects.filter(state_machine=state_machine, group__isnull=True)
    if status:
        executions = executions.filter(status=status)
    return executions.order_by("-start_date", "-pk")


def open_token_deadline(*, execution_id: Any) -> datetime | None:
    """When the execution's open callback token expires (None: no open token, or no deadline)."""
    return (
        CallbackToken.objects.filter(execution_id=execution_id, status=CallbackToken.Status.OPEN)
        .values_list("deadline", flat=True)
        .first()
    )


def state_machines() -> QuerySet:
    return StateMachine.objects.order_by("name")
