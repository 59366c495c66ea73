"""Executions: start, run their automatic stages, stop, recover the stalled.

An execution is in one stage at a time: READY (an automatic stage is due at `due_at`), WAITING (on a
callback token) or DONE. Every change of stage is made under a row lock or by a conditional UPDATE,
so a redelivered or duplicated Celery message finds nothing to do.
"""

import contextlib
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import kombu.exceptions
import redis
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from stepfunctions import hooks
from stepfunctions.errors import ExecutionAlreadyExists, InvalidExecutionInput
from stepfunctions.models import CallbackToken, Cursor, Execution, StateMachine
from stepfunctions.models.bulk import rows_insert
from stepfunctions.observability import execution_log_ids
from stepfunctions.services import children
from stepfunctions.services.nudges import nudge_flag_clear, stages_nudge_send
from stepfunctions.services.stage import Stage, StageWrites
from stepfunctions.services.state_machines import definition_for, name_validate
from stepfunctions.workflow import (
    JsonRefused,
    TaskFailure,
    TaskSuccess,
    TaskTimeout,
    json_read,
    resume,
)
from stepfunctions.workflow.errors import RUNTIME

logger = logging.getLogger(__name__)
MAX_INPUT_BYTES = 262_144
# A stage due later than this (a long Wait state or retry delay) gets no Celery countdown: the
# relay and the stall sweep run it from due_at. A countdown past the broker's visibility timeout
# would be delivered again every hour until it fires, held in a worker's memory meanwhile.
COUNTDOWN_MAX_SECONDS = 300


def execution_nudge(execution_id: Any, *, countdown: float | None = None) -> None:
    """Nudges a worker after the current transaction commits; the database holds the truth.

    A stage due now is left to the batch nudge (stepfunctions.services.nudges: one message for
    every stage due, sent only when none is pending); a stage due later gets a message of its own,
    delivered at that time. The send never fails the operation that committed: with the broker
    down it is logged, and the relay (executions_relay) sends the nudge again once the broker
    answers.
    """
    from stepfunctions.tasks import advance_execution

    if not countdown:
        stages_nudge()
        return

    def send() -> None:
        advance_execution.apply_async(args=[str(execution_id)], countdown=countdown)

    transaction.on_commit(send, robust=True)


def stages_nudge() -> None:
    """After the current transaction commits, makes sure a worker is coming for the due stages."""
    transaction.on_commit(stages_nudge_send, robust=True)


def input_parse(*, input: str | Any) -> Any:
    """Parses execution input given as JSON text; refuses what is not JSON or too large."""
    try:
        if not isinstance(input, str):
            input = json.dumps(input)
        if len(input.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
            raise InvalidExecutionInput(f"Execution input exceeds {MAX_INPUT_BYTES} bytes")
        return json_read(input)
    except (JsonRefused, ValueError, RecursionError) as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None


def execution_start(
    *, state_machine: StateMachine, input: str | Any = "{}", name: str | None = None
) -> tuple[Execution, bool]:
    """Starts an execution on the machine's latest version and enqueues its first stage.

    Idempotent by name as Step Functions is: the same name with the same input while RUNNING
    returns the existing execution (created False); otherwise ExecutionAlreadyExists.
    """
    data = input_parse(input=input)
    name = name_validate(name=name) if name is not None else str(uuid.uuid4())
    now = timezone.now()
    version = state_machine.version_to_start()
    timeout = definition_for(version=version).timeout_seconds
    execution = Execution(
        state_machine=state_machine,
        version=version,
        name=name,
        input=data,
        position=Cursor(Cursor.START),
        due_at=now,
        start_date=now,
        timeout_at=now + timedelta(seconds=timeout) if timeout else None,
    )
    # One INSERT is a transaction of its own; inside the caller's, a savepoint keeps that one
    # usable when the name is taken.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            # A plain INSERT of every column (models.bulk): Django's save() costs more CPU.
            rows_insert(Execution, [execution], _EXECUTION_FIELDS)
            execution_nudge(execution.pk)  # after commit (at once, in autocommit)
    except IntegrityError:
        existing = Execution.objects.filter(state_machine=state_machine, name=name).first()
        if (
            existing is not None
            and existing.status == Execution.Status.RUNNING
            and existing.input == data
        ):
            return existing, False
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{name}'") from None
    return execution, True


_EXECUTION_FIELDS = tuple(
    field.name for field in Execution._meta.concrete_fields if field.name != "id"
) + ("id",)


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


def execution_advance(*, execution_id: Any, skip_locked: bool = False) -> bool:
    """Runs the execution's due automatic stage, if one is due. Returns whether it ran one.

    The execution row is locked for the whole stage and the stage runs only while the row says
    READY and due, so two workers (or a redelivered message) cannot run the same stage twice. An
    execution past its TimeoutSeconds runs nothing more: it ends TIMED_OUT instead.

    A stage that fails for a reason that would fail it again (bad data, a bug: anything but a
    lost database or broker connection) ends its execution FAILED with States.Runtime, in a new
    transaction once the stage's has rolled back; a transient error is raised, and the relay or
    the stall sweep runs the stage again.

    `skip_locked` (a relayed nudge): a stage another worker is running is left to it, rather
    than waited for with a worker process tied up.
    """
    try:
        return _stage_run(execution_id, skip_locked=skip_locked)
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
        _end(locked, Execution.Status.FAILED, "ExecutionFailed", RUNTIME, cause[:4096], now=now)
    return True


def _stage_run(execution_id: Any, *, skip_locked: bool) -> bool:
    now = timezone.now()
    with transaction.atomic():
        execution = Execution.objects.due_locked(execution_id, now=now, skip_locked=skip_locked)
        if execution is None:
            return False
        writes = StageWrites()
        ran = _stage_step(execution, now, writes)
        writes.flush()
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
        _time_out(execution, now=now)
        return execution, Execution.Status.TIMED_OUT
    stage = Stage(execution, now, writes, token_result=token_result)
    outcome = _resume(stage, execution)
    if outcome is None:
        return None
    if stage.save(outcome):
        delay = max((execution.due_at - now).total_seconds(), 0)
        # A stage due later than COUNTDOWN_MAX_SECONDS (a long Wait) is fired from its due_at by
        # the relay and the stall sweep, not by a countdown the broker would hold for hours.
        if delay <= COUNTDOWN_MAX_SECONDS and (delay or not in_batch):
            execution_nudge(execution.pk, countdown=delay or None)
    return execution, outcome


def _resume_point(execution: Execution) -> tuple:
    cursor = execution.cursor if isinstance(execution.cursor, dict) else {}
    return (str(cursor.get("kind", "")), str(cursor.get("state", "")))


def stages_run_due(*, batch_size: int | None = None, max_batches: int = 20) -> int:
    """Runs every due stage, `batch_size` executions to a transaction, until a claim comes back
    short; returns how many stages ran. What one nudge runs (stepfunctions.services.nudges).

    The nudge flag is cleared BEFORE the first claim, so a stage committed after this claim began
    finds no flag and sends a nudge of its own (the argument is in nudges' docstring). A full
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
    """One line per stage: where it stopped, tied to its execution and order (never a token)."""
    ids = execution_log_ids(execution.pk, execution.input)
    state = getattr(outcome, "state_name", None)
    result = outcome if isinstance(outcome, str) else None
    result = result or getattr(outcome, "status", None) or type(outcome).__name__
    logger.info("Stage ran: %s", result, extra={**ids, "state": state, "outcome": result})


def execution_stop(
    *, execution: Execution, error: str | None = None, cause: str | None = None
) -> Execution:
    """Aborts a RUNNING execution and closes its open tokens; a finished one is left as it is."""
    now = timezone.now()
    with transaction.atomic():
        locked = Execution.objects.select_for_update().get(pk=execution.pk)
        if locked.status == Execution.Status.RUNNING:
            _end(locked, Execution.Status.ABORTED, "ExecutionAborted", error, cause, now=now)
    return locked


def _end(
    locked: Execution, status: str, event_type: str, error: str | None, cause: str | None, *, now
) -> None:
    """Ends a RUNNING execution from outside its definition (a stop, its TimeoutSeconds), under
    its row lock: its open tokens close (a late callback answers TaskTimedOut), the history says
    why, and the apps hear of it in this transaction."""
    children.execution_ending(locked, status, error=error, cause=cause, now=now)
    CallbackToken.objects.close_open(execution=locked, now=now)
    details = {k: v for k, v in {"error": error, "cause": cause}.items() if v is not None}
    locked.history_event(event_type, details, now=now).save()
    locked.end(status=status, now=now, error=error or "", cause=cause or "")
    hooks.execution_closed(locked, status)


def _time_out(locked: Execution, *, now) -> None:
    seconds = round((locked.timeout_at - locked.start_date).total_seconds())
    cause = f"The execution ran longer than its TimeoutSeconds ({seconds})"
    _end(locked, Execution.Status.TIMED_OUT, "ExecutionTimedOut", "States.Timeout", cause, now=now)


def executions_time_out(*, now=None, limit: int = 500) -> int:
    """Ends every running execution past its top-level TimeoutSeconds as TIMED_OUT with
    States.Timeout, as Step Functions does, wherever it waits (a token without a deadline, a
    retry's delay). Each is re-checked under its row lock, so a second sweep changes nothing."""
    now = now or timezone.now()
    ended = 0
    for execution_id in Execution.objects.past_timeout(now=now, limit=limit):
        with transaction.atomic():
            locked = (
                Execution.objects.select_for_update()
                .filter(pk=execution_id, status=Execution.Status.RUNNING, timeout_at__lte=now)
                .first()
            )
            if locked is not None:
                _time_out(locked, now=now)
                ended += 1
    return ended


def executions_recover(*, now=None, limit: int = 1000) -> int:
    """Re-enqueues executions whose automatic stage has been due for longer than the stall time.

    A lost message or a killed worker leaves such an execution; running its stage twice is
    harmless, so this errs on the side of nudging.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WORKFLOW_STALL_SECONDS)
    ids = Execution.objects.stalled(before=cutoff, limit=limit)
    from stepfunctions.tasks import advance_execution

    for execution_id in ids:
        advance_execution.delay(str(execution_id))
    if ids:
        logger.warning("Re-drove %d stalled executions", len(ids))
    return len(ids)


def executions_relay(*, now=None, limit: int = 500) -> int:
    """The outbox's relay: sends the nudge again for stages due for more than
    WORKFLOW_RELAY_SECONDS, so a nudge lost with the broker (down at commit, or restarted without
    its queue) is sent as soon as the broker answers, not after the stall time.

    Only while the broker's queue is empty: nudges waiting in line are not lost, and sending more
    would only lengthen the line. A relayed nudge skips a stage a worker is running.
    """
    from stepfunctions.tasks import advance_execution

    if _queue_length(advance_execution.app) > 0:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WORKFLOW_RELAY_SECONDS)
    ids = Execution.objects.stalled(before=cutoff, limit=limit)
    for execution_id in ids:
        advance_execution.apply_async(args=[str(execution_id)], kwargs={"relayed": True})
    if ids:
        logger.info("Relayed %d due stages", len(ids))
    return len(ids)


def _queue_length(app) -> int:
    """Messages waiting in the default queue (not those workers have reserved)."""
    with app.connection_or_acquire() as connection:  # from the pool: this runs every second
        try:
            _, count, _ = connection.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            )
        except connection.channel_errors:
            return 0  # not declared yet: nothing waits in it
    return count
