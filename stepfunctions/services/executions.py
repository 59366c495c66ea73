"""Executions: start, stop, and the end of one from outside its definition.

An execution is in one stage at a time: READY (an automatic stage is due at `due_at`), WAITING (on a
callback token) or DONE. Every change of stage is made under a row lock or by a conditional UPDATE,
so a redelivered or duplicated Celery message finds nothing to do. Its automatic stages run in
stepfunctions.services.stages; the sweeps that end, relay or re-drive them in .sweeps.
"""

import contextlib
import json
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from stepfunctions import hooks
from stepfunctions.errors import ExecutionAlreadyExists, InvalidExecutionInput
from stepfunctions.models import (
    CallbackToken,
    Cursor,
    Execution,
    StateMachine,
    StateMachineVersion,
)
from stepfunctions.models.bulk import rows_insert
from stepfunctions.services import children
from stepfunctions.services.deadlines import TIMEOUT, deadlines_add_on_commit
from stepfunctions.services.messages import execution_nudge
from stepfunctions.services.stage import EXECUTION_FIELDS
from stepfunctions.services.state_machines import definition_for, name_validate
from stepfunctions.workflow import JsonRefused, json_read

MAX_INPUT_BYTES = 262_144


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
    *,
    state_machine: StateMachine,
    input: str | Any = "{}",
    name: str | None = None,
    version: StateMachineVersion | None = None,
    qualifier: str = "",
) -> tuple[Execution, bool]:
    """Starts an execution on `version` (a published version, or one an alias routed to; by
    default the machine's latest revision) and enqueues its first stage. The execution keeps
    that version to its end, whatever is updated or published meanwhile.

    Idempotent by name as Step Functions is: the same name with the same input while RUNNING
    returns the existing execution (created False); otherwise ExecutionAlreadyExists. An EXPRESS
    run is not (execution_build).
    """
    execution = execution_build(
        state_machine=state_machine, input=input, name=name, version=version, qualifier=qualifier
    )
    # One INSERT is a transaction of its own; inside the caller's, a savepoint keeps that one
    # usable when the name is taken.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            execution_insert(execution)
            execution_nudge(execution.pk)  # after commit (at once, in autocommit)
            deadlines_add_on_commit([(TIMEOUT, execution.timeout_at)])
    except IntegrityError:
        existing = Execution.objects.filter(
            state_machine=state_machine, name=execution.name
        ).first()
        if (
            existing is not None
            and existing.status == Execution.Status.RUNNING
            and existing.input == execution.input
        ):
            return existing, False
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{execution.name}'") from None
    return execution, True


def execution_build(
    *,
    state_machine: StateMachine,
    input: str | Any = "{}",
    name: str | None = None,
    version: StateMachineVersion | None = None,
    qualifier: str = "",
) -> Execution:
    """A new execution, not saved yet, at its start and due now. An EXPRESS run's name gets a
    uuid (its ARN's last part: Express runs may share a name), and it runs at most
    SFN_EXPRESS_MAX_SECONDS whatever its TimeoutSeconds."""
    data = input_parse(input=input)
    name = name_validate(name=name) if name is not None else str(uuid.uuid4())
    now = timezone.now()
    version = version or state_machine.version_to_start()
    timeout = definition_for(version=version).timeout_seconds
    if state_machine.express:
        name = f"{name}:{uuid.uuid4()}"
        timeout = min(timeout or math.inf, settings.SFN_EXPRESS_MAX_SECONDS)
    return Execution(
        state_machine=state_machine,
        version=version,
        name=name,
        input=data,
        position=Cursor(Cursor.START),
        due_at=now,
        start_date=now,
        timeout_at=now + timedelta(seconds=timeout) if timeout else None,
        qualifier=qualifier,
    )


def execution_insert(execution: Execution) -> None:
    """Inserts a built execution: a plain INSERT of every column (models.bulk), as Django's
    save() costs more CPU."""
    rows_insert(Execution, [execution], EXECUTION_FIELDS)


def execution_stop(
    *, execution: Execution, error: str | None = None, cause: str | None = None
) -> Execution:
    """Aborts a RUNNING execution and closes its open tokens; a finished one is left as it is."""
    now = timezone.now()
    with transaction.atomic():
        locked = Execution.objects.select_for_update().get(pk=execution.pk)
        if locked.status == Execution.Status.RUNNING:
            execution_end(
                execution=locked,
                status=Execution.Status.ABORTED,
                event_type="ExecutionAborted",
                error=error,
                cause=cause,
                now=now,
            )
    return locked


def execution_end(
    *,
    execution: Execution,
    status: str,
    event_type: str,
    error: str | None,
    cause: str | None,
    now: datetime,
) -> None:
    """Ends a RUNNING execution from outside its definition (a stop, its TimeoutSeconds, a
    poisoned stage), under its row lock: its open tokens close (a late callback answers
    TaskTimedOut), the history says why, and the apps (and plug-ins: hooks.on_execution_closed)
    hear of it in this transaction."""
    children.execution_ending(execution, status, now=now)
    CallbackToken.objects.close_open(execution=execution, now=now)
    details = {k: v for k, v in {"error": error, "cause": cause}.items() if v is not None}
    event = execution.history_event(event_type, details, now=now)
    if execution.state_machine.history_keeps(event_type):
        event.save()
    execution.end(status=status, now=now, error=error or "", cause=cause or "")
    hooks.execution_closed(execution, status)


def execution_time_out(*, execution: Execution, now: datetime) -> None:
    """Ends a RUNNING execution past its TimeoutSeconds (under its row lock) as TIMED_OUT."""
    # A redriven execution's TimeoutSeconds count from its redrive.
    begun = execution.redrive_date or execution.start_date
    seconds = round((execution.timeout_at - begun).total_seconds())
    execution_end(
        execution=execution,
        status=Execution.Status.TIMED_OUT,
        event_type="ExecutionTimedOut",
        error="States.Timeout",
        cause=f"The execution ran longer than its TimeoutSeconds ({seconds})",
        now=now,
    )
