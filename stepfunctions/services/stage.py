"""One automatic stage of one execution: the host the interpreter runs against.

The stage collects what the interpreter does (history events, bus events, a new task token) into
a StageWrites, which writes the stages of a whole batch in one statement per kind of row inside
the caller's transaction: one stage costs a handful of round trips however many states it passes
through, and a batch of stages about as many.
"""

import secrets
from datetime import datetime, timedelta
from typing import Any

from stepfunctions import hooks, resources
from stepfunctions.models import CallbackToken, Event, Execution, HistoryEvent
from stepfunctions.models.bulk import rows_insert, tuples_insert
from stepfunctions.models.history import HISTORY_FIELDS
from stepfunctions.services import children
from stepfunctions.services.deadlines import TOKEN, deadlines_add_on_commit
from stepfunctions.services.events import events_build, events_save
from stepfunctions.workflow import (
    Branching,
    Continue,
    Delayed,
    Finished,
    Outcome,
    Sleeping,
    Waiting,
    cursor_of,
)

TOKEN_BYTES = 48  # 384 random bits, 64 URL-safe characters


def token_new() -> str:
    # A token starting with "-" reads as an option to argparse, so the seed's
    # `aws stepfunctions send-task-success --task-token TOKEN` would refuse 1 token in 64.
    while (token := secrets.token_urlsafe(TOKEN_BYTES)).startswith("-"):
        pass
    return token


class Stage:
    """Implements the interpreter's Host for one execution, then saves the outcome."""

    def __init__(
        self,
        execution: Execution,
        now: datetime,
        writes: "StageWrites",
        *,
        token_result: dict | None = None,
    ) -> None:
        self.execution = execution
        self._now = now
        self.writes = writes
        # The closed token a TASK cursor resumes from ({"status", "outcome"}), read with the batch.
        self.token_result = token_result
        # Its history rows (Execution.history_row): 33 a lifecycle, so no model instances.
        self.history: list[tuple] = []
        self.events: list[Event] = []
        self.token: CallbackToken | None = None
        self.token_fields: dict = {}
        # A Parallel or Map state's group and children, to insert (services.children).
        self.branching: tuple | None = None

    # --- the interpreter's Host ---------------------------------------------------------------
    def now(self) -> datetime:
        return self._now

    def new_token(self) -> str:
        return token_new()

    def invoke(self, resource: str, parameters: Any, *, state_name: str, token: str | None) -> Any:
        # Anything but a StatesError from a handler becomes States.TaskFailed in the interpreter.
        invocation = resources.Invocation(
            self.execution,
            state_name,
            token,
            self._emit,
            batch=self.writes.batch,
            resource=resource,
        )
        # What the handler sets on the token of the wait it opens (an activity's task).
        self.token_fields = invocation.token_fields
        return resources.invoke(resource, parameters, invocation)

    def record(self, event_type: str, details: dict) -> int:
        row = self.execution.history_row(event_type, details, now=self._now)
        # An EXPRESS run keeps only what its logging level would log (numbered all the same).
        if self.execution.state_machine.history_keeps(event_type):
            self.history.append(row)
        return row[1]

    def _emit(self, entries: list[dict]) -> list[str]:
        events = events_build(entries, execution=self.execution, time=self._now)
        self.events.extend(events)
        return [str(event.id) for event in events]

    # --- saving --------------------------------------------------------------------------------
    def context(self) -> dict:
        execution = self.execution
        if (inherited := children.context_of(execution)) is not None:
            return inherited  # a Parallel branch or Map iteration sees its top-level execution
        machine = execution.state_machine
        return {
            "Execution": {
                "Id": execution.arn,
                "Input": execution.input,
                "Name": execution.api_name,
                "StartTime": execution.start_date.isoformat().replace("+00:00", "Z"),
                "RedriveCount": execution.redrive_count,
                "RoleArn": machine.role_arn,
            },
            "StateMachine": {"Id": machine.arn, "Name": machine.name},
        }

    def save(self, outcome: Outcome) -> bool:
        """Queues the stage's writes on its StageWrites (written by its flush, in the caller's
        transaction). Returns True when another automatic stage is due now or later."""
        execution = self.execution
        now = self._now
        execution.due_at = None
        more = False
        if isinstance(outcome, Waiting):
            self.token = _token_build(execution, outcome, now, self.token_fields)
            execution.stage = Execution.Stage.WAITING
            # token_id is the token's id, once StageWrites.flush has inserted it.
            execution.position = cursor_of(outcome)
        elif isinstance(outcome, Sleeping | Delayed):
            # A durable timer: the relay and the stall sweep run the stage once due_at has come.
            more = self._ready_at(outcome.delay_seconds, outcome)
        elif isinstance(outcome, Continue):
            more = self._ready_at(0, outcome)
        elif isinstance(outcome, Branching):
            children.branching_save(self, outcome)
        elif isinstance(outcome, Finished):
            execution.redrive_point_keep(outcome.status, outcome)  # before finish clears the cursor
            execution.finish(
                status=outcome.status,
                now=now,
                output=outcome.output,
                error=outcome.error,
                cause=outcome.cause,
            )
        self.writes.add(self, finished=isinstance(outcome, Finished))
        return more

    def _ready_at(self, delay_seconds: float, outcome: Sleeping | Delayed | Continue) -> bool:
        """Another automatic stage, due `delay_seconds` from now, resuming where `outcome`
        paused."""
        execution = self.execution
        execution.stage = Execution.Stage.READY
        execution.due_at = self._now + timedelta(seconds=delay_seconds)
        execution.position = cursor_of(outcome)
        return True


# The execution's columns a stage changes.
_STAGE_FIELDS = (
    "stage",
    "cursor",
    "due_at",
    "status",
    "output",
    "error",
    "cause",
    "event_count",
    "stop_date",
    "redrive_cursor",
)


# Every column of an execution's row, for its INSERT (models.bulk.rows_insert).
EXECUTION_FIELDS = tuple(
    field.name for field in Execution._meta.concrete_fields if field.name != "id"
) + ("id",)

_TOKEN_FIELDS = (
    "token",
    "execution",
    "state_name",
    "status",
    "heartbeat_seconds",
    "heartbeat_deadline",
    "timeout_deadline",
    "deadline",
    "outcome",
    "created_at",
    "closed_at",
    "activity",
    "task_input",
)


class StageWrites:
    """The writes of a batch of stages, made in one statement per kind of row: the new tokens
    (one INSERT, whose RETURNING gives the ids the cursors name), the history (one multi-row
    INSERT), the bus events and what the apps write for them (hooks.on_events, told of the whole
    batch at once), the executions (one UPDATE). Nothing is read back.

    Each execution is row-locked by the caller for its stage, and its writes touch only its own
    rows (and the apps' rows for it), so stages of one batch commute: the batch writes them
    together, in the order they ran, in the caller's one transaction.
    """

    def __init__(self, *, new: bool = False) -> None:
        # `new`: the stages are new executions' first, their rows not inserted yet: the flush
        # inserts each row as its stage left it, in place of the UPDATE (an EXPRESS run's
        # StartSyncExecution: services.stages.execution_run_new). Rows written before it point
        # at it by foreign keys checked at commit.
        self.new = new
        self.stages: list[Stage] = []
        self.finished: list[Execution] = []
        # The handlers' memo for this batch (resources.Invocation.batch).
        self.batch: dict = {}
        # (kind, moment) deadlines the batch opens besides its tokens' (services.deadlines).
        self.deadlines: list[tuple] = []

    def add(self, stage: Stage, *, finished: bool) -> None:
        self.stages.append(stage)
        if finished:
            self.finished.append(stage.execution)

    def flush(self) -> None:
        stages, self.stages = self.stages, []
        finished, self.finished = self.finished, []
        if not stages:
            return
        waiting = [stage for stage in stages if stage.token is not None]
        if waiting:
            rows_insert(
                CallbackToken, [stage.token for stage in waiting], _TOKEN_FIELDS, returning_pk=True
            )
            for stage in waiting:
                execution = stage.execution
                execution.cursor = {**execution.cursor, "token_id": stage.token.pk}
        children.writes_before_history(stages)
        tuples_insert(
            HistoryEvent, [row for stage in stages for row in stage.history], HISTORY_FIELDS
        )
        events = [event for stage in stages for event in stage.events]
        if events:
            events_save(events)
        if self.new:
            rows_insert(Execution, [stage.execution for stage in stages], EXECUTION_FIELDS)
        else:
            Execution.objects.stages_save([stage.execution for stage in stages], _STAGE_FIELDS)
        children.writes_after_executions(stages, now=stages[0].now())
        # The scheduler hears of the deadlines opened once they are committed.
        deadlines, self.deadlines = self.deadlines, []
        deadlines += [(TOKEN, stage.token.deadline) for stage in waiting]
        deadlines_add_on_commit(deadlines)
        for execution in finished:
            if execution.group_id is None:  # a child run is no app's execution
                hooks.execution_closed(execution, execution.status)


def _token_build(
    execution: Execution, waiting: Waiting, now: datetime, fields: dict
) -> CallbackToken:
    heartbeat = waiting.heartbeat_seconds
    timeout = waiting.timeout_seconds
    heartbeat_deadline = now + timedelta(seconds=heartbeat) if heartbeat else None
    timeout_deadline = now + timedelta(seconds=timeout) if timeout else None
    deadlines = [d for d in (heartbeat_deadline, timeout_deadline) if d is not None]
    return CallbackToken(
        token=waiting.token,
        execution=execution,
        state_name=waiting.state_name,
        heartbeat_seconds=heartbeat,
        heartbeat_deadline=heartbeat_deadline,
        timeout_deadline=timeout_deadline,
        deadline=min(deadlines) if deadlines else None,
        created_at=now,
        **fields,
    )
