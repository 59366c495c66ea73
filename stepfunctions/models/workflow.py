"""The workflow engine's records: definitions, executions, callback tokens, history, the event log.

Statuses are TextChoices on indexed fields. Every transition is declared here once, as a queryset
method wrapping its conditional UPDATE (or a method used under the row lock), and the services call
these; none compares fields in Python alone. The tables keep the names the orders app gave them
(db_table), so the move into this app moved no data.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from stepfunctions.models.cursor import Cursor


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
            .select_related("state_machine", "version")
            # The parsed definition is cached per version; its JSON is read only on a cache miss.
            .defer("version__definition")
            .filter(pk=pk, stage=Execution.Stage.READY, due_at__lte=now)
            .first()
        )

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
        self.event_count += 1
        return HistoryEvent(
            execution=self,
            event_id=self.event_count,
            previous_event_id=self.event_count - 1,
            type=event_type,
            timestamp=now,
            details=details,
        )

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
