"""Callbacks by task token (SendTaskSuccess / Failure / Heartbeat) and the expiry sweep.

Exactly one of {success, failure, timeout, stop} closes a token: each is a conditional UPDATE on
`status = OPEN` (and, for callbacks, a deadline not yet passed), and the row count says who won.
The winner marks the execution READY and a worker runs the next stage after commit.
"""

import contextlib
import logging
import re
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from stepfunctions.errors import InvalidOutput, InvalidToken, TaskTimedOut, ValidationException
from stepfunctions.models import CallbackToken, Execution
from stepfunctions.observability import callback_observed
from stepfunctions.services.deadlines import TOKEN, deadlines_add_on_commit
from stepfunctions.services.messages import execution_nudge, stages_nudge
from stepfunctions.workflow import JsonRefused, json_read, json_value_check

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 2048
MAX_OUTPUT_BYTES = 262_144
MAX_ERROR_LENGTH = 256
MAX_CAUSE_LENGTH = 32_768
# Tokens this service issues: 64 URL-safe base64 characters (stepfunctions.services.stage.token_new).
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{64}$")
_GONE = "Task Timed Out: 'Provided task does not exist anymore'"


def _length_check(field: str, value: str | None, maximum: int, minimum: int = 0) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not minimum <= len(value) <= maximum:
        raise ValidationException(
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            f"Member must have length between {minimum} and {maximum}"
        )
    try:
        json_value_check(value)
    except JsonRefused as error:
        raise ValidationException(
            f"Value at '{field}' failed to satisfy constraint: {error}"
        ) from None


def _token_find(task_token: str) -> dict:
    """The open token's row, or the error Step Functions gives for this token."""
    _length_check("taskToken", task_token, MAX_TOKEN_LENGTH, minimum=1)
    if not _TOKEN_RE.match(task_token):
        raise InvalidToken("Invalid Token: 'Invalid token'")
    row = (
        CallbackToken.objects.filter(token=task_token)
        .values(
            "pk",
            "execution_id",
            "status",
            "heartbeat_seconds",
            "timeout_deadline",
            "state_name",
            # For the callback's log line (stepfunctions.observability).
            execution_name=F("execution__name"),
        )
        .first()
    )
    if row is None:
        # Well-formed but never issued here (or its execution was deleted).
        raise InvalidToken("Invalid Token: 'Provided token does not exist'")
    if row["status"] != CallbackToken.Status.OPEN:
        raise TaskTimedOut(_GONE)
    return row


def _token_close(task_token: str, status: str, outcome: dict) -> dict:
    """Closes an open token and wakes its execution: one statement on PostgreSQL, no SELECT
    before it. Returns the token's row for the log line; raises the error Step Functions gives
    when the token is unknown or no longer open (another callback, the expiry sweep or a stop
    closed it first: the conditional UPDATE's empty RETURNING says it lost)."""
    if not isinstance(task_token, str) or not _TOKEN_RE.match(task_token):
        _token_find(task_token)  # raises the error this token's shape deserves
    now = timezone.now()
    # One statement on PostgreSQL is a transaction of its own; SQLite's two need one.
    one_statement = CallbackToken.objects.close_and_wake_is_one_statement()
    with contextlib.nullcontext() if one_statement else transaction.atomic():
        row = CallbackToken.objects.close_and_wake(
            task_token, status=status, outcome=outcome, now=now
        )
        if row is not None:
            execution_nudge(row["execution_id"])  # after commit (at once, in autocommit)
    if row is None:
        _token_find(task_token)  # InvalidToken when never issued here
        raise TaskTimedOut(_GONE)  # found but closed (or past its deadline)
    # For callback_observed's log line and metrics; callers of the decorated services get None.
    return row


@callback_observed("success")
def task_success(*, task_token: str, output: str) -> dict:
    """Resumes the waiting task with `output` (JSON text). Usable once per token."""
    _length_check("output", output, MAX_OUTPUT_BYTES)
    if output is None or len(output.encode("utf-8", "surrogatepass")) > MAX_OUTPUT_BYTES:
        raise ValidationException(f"Output must be JSON text of at most {MAX_OUTPUT_BYTES} bytes")
    try:
        parsed = json_read(output)
    except JsonRefused as error:
        raise InvalidOutput(f"Invalid Output: '{error}'") from None
    return _token_close(task_token, CallbackToken.Status.SUCCEEDED, {"output": parsed})


@callback_observed("failure")
def task_failure(*, task_token: str, error: str | None = None, cause: str | None = None) -> dict:
    """Fails the waiting task with `error`/`cause`; the state's Retry and Catch decide what next."""
    _length_check("error", error, MAX_ERROR_LENGTH)
    _length_check("cause", cause, MAX_CAUSE_LENGTH)
    return _token_close(task_token, CallbackToken.Status.FAILED, {"error": error, "cause": cause})


@callback_observed("heartbeat")
def task_heartbeat(*, task_token: str) -> dict:
    """Restarts the token's heartbeat clock; the total TimeoutSeconds deadline stays."""
    row = _token_find(task_token)
    if not row["heartbeat_seconds"]:
        return row
    now = timezone.now()
    heartbeat_deadline = now + timedelta(seconds=row["heartbeat_seconds"])
    deadline = min(d for d in (heartbeat_deadline, row["timeout_deadline"]) if d is not None)
    moved = CallbackToken.objects.beat(
        row["pk"], heartbeat_deadline=heartbeat_deadline, deadline=deadline, now=now
    )
    if not moved:
        raise TaskTimedOut(_GONE)
    deadlines_add_on_commit([(TOKEN, deadline)])  # the old bucket fires a sweep that finds nothing
    return row


def tokens_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Moves every open token past its deadline into its timeout; returns how many it expired.

    Each batch locks the executions of the due tokens (in the one lock order: execution, then
    token; SKIP LOCKED: one a callback or a stop holds is left to the next sweep), closes the
    tokens with a conditional UPDATE (a callback that won first leaves nothing to close) and marks
    their executions READY. The work grows with what is due, through the partial index on open
    deadlines; two sweeps running at once never expire a token twice.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            due = CallbackToken.objects.due(now=now, limit=batch_size)
            locked = set(Execution.objects.lock({t.execution_id for t in due}, skip_locked=True))
            tokens = CallbackToken.objects.due_locked(
                [t.pk for t in due if t.execution_id in locked], now=now
            )
            for heartbeat in (True, False):
                ids = [t.pk for t in tokens if (t.heartbeat_deadline == t.deadline) is heartbeat]
                if ids:
                    CallbackToken.objects.expire(ids, heartbeat=heartbeat, now=now)
            execution_ids = [t.execution_id for t in tokens]
            # Due at once, even when the caller swept with a clock set ahead.
            if Execution.objects.wake(execution_ids, at=min(now, timezone.now())):
                stages_nudge()  # one nudge for the batch: its worker claims them all
        total += len(tokens)
        # A full batch of which nothing could be locked is left to the next sweep.
        if len(due) < batch_size or not locked:
            return total
