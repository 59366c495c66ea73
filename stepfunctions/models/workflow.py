"""The workflow engine's records: definitions, executions, callback tokens, history, the event log.

Statuses are TextChoices on indexed fields. Every transition is declared here once, as a queryset
method wrapping its conditional UPDATE (or a method used under the row lock), and the services call
these; none compares fields in Python alone. The tables keep the names the orders app gave them
(db_table), so the move into this app moved no data.
"""

import functools
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, models
from django.db.models import Q

from stepfunctions.models.bulk import recordset, recordset_json
from stepfunctions.models.cursor import Cursor
from stepfunctions.models.rows import Part, Rows


class StateMachine(models.Model):
    """A named workflow. Its definition lives in versions, so an execution keeps the one it began."""

    name = models.CharField(max_length=80, unique=True)
    # The roleArn given at CreateStateMachine ($$.Execution.RoleArn); nothing here assumes it.
    role_arn = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_statemachine"

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:stateMachine:{self.name}"

    @staticmethod
    def role_arn_default(name: str) -> str:
        """The role of a machine created without one (by a command or an app, not the API)."""
        return f"arn:aws:iam::{settings.AWS_ACCOUNT_ID}:role/{name}Role"

    @property
    def latest_version(self) -> "StateMachineVersion":
        return self.versions.order_by("-number").first()

    def version_to_start(self) -> "StateMachineVersion | None":
        """The latest version, as every StartExecution reads it: one small statement for its id,
        and the version itself (an immutable row) from a per-process cache, not built by the ORM
        each time."""
        connection = connections[self._state.db or "default"]
        with connection.cursor() as cursor:
            cursor.execute(_LATEST_VERSION_SQL, [self.pk])
            row = cursor.fetchone()
        if row is None:
            return None
        number, definition, created_at = _version_row(row[0])
        version = StateMachineVersion(
            id=row[0],
            state_machine_id=self.pk,
            number=number,
            definition=definition,
            created_at=created_at,
        )
        version._state.adding = False
        version._state.db = connection.alias
        version.state_machine = self  # its machine as the caller has it, not a cached one
        return version


class StateMachineVersion(models.Model):
    """An immutable ASL document; updating a state machine adds a version."""

    state_machine = models.ForeignKey(
        StateMachine, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_statemachineversion"
        constraints = [
            models.UniqueConstraint(fields=["state_machine", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.state_machine.name} v{self.number}"


class ExecutionQuerySet(models.QuerySet):
    def due_locked(
        self, pk: Any, *, now: datetime, skip_locked: bool = False
    ) -> "Execution | None":
        """The execution, row-locked for its stage, only while it is READY and due: a redelivered
        message or a second worker finds None (at once with `skip_locked`, while the other holds
        it)."""
        return (
            self.select_for_update(of=("self",), skip_locked=skip_locked)
            .select_related("state_machine", "version", "group")
            # The parsed definition is cached per version; its JSON is read only on a cache miss.
            .defer("version__definition")
            .filter(pk=pk, stage=Execution.Stage.READY, due_at__lte=now)
            .first()
        )

    def claim_due(
        self, *, now: datetime, limit: int, skip_locked: bool = True
    ) -> tuple[list["Execution"], int]:
        """Up to `limit` executions with a stage due, oldest first, row-locked for their stages,
        and how many were due in all (counted up to `limit` + 1, in the same statement).

        SKIP LOCKED: rows another worker (or a stop, a sweep, a losing callback) holds are left,
        so workers share the due stages and never wait for each other here; the count says
        whether some due rows were held. Without it, the claim waits for held rows, and takes
        those still due once they are released. (SQLite has no row locks: its IMMEDIATE
        transactions run one writer at a time, and every due row is claimed.)
        """
        connection = connections[self.db]
        postgresql = connection.vendor == "postgresql"
        sql = _claim_sql(
            postgresql=postgresql, skip_locked=skip_locked, columns=_CLAIMED.columns(connection)
        )
        params = [now, limit + 1, now, limit] if postgresql else [now, limit]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        claimed = _CLAIMED.objects(rows, connection)
        _groups_attach(claimed)
        if not postgresql:
            return claimed, len(claimed)
        return claimed, rows[0][-1] if rows else self._due_total(now, limit)

    def _due_total(self, now: datetime, limit: int) -> int:
        with connections[self.db].cursor() as cursor:
            cursor.execute(_DUE_TOTAL_SQL, (now, limit + 1))
            return cursor.fetchone()[0]

    def stages_save(self, executions: list["Execution"], fields: Iterable[str]) -> None:
        """Writes `fields` of many executions in one UPDATE, the rows locked by the caller: on
        PostgreSQL from one JSON parameter (models.bulk.recordset), elsewhere from a VALUES list
        (Django's bulk_update builds a CASE per field and row, and cost more CPU than the stages
        it saved)."""
        if not executions:
            return
        connection = connections[self.db]
        quote = connection.ops.quote_name
        columns = [Execution._meta.pk, *(Execution._meta.get_field(name) for name in fields)]
        table = quote(Execution._meta.db_table)
        pk = quote(columns[0].column)
        if connection.vendor == "postgresql":
            assignments = ", ".join(f"{quote(c.column)} = r.{quote(c.column)}" for c in columns[1:])
            sql = (
                f"UPDATE {table} SET {assignments} "  # noqa: S608 - names from the model
                f"FROM ROWS FROM ({recordset(connection, columns)}) AS r "
                f"WHERE {table}.{pk} = r.{pk}"
            )
            params: list = [recordset_json(executions, columns, _attribute)]
        else:
            row = "(" + ", ".join(["%s"] * len(columns)) + ")"
            params = []
            for execution in executions:
                for column in columns:
                    value = getattr(execution, column.attname)
                    params.append(column.get_db_prep_save(value, connection))
            assignments = ", ".join(
                f"{quote(c.column)} = v.column{i}" for i, c in enumerate(columns[1:], start=2)
            )
            sql = (
                f"UPDATE {table} SET {assignments} "  # noqa: S608 - names from the model
                f"FROM (VALUES {', '.join([row] * len(executions))}) AS v "
                f"WHERE {table}.{pk} = v.column1"
            )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def lock(self, ids: Iterable[Any], *, skip_locked: bool = False) -> list:
        """Row-locks executions, in id order; returns the ids it locked.

        The one lock order everywhere: an execution's row before its tokens' (and before any row
        an app keeps for it), so a stop, a callback, a stage and the sweeps wait for each other
        instead of deadlocking. SKIP LOCKED (for sweeps) leaves a held row to the next round.
        """
        return list(
            self.select_for_update(skip_locked=skip_locked)
            .filter(pk__in=list(ids))
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def wake(self, ids: Iterable[Any], *, at: datetime) -> int:
        """WAITING -> READY once its token is closed; an execution that ended meanwhile stays."""
        return self.filter(pk__in=ids, stage=Execution.Stage.WAITING).update(
            stage=Execution.Stage.READY, due_at=at
        )

    def stalled(self, *, before: datetime, limit: int) -> list:
        """Ids of executions whose automatic stage has been due since before `before`."""
        return list(
            self.filter(stage=Execution.Stage.READY, due_at__lte=before)
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )

    def past_timeout(self, *, now: datetime, limit: int) -> list:
        """Ids of running executions past their TimeoutSeconds."""
        return list(
            self.filter(status=Execution.Status.RUNNING, timeout_at__lte=now)
            .order_by("timeout_at")
            .values_list("pk", flat=True)[:limit]
        )


class Execution(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        TIMED_OUT = "TIMED_OUT"
        ABORTED = "ABORTED"

    class Stage(models.TextChoices):
        # An automatic stage is due at due_at: a Celery task runs it (the broker only nudges).
        READY = "READY"
        # Paused in a callback task until its token succeeds, fails or expires.
        WAITING = "WAITING"
        DONE = "DONE"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state_machine = models.ForeignKey(
        StateMachine, on_delete=models.PROTECT, related_name="executions"
    )
    version = models.ForeignKey(StateMachineVersion, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.READY)
    # Where the next stage resumes, as JSON: read and written through `position` (a Cursor).
    cursor = models.JSONField(default=dict)
    due_at = models.DateTimeField(null=True, blank=True)
    input = models.JSONField()
    output = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=256, blank=True, default="")
    cause = models.TextField(blank=True, default="")
    # The id of the last history event, so a stage numbers its events without counting rows.
    event_count = models.PositiveIntegerField(default=0)
    start_date = models.DateTimeField()
    stop_date = models.DateTimeField(null=True, blank=True)
    # start_date + the definition's top-level TimeoutSeconds: past it the execution is TIMED_OUT.
    timeout_at = models.DateTimeField(null=True, blank=True)
    # A branch of a Parallel state or an iteration of a Map (stepfunctions.models.children):
    # its group, and its place in the state's result. None for an execution started by a client.
    group = models.ForeignKey(
        "stepfunctions.ChildGroup",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
    )
    branch_index = models.PositiveIntegerField(null=True, blank=True)
    # The task token of the parent's `states:startExecution.sync` task that waits for this
    # execution to end (stepfunctions.services.nested); empty for any other execution. The
    # database's default too, so a process still running the previous code inserts rows.
    parent_token = models.CharField(max_length=2048, blank=True, default="", db_default="")

    objects = ExecutionQuerySet.as_manager()

    class Meta:
        db_table = "orders_execution"
        constraints = [
            models.UniqueConstraint(fields=["state_machine", "name"], name="one_execution_name")
        ]
        indexes = [
            models.Index(fields=["state_machine", "status"], name="execution_machine_status"),
            # The stall sweep reads only executions with a stage due.
            models.Index(fields=["due_at"], condition=Q(stage="READY"), name="execution_ready_due"),
            # The timeout sweep reads only running executions with a TimeoutSeconds.
            models.Index(
                fields=["timeout_at"],
                condition=Q(status="RUNNING", timeout_at__isnull=False),
                name="execution_running_timeout",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state_machine.name}:{self.name}"

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:execution:"
            f"{self.state_machine.name}:{self.name}"
        )

    @property
    def position(self) -> Cursor | None:
        """Where the next stage resumes; None once the execution is done."""
        return Cursor.from_json(self.cursor)

    @position.setter
    def position(self, cursor: Cursor | None) -> None:
        self.cursor = cursor.to_json() if cursor is not None else {}

    def history_event(self, event_type: str, details: dict, *, now: datetime) -> "HistoryEvent":
        """The next history event, numbered after the last (unsaved; the caller holds the lock)."""
        _, event_id, previous, _, _, _ = self.history_row(event_type, details, now=now)
        return HistoryEvent(
            execution=self,
            event_id=event_id,
            previous_event_id=previous,
            type=event_type,
            timestamp=now,
            details=details,
        )

    def history_row(self, event_type: str, details: dict, *, now: datetime) -> tuple:
        """The next history event as a row of HISTORY_FIELDS' values, numbered after the last
        (the caller holds the lock): what a stage writes, with no model instance built."""
        self.event_count += 1
        return (self.pk, self.event_count, self.event_count - 1, event_type, now, details)

    def finish(
        self, *, status: str, now: datetime, output: Any = None, error: str = "", cause: str = ""
    ) -> None:
        """RUNNING -> a final status, made by the caller under the row lock, then saved."""
        self.status = status
        self.stage = Execution.Stage.DONE
        self.stop_date = now
        self.due_at = None
        self.position = None
        self.output = output
        self.error = error or ""
        self.cause = cause or ""


class CallbackTokenQuerySet(models.QuerySet):
    """Each way a token changes: exactly one of success, failure, timeout and close wins it."""

    def results(self, pks: Iterable[int]) -> dict[int, dict]:
        """{pk: {"status", "outcome"}} of the tokens the stages resuming from them read, in one
        query for a whole batch of stages."""
        pks = [pk for pk in pks if pk is not None]
        if not pks:
            return {}
        rows = self.filter(pk__in=pks).values("pk", "status", "outcome")
        return {row["pk"]: row for row in rows}

    def open_at(self, now: datetime) -> "CallbackTokenQuerySet":
        """Open and not past its deadline: what a callback may still close or beat."""
        return self.filter(
            Q(status=CallbackToken.Status.OPEN) & (Q(deadline__isnull=True) | Q(deadline__gt=now))
        )

    def settle(self, pk: int, *, status: str, outcome: dict, now: datetime) -> bool:
        """OPEN -> SUCCEEDED or FAILED by a callback before the deadline; False if it lost."""
        return bool(
            self.open_at(now).filter(pk=pk).update(status=status, outcome=outcome, closed_at=now)
        )

    def close_and_wake(
        self, token: str, *, status: str, outcome: dict, now: datetime
    ) -> dict | None:
        """OPEN -> SUCCEEDED or FAILED by a callback before the deadline, and its execution
        WAITING -> READY (due now), in the one lock order: the execution's row, then the token's.
        Returns {"pk", "execution_id", "state_name", "execution_name"} (the execution's name,
        for the log line), or None when the token is unknown or no longer open.

        PostgreSQL: one statement. `target` locks the execution row (FOR UPDATE OF e) while it
        waits on this open token; the token's UPDATE is conditioned on `target`'s row, evaluated
        before the token's row is updated, so the execution's lock is always taken first. Each row
        is found by its key (the token's unique index, the primary keys) through scalar subqueries,
        so the plan does not hang on the tables' statistics: joined, a table not yet analyzed was
        scanned whole for each callback (every waiting execution). Both UPDATEs are
        conditional (READ COMMITTED re-checks them on the row a concurrent stop, sweep or callback
        left), so exactly one closer wins. SQLite: its IMMEDIATE transaction holds the database,
        so two conditional UPDATEs in the caller's transaction are enough.
        """
        connection = connections[self.db]
        values = {
            "token": token,
            "status": status,
            "outcome": json.dumps(outcome),
            "now": connection.ops.adapt_datetimefield_value(now),
        }
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(_CLOSE_AND_WAKE_POSTGRESQL, values)
                row = cursor.fetchone()
            else:
                cursor.execute(_CLOSE_SQLITE, values)
                closed = cursor.fetchone()
                row = None
                if closed is not None:
                    cursor.execute(_WAKE_SQLITE, {**values, "execution_id": closed[1]})
                    woken = cursor.fetchone()
                    row = (*closed, woken[0] if woken else None)
        if row is None:
            return None
        pk, execution_id, state_name, execution_name = row
        if not isinstance(execution_id, uuid.UUID):
            execution_id = uuid.UUID(str(execution_id))
        return {
            "pk": pk,
            "execution_id": execution_id,
            "state_name": state_name,
            "execution_name": execution_name,
        }

    def beat(self, pk: int, *, heartbeat_deadline: datetime, deadline: datetime, now) -> bool:
        """Moves an open token's heartbeat deadline on; False if it is closed or past due."""
        return bool(
            self.open_at(now)
            .filter(pk=pk)
            .update(heartbeat_deadline=heartbeat_deadline, deadline=deadline)
        )

    def due(self, *, now: datetime, limit: int) -> list:
        """Open tokens past their deadline (read, not locked: the sweep locks their executions
        first, then expires each with a conditional UPDATE)."""
        return list(
            self.filter(status=CallbackToken.Status.OPEN, deadline__lte=now)
            .order_by("deadline")
            .only("pk", "execution_id", "deadline", "heartbeat_deadline")[:limit]
        )

    def due_locked(self, pks: Iterable[int], *, now: datetime) -> list:
        """Those of `pks` still open and past due, locked (their executions are locked already):
        a heartbeat that moved a deadline meanwhile keeps its token."""
        return list(
            self.select_for_update()
            .filter(pk__in=list(pks), status=CallbackToken.Status.OPEN, deadline__lte=now)
            .order_by("pk")
            .only("pk", "execution_id", "deadline", "heartbeat_deadline")
        )

    def expire(self, ids: Iterable[int], *, heartbeat: bool, now: datetime) -> int:
        """OPEN -> TIMED_OUT for tokens past their deadline."""
        return self.filter(pk__in=ids, status=CallbackToken.Status.OPEN, deadline__lte=now).update(
            status=CallbackToken.Status.TIMED_OUT, outcome={"heartbeat": heartbeat}, closed_at=now
        )

    def close_open(self, *, execution: Any, now: datetime) -> int:
        """OPEN -> CLOSED for every token of an execution that ended (stopped, timed out)."""
        return self.filter(execution=execution, status=CallbackToken.Status.OPEN).update(
            status=CallbackToken.Status.CLOSED, closed_at=now
        )


def _attribute(obj: models.Model, column: models.Field) -> Any:
    return getattr(obj, column.attname)


_LATEST_VERSION_SQL = """
SELECT id FROM orders_statemachineversion WHERE state_machine_id = %s ORDER BY number DESC LIMIT 1
"""


@functools.lru_cache(maxsize=256)
def _version_row(pk: int) -> tuple:
    """A version's (number, definition, created_at): versions never change once written."""
    return StateMachineVersion.objects.values_list("number", "definition", "created_at").get(pk=pk)


@functools.cache
def _claim_sql(*, postgresql: bool, skip_locked: bool, columns: str) -> str:
    """ExecutionQuerySet.claim_due's statement: the due executions with their machines and
    versions (not the versions' definitions: parsed ones are cached per version), oldest first
    (ties broken by id), row-locked; on PostgreSQL with the count of due rows (up to a bound)."""
    due_total = f", ({_DUE_TOTAL_SQL})" if postgresql else ""
    lock = (" FOR UPDATE OF e" + (" SKIP LOCKED" if skip_locked else "")) if postgresql else ""
    return (
        f"SELECT {columns}{due_total} "  # noqa: S608 - names from the models
        "FROM orders_execution e "
        "JOIN orders_statemachine m ON m.id = e.state_machine_id "
        "JOIN orders_statemachineversion v ON v.id = e.version_id "
        "WHERE e.stage = 'READY' AND e.due_at <= %s ORDER BY e.due_at, e.id LIMIT %s" + lock
    )


def _groups_attach(claimed: list["Execution"]) -> None:
    """The child runs' groups (Parallel branches, Map iterations), in one query for the batch
    when it has any, so a child's stage does not load its group by itself."""
    group_ids = {execution.group_id for execution in claimed if execution.group_id is not None}
    if not group_ids:
        return
    from stepfunctions.models.children import ChildGroup

    groups = ChildGroup.objects.in_bulk(group_ids)
    for execution in claimed:
        if execution.group_id is not None:
            execution.group = groups[execution.group_id]


# Due stages, counted up to a bound through the partial index on READY executions' due_at.
_DUE_TOTAL_SQL = """
SELECT COUNT(*) FROM (
    SELECT 1 FROM orders_execution d WHERE d.stage = 'READY' AND d.due_at <= %s LIMIT %s
) due
"""

# The SQL of CallbackTokenQuerySet.close_and_wake (the hot path of every callback).
_CLOSE_AND_WAKE_POSTGRESQL = """
WITH open_token AS (
    SELECT t.id, t.execution_id FROM orders_callbacktoken t
    WHERE t.token = %(token)s AND t.status = 'OPEN'
), target AS (
    SELECT e.id, e.name AS execution_name
    FROM orders_execution e
    WHERE e.id = (SELECT execution_id FROM open_token) AND e.stage = 'WAITING'
    FOR UPDATE OF e
), closed AS (
    UPDATE orders_callbacktoken t
    SET status = %(status)s, outcome = %(outcome)s::jsonb, closed_at = %(now)s
    WHERE t.id = (SELECT id FROM open_token) AND t.execution_id = (SELECT id FROM target)
        AND t.status = 'OPEN' AND (t.deadline IS NULL OR t.deadline > %(now)s)
    RETURNING t.id, t.execution_id, t.state_name, (SELECT execution_name FROM target)
), woken AS (
    UPDATE orders_execution e SET stage = 'READY', due_at = %(now)s
    WHERE e.id = (SELECT execution_id FROM closed) AND e.stage = 'WAITING'
    RETURNING e.id
)
SELECT id, execution_id, state_name, execution_name FROM closed
"""
_CLOSE_SQLITE = """
UPDATE orders_callbacktoken
SET status = %(status)s, outcome = %(outcome)s, closed_at = %(now)s
WHERE token = %(token)s AND status = 'OPEN' AND (deadline IS NULL OR deadline > %(now)s)
RETURNING id, execution_id, state_name
"""
_WAKE_SQLITE = """
UPDATE orders_execution SET stage = 'READY', due_at = %(now)s
WHERE id = %(execution_id)s AND stage = 'WAITING'
RETURNING name
"""


class CallbackToken(models.Model):
    """The task token of one entry into a .waitForTaskToken state; usable once."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        TIMED_OUT = "TIMED_OUT"
        # The execution ended (StopExecution, its TimeoutSeconds) while waiting.
        CLOSED = "CLOSED"

    token = models.CharField(max_length=2048, unique=True)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="tokens")
    state_name = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    heartbeat_seconds = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_deadline = models.DateTimeField(null=True, blank=True)
    timeout_deadline = models.DateTimeField(null=True, blank=True)
    # The earlier of the two deadlines: the one the expiry sweep reads.
    deadline = models.DateTimeField(null=True, blank=True)
    # What closed it: {"output": ...} | {"error": ..., "cause": ...} | {"heartbeat": bool}.
    outcome = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = CallbackTokenQuerySet.as_manager()

    class Meta:
        db_table = "orders_callbacktoken"
        indexes = [
            # The expiry sweep's cost grows with what is due, not with what is waiting.
            models.Index(
                fields=["deadline"], condition=Q(status="OPEN"), name="token_open_deadline"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state_name} ({self.status})"


# The columns of a history row (Execution.history_row), in its order.
HISTORY_FIELDS = ("execution", "event_id", "previous_event_id", "type", "timestamp", "details")


class HistoryEvent(models.Model):
    """One Step Functions history event; details use the API's member names."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="history")
    event_id = models.PositiveIntegerField()
    previous_event_id = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=40)
    timestamp = models.DateTimeField()
    details = models.JSONField(default=dict)

    class Meta:
        db_table = "orders_historyevent"
        constraints = [
            models.UniqueConstraint(fields=["execution", "event_id"], name="one_event_id")
        ]
        ordering = ["execution", "event_id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Event(models.Model):
    """An entry put on the event bus (PutEvents), written with the state change that made it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bus = models.CharField(max_length=256)
    source = models.CharField(max_length=256)
    detail_type = models.CharField(max_length=128, db_index=True)
    detail = models.JSONField(default=dict)
    time = models.DateTimeField(db_index=True)
    execution = models.ForeignKey(
        Execution, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )

    class Meta:
        db_table = "orders_event"
        ordering = ["time"]

    def __str__(self) -> str:
        return f"{self.detail_type} @ {self.time:%H:%M:%S}"


# The rows of a claim (ExecutionQuerySet.claim_due), by their aliases in its statement: one
# machine and one version instance for all the executions of a batch that share them.
_CLAIMED = Rows(
    Part(Execution, "e"),
    Part(StateMachine, "m", attach="state_machine"),
    Part(StateMachineVersion, "v", attach="version", omit=("definition",)),
)
