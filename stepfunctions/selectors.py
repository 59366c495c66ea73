"""The engine's reads: rows and objects, in the order the API lists them. Their response shapes
and the paging live with the API (stepfunctions.api.shapes, stepfunctions.api.paging)."""

import re
import uuid
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from stepfunctions.arns import EXECUTION_ARN_RE, arn_parse
from stepfunctions.errors import ExecutionDoesNotExist, ResourceNotFound
from stepfunctions.models import (
    CallbackToken,
    Cursor,
    Execution,
    HistoryEvent,
    MapRun,
    StateMachine,
    StateMachineVersion,
)
from stepfunctions.models.rows import Part, Rows, column, table

# The API's reads by an execution's ARN are written once per process, as SQL (every API call but
# StartExecution names an execution, and the ORM's compiling of these queries cost more CPU than
# the rest of the call's own work); stepfunctions.models.rows builds the instances.
_EXECUTION = Rows(Part(Execution, "e"), Part(StateMachine, "m", attach="state_machine"))
_EXECUTION_VERSIONED = Rows(
    Part(Execution, "e"),
    Part(StateMachine, "m", attach="state_machine"),
    Part(StateMachineVersion, "v", attach="version"),
)
_HISTORY = Rows(Part(HistoryEvent, "h"))
# The id alone (its converter, SQLite's UUIDs are text, built once with the others').
_EXECUTION_ID = Rows(
    Part(
        Execution,
        "e",
        omit=tuple(f.name for f in Execution._meta.concrete_fields if not f.primary_key),
    )
)


def _by_arn(arn: str) -> dict[str, Any]:
    # A Parallel branch or Map iteration (a child run) is no execution of the API's: the SQL
    # reads only executions of no group, or a map run's children (`<machine>/<label>:<name>`).
    match = arn_parse(arn, pattern=EXECUTION_ARN_RE, missing=ExecutionDoesNotExist)
    machine, _, label = match["machine"].partition("/")
    if label:
        return {"machine": machine, "name": match["name"], "label": label}
    return {"machine": machine, "name": match["name"]}


def execution_get(*, arn: str, with_version: bool = True) -> Execution:
    """The execution with its state machine, and its version (the definition) unless a reader
    of the execution's own fields (DescribeExecution) says it needs none."""
    rows = _EXECUTION_VERSIONED if with_version else _EXECUTION
    params = _by_arn(arn)
    sql = _execution_sql(with_version=with_version, child="label" in params)
    found = rows.fetch(sql, params, connection)
    if not found:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return found[0]


def execution_id_get(*, arn: str) -> Any:
    """Only the execution's id (GetExecutionHistory reads nothing else of it)."""
    params = _by_arn(arn)
    found = _EXECUTION_ID.fetch(_execution_id_sql(child="label" in params), params, connection)
    if not found:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return found[0].pk


# Event ids are PositiveIntegerField: a token naming one past this was never ours.
_EVENT_ID_MAX = 2**31 - 1


def history_page(
    *, arn: str, reverse: bool = False, after_event_id: int | None = None, limit: int
) -> list[HistoryEvent]:
    """At most `limit` events of the execution named by `arn`, oldest first (or newest first),
    past `after_event_id` when given, in one query with the execution's lookup. Empty for an
    unknown execution too: every execution's history starts with ExecutionStarted, so a caller
    that finds no rows asks execution_id_get."""
    params = {**_by_arn(arn), "limit": limit}
    if after_event_id is not None:
        if not 0 <= after_event_id <= _EVENT_ID_MAX:
            raise ValueError(after_event_id)
        params["after"] = after_event_id
    sql = _history_sql(reverse=reverse, after=after_event_id is not None, child="label" in params)
    return _HISTORY.fetch(sql, params, connection)


def _col(model, name: str) -> str:
    return column(model, name, connection)


def _machine_join() -> str:
    return (
        f" JOIN {table(StateMachine, connection)} m"
        f" ON m.{_col(StateMachine, 'id')} = e.{_col(Execution, 'state_machine')}"
    )


# A top-level execution (e) named by its machine's name (m) and its own.
_NAMED = " WHERE m.{machine} = %(machine)s AND e.{name} = %(name)s AND e.{group} IS NULL"


# A map run's child (e) named by its machine's name (m), the map run's label and its own.
_CHILD_NAMED = (
    " WHERE m.{machine} = %(machine)s AND e.{name} = %(name)s AND e.{group} IN"
    " (SELECT r.{run_group} FROM {runs} r WHERE r.{label} = %(label)s)"
)


def _named_where(child: bool = False) -> str:
    if child:
        return _CHILD_NAMED.format(
            machine=_col(StateMachine, "name"),
            name=_col(Execution, "name"),
            group=_col(Execution, "group"),
            run_group=_col(MapRun, "group"),
            runs=table(MapRun, connection),
            label=_col(MapRun, "label"),
        )
    return _NAMED.format(
        machine=_col(StateMachine, "name"),
        name=_col(Execution, "name"),
        group=_col(Execution, "group"),
    )


@cache
def _execution_sql(*, with_version: bool, child: bool = False) -> str:
    rows = _EXECUTION_VERSIONED if with_version else _EXECUTION
    version = (
        f" JOIN {table(StateMachineVersion, connection)} v"
        f" ON v.{_col(StateMachineVersion, 'id')} = e.{_col(Execution, 'version')}"
    )
    return (
        f"SELECT {rows.columns(connection)} FROM {table(Execution, connection)} e"  # noqa: S608
        f"{_machine_join()}{version if with_version else ''}{_named_where(child)}"
    )


@cache
def _execution_id_sql(*, child: bool = False) -> str:
    return (
        f"SELECT {_EXECUTION_ID.columns(connection)} FROM {table(Execution, connection)} e"  # noqa: S608
        f"{_machine_join()}{_named_where(child)}"
    )


@cache
def _history_sql(*, reverse: bool, after: bool, child: bool = False) -> str:
    event_id = f"h.{_col(HistoryEvent, 'event_id')}"
    past = f" AND {event_id} {'<' if reverse else '>'} %(after)s" if after else ""
    return (
        f"SELECT {_HISTORY.columns(connection)} FROM {table(HistoryEvent, connection)} h"  # noqa: S608
        f" JOIN {table(Execution, connection)} e"
        f" ON e.{_col(Execution, 'id')} = h.{_col(HistoryEvent, 'execution')}"
        f"{_machine_join()}{_named_where(child)}{past}"
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


def token_is_open(*, token: str) -> bool:
    """Whether the task token is still open (no result, timeout or stop has closed it)."""
    return CallbackToken.objects.filter(token=token, status=CallbackToken.Status.OPEN).exists()


def token_deadline(*, token: str) -> datetime | None:
    """When the task token's state times out (its TimeoutSeconds or HeartbeatSeconds, the
    sooner), or None when it has no deadline or is not open."""
    return (
        CallbackToken.objects.filter(token=token, status=CallbackToken.Status.OPEN)
        .values_list("deadline", flat=True)
        .first()
    )


_MACHINE = Rows(Part(StateMachine, "m"))


def state_machine_named(*, name: str) -> StateMachine | None:
    """The machine of this name, or None (in SQL written once: every StartExecution asks)."""
    found = _MACHINE.fetch(_machine_sql(), {"name": name}, connection)
    return found[0] if found else None


@cache
def _machine_sql() -> str:
    return (
        f"SELECT {_MACHINE.columns(connection)} FROM {table(StateMachine, connection)} m"  # noqa: S608
        f" WHERE m.{_col(StateMachine, 'name')} = %(name)s"
    )


def state_machines() -> QuerySet:
    return StateMachine.objects.order_by("name")


def version_published(*, state_machine: StateMachine, number: int) -> StateMachineVersion | None:
    """The machine's published version `number` (its revision), or None."""
    version = state_machine.versions.filter(published_number=number).first()
    if version is not None:
        version.state_machine = state_machine
    return version


def versions_published(*, state_machine: StateMachine) -> QuerySet:
    """The machine's published versions, newest first (as ListStateMachineVersions lists them)."""
    return state_machine.versions.filter(published_number__isnull=False).order_by(
        "-published_number"
    )


def aliases_of(*, state_machine: StateMachine) -> QuerySet:
    return state_machine.aliases.order_by("name")


# --- Map runs (a distributed Map's: stepfunctions.models.map_runs) -------------------------------
MAP_RUN_ARN_RE = re.compile(
    r"^arn:aws:states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):mapRun:"
    r"(?P<machine>[^:/]+)/(?P<label>[^:/]+):(?P<id>[^:/]+)$"
)


def map_run_get(*, arn: str) -> MapRun:
    """The map run named by its ARN (`mapRun:<machine>/<label>:<id>`), with its execution and
    machine; ResourceNotFound when there is none (InvalidArn when the ARN is malformed)."""
    match = arn_parse(arn, pattern=MAP_RUN_ARN_RE, missing=ResourceNotFound)
    try:
        key = uuid.UUID(match["id"])
    except ValueError:
        key = None
    found = (
        MapRun.objects.select_related("execution__state_machine")
        .filter(
            pk=key,
            label=match["label"],
            execution__state_machine__name=match["machine"],
        )
        .first()
        if key is not None
        else None
    )
    if found is None:
        raise ResourceNotFound(f"Resource not found: '{arn}'")
    return found


def map_runs_of(*, execution: Execution) -> QuerySet:
    """The map runs an execution's distributed Map states started, newest first."""
    return (
        MapRun.objects.filter(execution=execution)
        .select_related("execution__state_machine")
        .order_by("-start_date", "-pk")
    )


def map_run_children(*, map_run: MapRun, status: str | None = None) -> QuerySet:
    """A map run's children that have started (newest first, as ListExecutions lists), by
    status when given; one not started yet (past MaxConcurrency) is no execution yet."""
    children = Execution.objects.filter(group_id=map_run.group_id).exclude(
        stage=Execution.Stage.WAITING, cursor__kind=Cursor.START
    )
    if status:
        children = children.filter(status=status)
    return children.order_by("-start_date", "-pk")


def map_run_of_child(*, execution: Execution) -> MapRun | None:
    """The map run a child execution belongs to (None for any other execution)."""
    if execution.group_id is None:
        return None
    return (
        MapRun.objects.select_related("execution__state_machine")
        .filter(group_id=execution.group_id)
        .first()
    )
