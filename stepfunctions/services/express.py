"""Express workflows: synchronous runs (what an EXPRESS machine may not hold: .express_definitions).

An EXPRESS run is an Execution row like a STANDARD one, run by the same stages, with two
differences made where they happen: its history keeps only what its machine's logging level
would log (StateMachine.history_keeps; none by default), and it lives at most
SFN_EXPRESS_MAX_SECONDS (services.executions.execution_start).

StartSyncExecution (express_sync_start) runs the first stage in the caller's request, in the
transaction that inserts the run, with no Celery message: a run with no Wait or long Task ends
there, in one transaction of a few statements. A run
that pauses (a Wait state, a retry's delay, an HTTP Task on the task queue) goes on through the
ordinary stages, and the caller waits for its end (express_sync_wait in a request thread,
express_sync_wait_async on an event loop, holding no thread), looking at the row at growing
intervals, up to the run's deadline, when the caller ends it TIMED_OUT itself if no sweep has.
"""

import asyncio
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from stepfunctions.errors import StateMachineTypeNotSupported
from stepfunctions.models import Execution, StateMachine, StateMachineVersion
from stepfunctions.services.executions import (
    execution_build,
    execution_insert,
    execution_time_out,
)
from stepfunctions.services.stages import TRANSIENT_ERRORS, execution_advance, execution_run_new

logger = logging.getLogger(__name__)
NOT_SUPPORTED = "This operation is not supported by this type of state machine"
# How often a waiting caller looks at its run: soon at first, then at most every _LOOK_MAX s.
_LOOK_FIRST, _LOOK_MAX = 0.02, 0.25
# A sweep may end a run past its deadline a moment late; the caller ends it itself after this.
_DEADLINE_GRACE = 0.5


def express_sync_start(
    *,
    state_machine: StateMachine,
    input: str | Any = "{}",
    name: str | None = None,
    version: StateMachineVersion | None = None,
    qualifier: str = "",
) -> Execution:
    """StartSyncExecution's start: an EXPRESS run (StateMachineTypeNotSupported for a STANDARD
    machine), its stages run here while one is due at once. Returns the row as it stands (ended,
    or paused for a later stage the ordinary stages run)."""
    if not state_machine.express:
        raise StateMachineTypeNotSupported(NOT_SUPPORTED)
    execution = execution_build(
        state_machine=state_machine, input=input, name=name, version=version, qualifier=qualifier
    )
    try:
        execution_run_new(execution=execution)
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        # A stage that fails for good: run again the ordinary way, which ends the run FAILED
        # with States.Runtime (services.stages.execution_advance).
        logger.warning("An Express run's first stage failed; running it again", exc_info=True)
        execution = execution_build(
            state_machine=state_machine,
            input=input,
            name=name,
            version=version,
            qualifier=qualifier,
        )
        execution_insert(execution)
    # Each call runs a stage due now (a Parallel's branches, a transition budget's next part),
    # under the row lock, and hands back the row as the stage left it.
    while execution.stage == Execution.Stage.READY and execution.due_at <= timezone.now():
        ran: list[Execution] = []
        if not execution_advance(execution_id=execution.pk, ran=ran) or not ran:
            # Another worker ran it, or the stage failed and ended the run.
            return express_run_read(execution_id=execution.pk) or execution
        execution = ran[0]
    return execution


def express_run_read(*, execution_id: Any) -> Execution | None:
    """The run once it has ended; None while it runs. A run past its deadline (and the grace a
    sweep has to end it) is ended TIMED_OUT here, under its row lock, as the sweep would."""
    execution = (
        Execution.objects.select_related("state_machine")
        .only(*_READ_FIELDS)
        .filter(pk=execution_id)
        .first()
    )
    if execution is None or execution.status != Execution.Status.RUNNING:
        return execution
    now = timezone.now()
    if (
        execution.timeout_at is None
        or (now - execution.timeout_at).total_seconds() < _DEADLINE_GRACE
    ):
        return None
    with transaction.atomic():
        locked = (
            Execution.objects.select_for_update()
            .filter(pk=execution_id, status=Execution.Status.RUNNING)
            .first()
        )
        if locked is not None:
            execution_time_out(execution=locked, now=now)
    return express_run_read(execution_id=execution_id)


_READ_FIELDS = (
    "state_machine__name",
    "state_machine__type",
    "name",
    "status",
    "input",
    "output",
    "error",
    "cause",
    "start_date",
    "stop_date",
    "timeout_at",
)


def _looks() -> Iterator[float]:
    """The pauses between a waiting caller's looks at its run."""
    pause = _LOOK_FIRST
    while True:
        yield pause
        pause = min(pause * 2, _LOOK_MAX)


def _wait_bound(execution: Execution) -> float:
    """Seconds a caller waits at most: the run's deadline, its grace, and a margin."""
    if execution.timeout_at is None:
        return math.inf
    left = (execution.timeout_at - timezone.now()).total_seconds()
    return max(left, 0) + _DEADLINE_GRACE + 5


def express_sync_wait(*, execution: Execution) -> Execution:
    """Waits in this thread for the run's end (a request thread: the WSGI path)."""
    if execution.status != Execution.Status.RUNNING:
        return execution
    deadline = time.monotonic() + _wait_bound(execution)
    for pause in _looks():
        time.sleep(pause)
        ended = express_run_read(execution_id=execution.pk)
        if ended is not None:
            return ended
        if time.monotonic() > deadline:
            raise RuntimeError(f"Express run {execution.pk} did not end by its deadline")
    raise AssertionError("unreachable")


async def express_sync_wait_async(*, execution: Execution) -> Execution:
    """Waits on the event loop for the run's end: a coroutine, no thread held between looks
    (each look a moment of the process's shared sync thread)."""
    if execution.status != Execution.Status.RUNNING:
        return execution
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _wait_bound(execution)
    read = sync_to_async(express_run_read)
    for pause in _looks():
        await asyncio.sleep(pause)
        ended = await read(execution_id=execution.pk)
        if ended is not None:
            return ended
        if loop.time() > deadline:
            raise RuntimeError(f"Express run {execution.pk} did not end by its deadline")
    raise AssertionError("unreachable")


def express_billed_milliseconds(execution: Execution) -> int:
    """AWS bills an Express run by the 100 ms, 100 at the least."""
    end = execution.stop_date or timezone.now()
    milliseconds = (end - execution.start_date).total_seconds() * 1000
    return max(100, math.ceil(milliseconds / 100) * 100)
