"""The workflow engine's records: definitions, executions, callback tokens, history, the event log.

Statuses are TextChoices on indexed fields; every transition is made by a conditional UPDATE or under
select_for_update in stepfunctions.services, never by comparing fields in Python alone.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class StateMachine(models.Model):
    """A named workflow. Its definition lives in versions, so an execution keeps the one it began."""

    name = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table the orders app created, kept so an upgrade moves no data.
        db_table = "orders_statemachine"

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:stateMachine:{self.name}"

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
        # The table the orders app created, kept so an upgrade moves no data.
        db_table = "orders_statemachineversion"
        constraints = [
            models.UniqueConstraint(fields=["state_machine", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.state_machine.name} v{self.number}"


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
    # Where the next stage resumes: {"kind": "start" | "task" | "retry" | "continue", ...}.
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

    class Meta:
        # The table the orders app created, kept so an upgrade moves no data.
        db_table = "orders_execution"
        constraints = [
            models.UniqueConstraint(fields=["state_machine", "name"], name="one_execution_name")
        ]
        indexes = [
            models.Index(fields=["state_machine", "status"], name="execution_machine_status"),
            # The stall sweep reads only executions with a stage due.
            models.Index(fields=["due_at"], condition=Q(stage="READY"), name="execution_ready_due"),
        ]

    def __str__(self) -> str:
        return f"{self.state_machine.name}:{self.name}"

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:execution:"
            f"{self.state_machine.name}:{self.name}"
        )


class CallbackToken(models.Model):
    """The task token of one entry into a .waitForTaskToken state; usable once."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        TIMED_OUT = "TIMED_OUT"
        # The execution stopped (StopExecution) while waiting.
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

    class Meta:
        # The table the orders app created, kept so an upgrade moves no data.
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
        # The table the orders app created, kept so an upgrade moves no data.
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
        # The table the orders app created, kept so an upgrade moves no data.
        db_table = "orders_event"
        ordering = ["time"]

    def __str__(self) -> str:
        return f"{self.detail_type} @ {self.time:%H:%M:%S}"
