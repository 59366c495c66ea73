"""RedriveExecution: an execution that FAILED, TIMED_OUT or was ABORTED goes on from the state
that did not succeed, as Step Functions redrives one.

Same execution (ARN, input, version); its history goes on with ExecutionRedriven; the state that
did not succeed is entered again with the input it had (Execution.redrive_cursor, kept as the
execution ended: stepfunctions.workflow.redrive_point). Successful states are not run again; in a
Parallel or Map state waiting on its child runs, only the branches and iterations that did not
succeed run again (theirs from where each stopped), the others' outputs are kept.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from stepfunctions import hooks
from stepfunctions.errors import ExecutionNotRedrivable
from stepfunctions.models import ChildGroup, Cursor, Execution
from stepfunctions.models.redrive import REDRIVABLE_STATUSES
from stepfunctions.services.messages import execution_nudge, stages_nudge_send
from stepfunctions.services.state_machines import definition_for
from stepfunctions.workflow.interpreter import MAX_HISTORY_EVENTS

REDRIVABLE, NOT_REDRIVABLE = "REDRIVABLE", "NOT_REDRIVABLE"
# Step Functions redrives an execution up to 14 days after it ended, and not past a year open.
REDRIVABLE_PERIOD = timedelta(days=14)
MAX_OPEN_TIME = timedelta(days=365)
# A redriven run must fit ExecutionRedriven and the state it enters again into the history's
# quota; the interpreter stops a run 16 events short of it (AWS's own bound is 24,999 events).
HISTORY_EVENTS_REDRIVABLE = MAX_HISTORY_EVENTS - 17
# RedriveExecution's clientToken: the last 10 tokens of redrives that succeeded, for 15 minutes.
TOKENS_KEPT = 10
TOKEN_WINDOW = timedelta(minutes=15)

# AWS's redriveStatusReason for each refusal.
REASON_RUNNING = "Execution is RUNNING and cannot be redriven."
REASON_SUCCEEDED = "Execution is SUCCEEDED and cannot be redriven."
REASON_BEFORE_REDRIVE = "Execution was started before the launch of RedriveExecution."
REASON_HISTORY_LIMIT = "Execution history event limit exceeded."
REASON_MAX_TIME = "Execution has exceeded the max execution time."
REASON_PERIOD = "Execution redrivable period exceeded."


def execution_redrive_status(*, execution: Execution, now: datetime) -> tuple[str, str | None]:
    """(redriveStatus, redriveStatusReason) as DescribeExecution gives them: REDRIVABLE with no
    reason, or NOT_REDRIVABLE and why, the same reason RedriveExecution refuses with."""
    if execution.status == Execution.Status.RUNNING:
        return NOT_REDRIVABLE, REASON_RUNNING
    if execution.status == Execution.Status.SUCCEEDED:
        return NOT_REDRIVABLE, REASON_SUCCEEDED
    if not execution.redrive_cursor:  # it ended before this engine kept where to go on
        return NOT_REDRIVABLE, REASON_BEFORE_REDRIVE
    if execution.event_count >= HISTORY_EVENTS_REDRIVABLE:
        return NOT_REDRIVABLE, REASON_HISTORY_LIMIT
    if now - execution.start_date >= MAX_OPEN_TIME:
        return NOT_REDRIVABLE, REASON_MAX_TIME
    if execution.stop_date is not None and now - execution.stop_date > REDRIVABLE_PERIOD:
        return NOT_REDRIVABLE, REASON_PERIOD
    refused = hooks.redrive_refusal(execution)  # an app's own reason (the coffee bar's orders)
    if refused:
        return NOT_REDRIVABLE, refused
    return REDRIVABLE, None


def execution_redrive(*, execution: Execution, client_token: str | None = None) -> datetime:
    """Redrives a top-level execution that did not succeed; returns the redrive's date.

    Under the execution's row lock, and written by a transition conditional on the status and
    redrive count read (Execution.objects.redrive): of two redrives at once exactly one redrives,
    the other is refused as RUNNING. The same `client_token` as one of its last redrives, within
    15 minutes, answers that redrive's date and changes nothing (as AWS's idempotency does).
    Raises ExecutionNotRedrivable with AWS's reason otherwise."""
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Execution.objects.select_for_update()
            .select_related("version")
            .get(pk=execution.pk, group__isnull=True)
        )
        if client_token:
            done = locked.redrive_token_find(client_token, since=now - TOKEN_WINDOW)
            if done is not None:
                return done
        _, reason = execution_redrive_status(execution=locked, now=now)
        if reason is not None:
            raise ExecutionNotRedrivable(reason)
        read_status, read_count = locked.status, locked.redrive_count
        count = read_count + 1
        event = locked.history_event("ExecutionRedriven", {"redriveCount": count}, now=now)
        timeout = definition_for(version=locked.version).timeout_seconds
        tokens = [*(locked.redrive_tokens or []), [client_token, now.isoformat()]]
        changes = {
            **_resumed(locked, now=now, context_count=count),
            "redrive_count": count,
            "redrive_date": now,
            "event_count": locked.event_count,
            "timeout_at": now + timedelta(seconds=timeout) if timeout else None,
            "redrive_tokens": tokens[-TOKENS_KEPT:] if client_token else locked.redrive_tokens,
        }
        if not Execution.objects.redrive(
            locked.pk, status=read_status, redrive_count=read_count, changes=changes
        ):
            raise ExecutionNotRedrivable(REASON_RUNNING)
        event.save()
        pk = locked.pk
        transaction.on_commit(lambda: execution_nudge(pk), robust=True)
    return now


def _resumed(execution: Execution, *, now: datetime, context_count: int) -> dict[str, Any]:
    """What an execution's row becomes as it runs again from its redrive cursor: READY due now,
    or WAITING in its Parallel or Map state while the children that did not succeed run again
    (READY at once when none is left to run: its stage reads the results)."""
    cursor = execution.redrive_cursor
    waiting = False
    if isinstance(cursor, dict) and cursor.get("kind") == Cursor.CHILDREN:
        waiting = _group_redrive(cursor["group"], now=now, context_count=context_count) > 0
    return {
        "stage": Execution.Stage.WAITING if waiting else Execution.Stage.READY,
        "due_at": None if waiting else now,
        "cursor": cursor,
        "redrive_cursor": None,
        "stop_date": None,
        "output": None,
        "error": "",
        "cause": "",
    }


def _group_redrive(group_id: Any, *, now: datetime, context_count: int) -> int:
    """The children of a group that did not succeed run again, each from its own redrive cursor
    (a child in a Parallel or Map state of its own: its children likewise); the group counts
    only them, woken by the last to end. A Map with MaxConcurrency starts that many at once,
    the rest of those not started waiting as before. Returns how many run again."""
    if Execution.objects.filter(group_id=group_id, status=Execution.Status.RUNNING).exists():
        # Its children are still being aborted (after the commit that ended it): a moment later
        # they have ended, and the group can count the ones that run again.
        raise ExecutionNotRedrivable(REASON_RUNNING)
    group = ChildGroup.objects.select_for_update().get(pk=group_id)
    children = list(
        Execution.objects.select_for_update()
        .filter(group_id=group_id, status__in=REDRIVABLE_STATUSES)
        .order_by("branch_index")
    )
    started = 0
    for child in children:
        cursor = child.redrive_cursor or Cursor(Cursor.START).to_json()
        unstarted = cursor.get("kind") == Cursor.START
        if unstarted and group.max_concurrency and started >= group.max_concurrency:
            changes = {"stage": Execution.Stage.WAITING, "due_at": None, "cursor": cursor}
            changes.update(redrive_cursor=None, stop_date=None, error="", cause="", output=None)
        else:
            child.redrive_cursor = cursor
            changes = _resumed(child, now=now, context_count=context_count)
            started += 1
        Execution.objects.child_redrive(child.pk, changes=changes)
    context = group.context if isinstance(group.context, dict) else {}
    if isinstance(context.get("Execution"), dict):
        context = {**context, "Execution": {**context["Execution"], "RedriveCount": context_count}}
    ChildGroup.objects.filter(pk=group_id).reopen(open_children=len(children), context=context)
    if children:
        transaction.on_commit(stages_nudge_send, robust=True)
    return len(children)
