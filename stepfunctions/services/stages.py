"""The automatic stages of executions: run one by its id, or every due stage in batches.

A stage runs under its execution's row lock while the row says READY and due, so two workers (or a
redelivered message) cannot run it twice; a batch claims its rows with SKIP LOCKED and writes its
stages together (stepfunctions.services.stage.StageWrites).
"""

import logging
from typing import Any

import kombu.exceptions
import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from stepfunctions.models import CallbackToken, Cursor, Execution
from stepfunctions.observability import execution_log_ids
from stepfunctions.services import children
from stepfunctions.services.deadlines import STAGE
from stepfunctions.services.executions import (
    execution_end,
    execution_insert,
    execution_time_out,
)
from stepfunctions.services.messages import execution_nudge, nudge_flag_clear, stages_nudge_send
from stepfunctions.services.stage import Stage, StageWrites
from stepfunctions.workflow import TaskFailure, TaskSuccess, TaskTimeout, resume
from stepfunctions.workflow.errors import RUNTIME

logger = logging.getLogger(__name__)
# A stage due later than this (a long Wait state or retry delay) gets no Celery countdown: the
# relay and the stall sweep run it from due_at. A countdown past the broker's visibility timeout
# would be delivered again every hour until it fires, held in a worker's memory meanwhile.
COUNTDOWN_MAX_SECONDS = 300


def _resume(stage: Stage, execution: Execution) -> Any:
    """Runs the interpreter from the execution's cursor; None when nothing is due."""
    if children.abandoned(execution, now=stage.now()):
        return None
    definition = children.definition_of(execution)
    cursor = execution.position
    if cursor is None:
        raise ValueError(f"Execution {execution.pk} has nothing to resume ({cursor!r})")
    common = {"context": stage.context(), "host": stage}
    if cursor.kind == Cursor.CHILDREN:
        return children.branches_resume(definition, execution, cursor, common)
    result = None
    if cursor.kind == Cursor.TASK:
        token = stage.token_result
        if token is None:  # not read with a batch
            token = CallbackToken.objects.results([cursor.token_id]).get(cursor.token_id)
        if token is None or token["status"] in (
            CallbackToken.Status.OPEN,
            CallbackToken.Status.CLOSED,
        ):
            return None
        outcome = token["outcome"] or {}
        if token["status"] == CallbackToken.Status.SUCCEEDED:
            result = TaskSuccess(outcome.get("output"))
        elif token["status"] == CallbackToken.Status.FAILED:
            result = TaskFailure(outcome.get("error"), outcome.get("cause"))
        else:
            result = TaskTimeout(bool(outcome.get("heartbeat")))
    return resume(definition, cursor, input=execution.input, task_result=result, **common)


def execution_advance(
    *, execution_id: Any, skip_locked: bool = False, ran: list | None = None
) -> bool:
    """Runs the execution's due automatic stage, if one is due. Returns whether it ran one.

    The execution row is locked for the whole stage and the stage runs only while the row says
    READY and due, so two workers (or a redelivered message) cannot run the same stage twice. An
    execution past its TimeoutSeconds runs nothing more: it ends TIMED_OUT instead.

    A stage that fails for a reason that would fail it again (bad data, a bug: anything but a
    lost database or broker connection) ends its execution FAILED with States.Runtime, in a new
    transaction once the stage's has rolled back; a transient error is raised, and the relay or
    the stall sweep runs the stage again.

    `skip_locked` (a relayed nudge): a stage another worker is running is left to it, rather
    than waited for with a worker process tied up. `ran` (a list) gets the execution as its
    stage left it (committed), for a caller that answers from it without reading it again.
    """
    try:
        return _stage_run(execution_id, skip_locked=skip_locked, ran=ran)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        if transaction.get_connection().in_atomic_block:
            raise  # the caller's transaction is broken; it decides (never so in a worker)
        logger.exception("The stage of execution %s failed; the execution fails", execution_id)
        return _fail_poisoned(execution_id, error)


# Errors a later try may not meet: the database or the broker out of reach, a deadlock, a
# serialization failure (PostgreSQL reports those as OperationalError too).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def _fail_poisoned(execution_id: Any, error: Exception) -> bool:
    """Ends an execution whose stage cannot run, as Step Functions ends one on an internal error:
    FAILED with States.Runtime and a cause, ExecutionFailed in its history. Only while its stage is
    still the one that failed (READY): a stage another worker ran meanwhile is left alone."""
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Execution.objects.select_for_update()
            .filter(pk=execution_id, status=Execution.Status.RUNNING, stage=Execution.Stage.READY)
            .first()
        )
        if locked is None:
            return False
        cursor = locked.cursor if isinstance(locked.cursor, dict) else {}
        where = f" in the state '{cursor['state']}'" if isinstance(cursor.get("state"), str) else ""
        cause = f"The execution could not go on{where}: {type(error).__name__}: {error}"
        execution_end(
            execution=locked,
            status=Execution.Status.FAILED,
            event_type="ExecutionFailed",
            error=RUNTIME,
            cause=cause[:4096],
            now=now,
        )
    return True


def _stage_run(execution_id: Any, *, skip_locked: bool, ran: list | None = None) -> bool:
    now = timezone.now()
    with transaction.atomic():
        execution = Execution.objects.due_locked(execution_id, now=now, skip_locked=skip_locked)
        if execution is None:
            return False
        writes = StageWrites()
        stepped = _stage_step(execution, now, writes)
        writes.flush()
    if stepped is None:
        return False
    _stage_log(*stepped)
    if ran is not None:
        ran.append(execution)
    return True


def execution_run_new(*, execution: Execution) -> bool:
    """Runs a new execution's first stage (services.executions.execution_build: not saved yet)
    and inserts its row as the stage left it, in one transaction: no Celery message, no row
    lock (no other transaction sees the row before it commits), no row written twice or read
    back. A stage due again (a Wait, a retry's delay) is nudged as any stage is. Raises what
    the stage raises, with nothing written."""
    now = execution.start_date
    with transaction.atomic():
        writes = StageWrites(new=True)
        ran = _stage_step(execution, now, writes)
        writes.flush()
        if ran is None:  # nothing ran: the row as it was built
            execution_insert(execution)
    if ran is None:
        return False
    _stage_log(*ran)
    return True


def _stage_step(
    execution: Execution, now, writes: StageWrites, token_result=None, *, in_batch: bool = False
):
    """Runs one locked, due execution's stage, its writes queued on `writes` (a timeout is
    written at once). Returns (execution, outcome) to log, or None when nothing was due. A stage
    due again at once is nudged, unless `in_batch`: the batch's loop claims it next."""
    if execution.timeout_at is not None and execution.timeout_at <= now:
        execution_time_out(execution=execution, now=now)
        return execution, Execution.Status.TIMED_OUT
    stage = Stage(execution, now, writes, token_result=token_result)
    outcome = _resume(stage, execution)
    if outcome is None:
        return None
    if stage.save(outcome):
        delay = max((execution.due_at - now).total_seconds(), 0)
        # A stage due later than COUNTDOWN_MAX_SECONDS (a long Wait) is fired at its due_at by
        # the deadline scheduler (the relay and the stall sweep if Redis lost it), not by a
        # countdown the broker would hold for hours.
        if delay <= COUNTDOWN_MAX_SECONDS and (delay or not in_batch):
            execution_nudge(execution.pk, countdown=delay or None)
        elif delay > COUNTDOWN_MAX_SECONDS:
            writes.deadlines.append((STAGE, execution.due_at))  # the deadline scheduler's
    return execution, outcome


def _resume_point(execution: Execution) -> tuple:
    cursor = execution.cursor if isinstance(execution.cursor, dict) else {}
    return (str(cursor.get("kind", "")), str(cursor.get("state", "")))


def stages_run_due(*, batch_size: int | None = None, max_batches: int = 20) -> int:
    """Runs every due stage, `batch_size` executions to a transaction, until a claim comes back
    short; returns how many stages ran. What one nudge runs (stepfunctions.services.messages).

    The nudge flag is cleared BEFORE the first claim, so a stage committed after this claim began
    finds no flag and sends a nudge of its own (the argument is in messages' docstring). A full
    batch nudges again, so a second worker process joins while this one works; after
    `max_batches` the rest is left to that nudge, so one message never runs for long.

    A batch is claimed with SKIP LOCKED (workers share the due stages; a row a stop or another
    worker holds is left to it) and runs in one transaction, one statement per kind of write
    (StageWrites). A short claim that had to skip due rows (held by a worker running them, or for
    a moment by a losing callback or sweep) is followed by one that waits for them, rather than
    leave them to the relay. Its stages run ordered by where they resume, so two batches take the rows the
    apps lock for a state (the coffee bar's config, its day counter) in the same order. If a stage
    fails (a poison stage, a deadlock, a lost connection), the batch rolls back and each of its
    stages runs again alone, in a transaction of its own: a poison stage ends only its own
    execution (States.Runtime), and a transient error is raised for the relay to retry.
    """
    batch_size = batch_size or settings.WORKFLOW_STAGE_BATCH
    nudge_flag_clear()
    total = 0
    wait = False
    for _ in range(max_batches):
        claimed, ran, again, held = _batch_run(batch_size, wait=wait)
        total += ran
        if claimed == batch_size:
            stages_nudge_send()
        elif not again and not held:
            return total
        # Due rows another transaction held (a worker running them, or a losing callback or
        # sweep for a moment): the next claim waits for them rather than leave them to the relay.
        wait = held and not again and claimed < batch_size
    stages_nudge_send()
    return total


def _batch_run(batch_size: int, *, wait: bool = False) -> tuple[int, int, bool, bool]:
    """Claims and runs one batch: (claimed, stages run, whether one of them is due again now,
    whether due rows were held by others and skipped)."""
    now = timezone.now()
    logs: list[tuple] = []
    ids: list = []
    try:
        with transaction.atomic():
            executions, due_total = Execution.objects.claim_due(
                now=now, limit=batch_size, skip_locked=not wait
            )
            ids = [execution.pk for execution in executions]
            executions.sort(key=_resume_point)
            results = CallbackToken.objects.results(
                execution.cursor.get("token_id")
                for execution in executions
                if isinstance(execution.cursor, dict)
                and execution.cursor.get("kind") == Cursor.TASK
            )
            writes = StageWrites()
            for execution in executions:
                token_id = execution.cursor.get("token_id") if execution.cursor else None
                ran = _stage_step(
                    execution, now, writes, token_result=results.get(token_id), in_batch=True
                )
                if ran is not None:
                    logs.append(ran)
            writes.flush()
    except Exception:
        if not ids or transaction.get_connection().in_atomic_block:
            raise
        logger.warning("A batch of %d stages failed; running each alone", len(ids), exc_info=True)
        ran = sum(execution_advance(execution_id=pk, skip_locked=True) for pk in ids)
        return len(ids), ran, False, False
    for ran in logs:
        _stage_log(*ran)
    again = any(
        execution.stage == Execution.Stage.READY
        and execution.due_at is not None
        and execution.due_at <= now
        for execution, _ in logs
    )
    return len(ids), len(logs), again, due_total > len(ids)


def _stage_log(execution: Execution, outcome: Any) -> None:
    """One line per stage: where it stopped, tied to its execution (never a token)."""
    ids = execution_log_ids(execution.pk, execution.name)
    state = getattr(outcome, "state_name", None)
    result = outcome if isinstance(outcome, str) else None
    result = result or getattr(outcome, "status", None) or type(outcome).__name__
    logger.info("Stage ran: %s", result, extra={**ids, "state": state, "outcome": result})
