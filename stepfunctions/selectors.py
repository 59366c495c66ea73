"""The engine's reads: rows and objects, in the order the API lists them. Their response shapes
and the paging live with the API (stepfunctions.api.shapes, stepfunctions.api.paging)."""

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from stepfunctions.arns import EXECUTION_ARN_RE, arn_parse
from stepfunctions.errors import ExecutionDoesNotExist
from stepfunctions.models import CallbackToken, Execution, HistoryEvent, StateMachine


def _named(arn: str) -> QuerySet:
    match = arn_parse(arn, pattern=EXECUTION_ARN_RE, missing=ExecutionDoesNotExist)
    # A Parallel branch or Map iteration (a child run) is no execution of the API's.
    return Execution.objects.filter(
        state_machine__name=match["machine"], name=match["name"], group__isnull=True
    )


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


# Event ids are PositiveIntegerField: a token naming one past this was never ours.
_EVENT_ID_MAX = 2**31 - 1


def history_page(
    *, arn: str, reverse: bool = False, after_event_id: int | None = None, limit: int
) -> list[HistoryEvent]:
    """At most `limit` events of the execution named by `arn`, oldest first (or newest first),
    past `after_event_id` when given, in one query with the execution's lookup, in SQL written
    once per process (GetExecutionHistory is the call clients poll; the ORM's compiling of this
    query was a third of its CPU). Empty for an unknown execution too: every execution's history
    starts with ExecutionStarted, so a caller that finds no rows asks execution_id_get."""
    match = arn_parse(arn, pattern=EXECUTION_ARN_RE, missing=ExecutionDoesNotExist)
    params: dict[str, Any] = {"machine": match["machine"], "name": match["name"], "limit": limit}
    if after_event_id is not None:
        if not 0 <= after_event_id <= _EVENT_ID_MAX:
            raise ValueError(after_event_id)
        params["after"] = after_event_id
    sql = _history_sql(reverse=reverse, after=after_event_id is not None)
    return list(HistoryEvent.objects.raw(sql, params))


@cache
def _history_sql(*, reverse: bool, after: bool) -> str:
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    event = HistoryEvent._meta
    event_id = f"h.{column(HistoryEvent, 'event_id')}"
    columns = ", ".join(f"h.{quote(f.column)}" for f in event.concrete_fields)
    past = f" AND {event_id} {'<' if reverse else '>'} %(after)s" if after else ""
    return (
        f"SELECT {columns} FROM {quote(event.db_table)} h"  # noqa: S608 (names from _meta)
        f" JOIN {quote(Execution._meta.db_table)} e"
        f" ON e.{column(Execution, 'id')} = h.{column(HistoryEvent, 'execution')}"
        f" JOIN {quote(StateMachine._meta.db_table)} m"
        f" ON m.{column(StateMachine, 'id')} = e.{column(Execution, 'state_machine')}"
        f" WHERE m.{column(StateMachine, 'name')} = %(machine)s"
        f" AND e.{column(Execution, 'name')} = %(name)s"
        f" AND e.{column(Execution, 'group')} IS NULL{past}"
        f" ORDER BY {event_id} {'DESC' if reverse else 'ASC'} LIMIT %(limit)s"
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
