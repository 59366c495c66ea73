"""The engine's reads: rows and objects, in the order the API lists them. Their response shapes
and the paging live with the API (stepfunctions.api.shapes, stepfunctions.api.paging)."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from stepfunctions.arns import EXECUTION_ARN_RE, arn_parse
from stepfunctions.errors import ExecutionDoesNotExist
from stepfunctions.models import CallbackToken, Execution, HistoryEvent, StateMachine


def _named(arn: str) -> QuerySet:
    match = arn_parse(arn, pattern=EXECUTION_ARN_RE, missing=ExecutionDoesNotExist)
    return Execution.objects.filter(state_machine__name=match["machine"], name=match["name"])


def execution_get(*, arn: str, with_version: bool = True) -> Execution:
    """The execution with its state machine, and its version (the definition) unless a reader
    of the execution's own fields (DescribeExecution) says it needs none."""
    related = ("state_machine", "version") if with_version else ("state_machine",)
    execution = _named(arn).select_related(*related).first()
    if execution is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return execution


def execution_id_get(*, arn: str) -> Any:
    """Only the execution's id (GetExecutionHistory reads nothing else of it)."""
    execution_id = _named(arn).values_list("pk", flat=True).first()
    if execution_id is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return execution_id


def history_events(*, arn: str, reverse: bool = False) -> QuerySet:
    """The history of the execution named by `arn`, oldest first (or newest first), read in one
    query with the execution's lookup. Empty for an unknown execution too: every execution's
    history starts with ExecutionStarted, so a caller that finds no rows where it expected some
    asks execution_id_get which it is."""
    match = arn_parse(arn, pattern=EXECUTION_ARN_RE, missing=ExecutionDoesNotExist)
    return HistoryEvent.objects.filter(
        execution__state_machine__name=match["machine"], execution__name=match["name"]
    ).order_by("-event_id" if reverse else "event_id")


def executions_of(*, state_machine: StateMachine, status: str | None = None) -> QuerySet:
    """The machine's executions, newest first, by (start_date, id) so pages never overlap."""
    executions = Execution.objects.filter(state_machine=state_machine)
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
