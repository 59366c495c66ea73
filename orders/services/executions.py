"""Executions: start, run their automatic stages, stop, recover the stalled.

An execution is in one stage at a time: READY (an automatic stage is due at `due_at`), WAITING (on a
callback token) or DONE. Every change of stage is made under a row lock or by a conditional UPDATE,
so a redelivered or duplicated Celery message finds nothing to do.
"""

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.errors import ExecutionAlreadyExists, InvalidExecutionInput
from orders.models import CallbackToken, Execution, HistoryEvent, StateMachine
from orders.services.stage import Stage
from orders.services.state_machines import definition_for, name_validate
from orders.workflow import (
    TaskFailure,
    TaskSuccess,
    TaskTimeout,
    resume_continue,
    resume_retry,
    resume_task,
    start,
)
from serverlesspresso.operations.logs import execution_log_ids

logger = logging.getLogger(__name__)
MAX_INPUT_BYTES = 262_144


def execution_nudge(execution_id: Any, *, countdown: float | None = None) -> None:
    """Nudges a worker after the current transaction commits; the database holds the truth."""
    from orders.tasks import advance_execution

    def send() -> None:
        advance_execution.apply_async(args=[str(execution_id)], countdown=countdown)

    transaction.on_commit(send)


def input_parse(*, input: str | Any) -> Any:
    """Parses execution input given as JSON text; refuses what is not JSON or too large."""
    if not isinstance(input, str):
        input = json.dumps(input)
    if len(input.encode()) > MAX_INPUT_BYTES:
        raise InvalidExecutionInput(f"Execution input exceeds {MAX_INPUT_BYTES} bytes")
    try:
        return json.loads(input)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from error


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
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                state_machine=state_machine,
                version=state_machine.latest_version,
                name=name,
                input=data,
                cursor={"kind": "start"},
                due_at=now,
                start_date=now,
            )
            execution_nudge(execution.pk)
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


def _resume(stage: Stage, execution: Execution) -> Any:
    """Runs the interpreter from the execution's cursor; None when nothing is due."""
    definition = definition_for(version=execution.version)
    cursor = execution.cursor
    kind = cursor.get("kind")
    common = {"context": stage.context(), "host": stage}
    if kind == "start":
        return start(definition, execution.input, **common)
    if kind == "continue":
        return resume_continue(
            definition, state_name=cursor["state"], state_input=cursor["input"], **common
        )
    if kind == "retry":
        return resume_retry(
            definition,
            state_name=cursor["state"],
            raw_input=cursor["raw_input"],
            attempts=cursor["attempts"],
            **common,
        )
    if kind == "task":
        token = CallbackToken.objects.filter(pk=cursor["token_id"]).values("status", "outcome")
        token = token.first()
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
        return resume_task(
            definition,
            state_name=cursor["state"],
            raw_input=cursor["raw_input"],
            attempts=cursor["attempts"],
            result=result,
            **common,
        )
    raise ValueError(f"Execution {execution.pk} has an unknown cursor {cursor!r}")


def execution_advance(*, execution_id: Any) -> bool:
    """Runs the execution's due automatic stage, if one is due. Returns whether it ran one.

    The execution row is locked for the whole stage and the stage runs only while the row says
    READY and due, so two workers (or a redelivered message) cannot run the same stage twice.
    """
    now = timezone.now()
    with transaction.atomic():
        execution = (
            Execution.objects.select_for_update(of=("self",))
            .select_related("state_machine", "version")
            # The parsed definition is cached per version; its JSON is read only on a cache miss.
            .defer("version__definition")
            .filter(pk=execution_id, stage=Execution.Stage.READY, due_at__lte=now)
            .first()
        )
        if execution is None:
            return False
        stage = Stage(execution, now)
        outcome = _resume(stage, execution)
        if outcome is None:
            return False
        if stage.save(outcome):
            delay = max((execution.due_at - now).total_seconds(), 0)
            execution_nudge(execution.pk, countdown=delay or None)
    _stage_log(execution, outcome)
    return True


def _stage_log(execution: Execution, outcome: Any) -> None:
    """One line per stage: where it stopped, tied to its execution and order (never a token)."""
    ids = execution_log_ids(execution.pk, execution.input)
    state = getattr(outcome, "state_name", None)
    result = getattr(outcome, "status", None) or type(outcome).__name__
    logger.info("Stage ran: %s", result, extra={**ids, "state": state, "outcome": result})


def execution_stop(
    *, execution: Execution, error: str | None = None, cause: str | None = None
) -> Execution:
    """Aborts a RUNNING execution and closes its open tokens; a finished one is left as it is."""
    now = timezone.now()
    with transaction.atomic():
        locked = Execution.objects.select_for_update().get(pk=execution.pk)
        if locked.status != Execution.Status.RUNNING:
            return locked
        CallbackToken.objects.filter(execution=locked, status=CallbackToken.Status.OPEN).update(
            status=CallbackToken.Status.CLOSED, closed_at=now
        )
        locked.event_count += 1
        HistoryEvent.objects.create(
            execution=locked,
            event_id=locked.event_count,
            previous_event_id=locked.event_count - 1,
            type="ExecutionAborted",
            timestamp=now,
            details={k: v for k, v in {"error": error, "cause": cause}.items() if v is not None},
        )
        locked.status = Execution.Status.ABORTED
        locked.stage = Execution.Stage.DONE
        locked.stop_date = now
        locked.due_at = None
        locked.error = error or ""
        locked.cause = cause or ""
        locked.save()
    return locked


def executions_recover(*, now=None, limit: int = 1000) -> int:
    """Re-enqueues executions whose automatic stage has been due for longer than the stall time.

    A lost message or a killed worker leaves such an execution; running its stage twice is
    harmless, so this errs on the side of nudging.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WORKFLOW_STALL_SECONDS)
    ids = list(
        Execution.objects.filter(stage=Execution.Stage.READY, due_at__lte=cutoff)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    from orders.tasks import advance_execution

    for execution_id in ids:
        advance_execution.delay(str(execution_id))
    if ids:
        logger.warning("Re-drove %d stalled executions", len(ids))
    return len(ids)
