"""Executions: one run of a state machine's version, with its status and the stage it is in.

Every change of an execution's status or stage is declared here, as a QuerySet or model method
whose UPDATE is conditional on the state it leaves (the row count says who won), or made on a
row the caller holds locked (a stage's batch, written by `stages_save`); the services call these.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, models
from django.db.models import Q, Subquery

from stepfunctions.models.bulk import rows_update
from stepfunctions.models.children import ChildGroup
from stepfunctions.models.fields import JSONValueField
from stepfunctions.models.history import HistoryEvent
from stepfunctions.models.redrive import RedriveFields, RedriveQuerySet
from stepfunctions.models.rows import Part, Rows
from stepfunctions.models.sql import PerVendor, Statement
from stepfunctions.models.state_machines import StateMachine, StateMachineVersion
from stepfunctions.workflow import Cursor


class ExecutionQuerySet(RedriveQuerySet, models.QuerySet):
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
        sql = _CLAIM.text(
            connection,
            columns=_CLAIMED.columns(connection),
            due_total=_DUE_TOTAL.text(connection),
            skip_locked=" SKIP LOCKED" if skip_locked else "",
        )
        params = {"now": now, "limit": limit, "bound": limit + 1}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        claimed = _CLAIMED.objects(rows, connection)
        _groups_attach(claimed)
        if not _CLAIM_COUNTS_DUE.of(connection):
            return claimed, len(claimed)
        return claimed, rows[0][-1] if rows else self._due_total(now, limit)

    def _due_total(self, now: datetime, limit: int) -> int:
        connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(_DUE_TOTAL.text(connection), {"now": now, "bound": limit + 1})
            return cursor.fetchone()[0]

    def stages_save(self, executions: list["Execution"], fields: Iterable[str]) -> None:
        """Writes `fields` of many executions in one UPDATE (models.bulk.rows_update), the rows
        locked by the caller."""
        if not executions:
            return
        rows_update(Execution, executions, fields, using=self.db)

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

    def children_start(self, *, group_id: Any, count: int, now: datetime) -> int:
        """WAITING -> READY (due now) for up to `count` children of a Map's group not started yet
        (waiting at their START cursor), lowest branch index first, in one conditional UPDATE;
        returns how many started. The caller holds the group's row, which serializes the
        children ending at once."""
        unstarted = (
            self.filter(group_id=group_id, stage=Execution.Stage.WAITING, cursor__kind=Cursor.START)
            .order_by("branch_index")
            .values("pk")[:count]
        )
        return self.filter(pk__in=Subquery(unstarted), stage=Execution.Stage.WAITING).update(
            stage=Execution.Stage.READY, due_at=now
        )

    def event_ids_reserve(self, *, root_id: Any, count: int) -> int | None:
        """Numbers `count` history events for a RUNNING execution another transaction may be
        running (its row lock serializes them): one conditional UPDATE ... RETURNING. Returns the
        last id reserved, or None once it has ended (its history is closed)."""
        connection = connections[self.db]
        key = Execution._meta.pk.get_db_prep_value(root_id, connection)
        with connection.cursor() as cursor:
            cursor.execute(_EVENT_IDS_RESERVE.text(connection), [count, key])
            row = cursor.fetchone()
        return row[0] if row else None

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


class Execution(RedriveFields, models.Model):
    """One run of a state machine's version: its input, where it is, and how it ended."""

    # Step Functions' ExecutionStatus (each value its name): RUNNING, then one final status.
    Status = models.TextChoices(
        "Status",
        "RUNNING SUCCEEDED FAILED TIMED_OUT ABORTED",
        module=__name__,
        qualname="Execution.Status",
    )

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
    # An EXPRESS run's is "<name>:<uuid>" (its ARN's last parts: Express runs share names).
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.READY)
    # Where the next stage resumes, as JSON: read and written through `position` (a Cursor).
    cursor = models.JSONField(default=dict)
    due_at = models.DateTimeField(null=True, blank=True)
    input = JSONValueField()  # JSON null is a value like any other (a Map's item may be null)
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
        ChildGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    branch_index = models.PositiveIntegerField(null=True, blank=True)
    # The task token of the parent's `states:startExecution.sync` task that waits for this
    # execution to end (stepfunctions.integrations.nested); empty for any other execution. The
    # database's default too, so a process still running the previous code inserts rows.
    parent_token = models.CharField(max_length=2048, blank=True, default="", db_default="")
    # What StartExecution named besides the machine: "" (the machine: its latest revision), a
    # published version's number ("3"), or an alias with the version it routed to ("prod:3").
    qualifier = models.CharField(max_length=96, blank=True, default="", db_default="")

    objects = ExecutionQuerySet.as_manager()

    class Meta:
        # The admin's Stop (StopExecution from the execution's page and the list's action).
        permissions = [
            ("stop_execution", "Can stop a running execution"),
            ("redrive_execution", "Can redrive an execution that did not succeed"),
        ]
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
        machine = self.state_machine
        kind = "express" if machine.express else "execution"
        return (
            f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:{kind}:"
            f"{machine.name}:{self.name}"
        )

    @property
    def api_name(self) -> str:
        """The name it was started with (an EXPRESS run's without its ":<uuid>")."""
        return self.name.partition(":")[0]

    @property
    def position(self) -> Cursor | None:
        """Where the next stage resumes; None once the execution is done."""
        return Cursor.from_json(self.cursor)

    @position.setter
    def position(self, cursor: Cursor | None) -> None:
        self.cursor = cursor.to_json() if cursor is not None else {}

    def history_event(self, event_type: str, details: dict, *, now: datetime) -> HistoryEvent:
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
        """RUNNING -> a final status, made by the caller under the row lock, then saved (a
        stage's batch writes it with `stages_save`; see `end` for one ended from outside)."""
        self.status = status
        self.stage = Execution.Stage.DONE
        self.stop_date = now
        self.due_at = None
        self.position = None
        self.output = output
        self.error = error or ""
        self.cause = cause or ""

    def end(self, *, status: str, now: datetime, error: str = "", cause: str = "") -> bool:
        """RUNNING -> `status` (stage DONE, nothing due, no cursor) from outside its definition
        (a stop, its TimeoutSeconds, a poisoned stage, a child aborted), under the caller's row
        lock: one UPDATE, conditional on RUNNING, of what ending changes and of the event count
        the history written meanwhile moved. False (nothing written) if it had ended already."""
        self.redrive_point_keep(status, None)  # where a redrive goes on: before finish clears it
        self.finish(status=status, now=now, error=error, cause=cause)
        return bool(
            Execution.objects.filter(pk=self.pk, status=Execution.Status.RUNNING).update(
                **{name: getattr(self, name) for name in _END_FIELDS}
            )
        )


# The columns `Execution.end` writes: what `finish` changes, and the history's count.
_END_FIELDS = (
    "status",
    "stage",
    "cursor",
    "due_at",
    "stop_date",
    "output",
    "error",
    "cause",
    "event_count",
    "redrive_cursor",
)


def _groups_attach(claimed: list[Execution]) -> None:
    """The child runs' groups (Parallel branches, Map iterations), in one query for the batch
    when it has any, so a child's stage does not load its group by itself."""
    group_ids = {execution.group_id for execution in claimed if execution.group_id is not None}
    if not group_ids:
        return
    groups = ChildGroup.objects.in_bulk(group_ids)
    for execution in claimed:
        if execution.group_id is not None:
            execution.group = groups[execution.group_id]


# Due stages, counted up to a bound through the partial index on READY executions' due_at.
_DUE_TOTAL = Statement(
    "SELECT COUNT(*) FROM ("
    " SELECT 1 FROM {Execution} d WHERE d.stage = 'READY' AND d.due_at <= %(now)s LIMIT %(bound)s"
    ") due"
)

# ExecutionQuerySet.claim_due's statement: the due executions with their machines and versions
# (not the versions' definitions: parsed ones are cached per version), oldest first (ties broken
# by id). PostgreSQL: row-locked, with the count of due rows (up to a bound) as a last column.
_CLAIM_FROM = (
    " FROM {Execution} e"
    " JOIN {StateMachine} m ON m.id = e.state_machine_id"
    " JOIN {StateMachineVersion} v ON v.id = e.version_id"
    " WHERE e.stage = 'READY' AND e.due_at <= %(now)s ORDER BY e.due_at, e.id LIMIT %(limit)s"
)
_CLAIM = Statement(
    "SELECT {columns}, ({due_total})" + _CLAIM_FROM + " FOR UPDATE OF e{skip_locked}",
    sqlite="SELECT {columns}" + _CLAIM_FROM,
)
_CLAIM_COUNTS_DUE = PerVendor(postgresql=True, sqlite=False)

_EVENT_IDS_RESERVE = Statement(
    "UPDATE {Execution} SET event_count = event_count + %s"
    " WHERE id = %s AND status = 'RUNNING' RETURNING event_count"
)

# The rows of a claim (ExecutionQuerySet.claim_due), by their aliases in its statement: one
# machine and one version instance for all the executions of a batch that share them.
_CLAIMED = Rows(
    Part(Execution, "e"),
    Part(StateMachine, "m", attach="state_machine"),
    Part(StateMachineVersion, "v", attach="version", omit=("definition",)),
)
