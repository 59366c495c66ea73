"""Map runs: a Map state in DISTRIBUTED mode runs each item (or batch) as a child execution of
the API's own, in a map run (stepfunctions.models.map_runs).

The children ride on the machinery of an inline Map's (stepfunctions.services.children): a
ChildGroup whose counter, moved in the transaction that ends a child, wakes the parent exactly
once; MaxConcurrency children running at a time, the next started as one ends. What differs:

- Each child keeps a history of its own (ExecutionStarted ... ExecutionSucceeded) and sees
  a context object of its own: `$$.Execution.Id` its ARN `execution:<machine>/<label>:<name>`,
  `$$.StateMachine.Id` `stateMachine:<machine>/<label>`.
- The parent's history shows MapRunStarted (with the map run's ARN), then MapRunSucceeded or
  MapRunFailed (States.ExceedToleratedFailureThreshold), or MapRunAborted when it is stopped.
- The tolerated failures are counted in items and decided here, by the map run's own settings:
  UpdateMapRun may change them, and MaxConcurrency, while it runs. The group's `tolerated`
  holds the items tolerated and its counter the failed children, so a group woken early (more
  failed children than items tolerated) has always failed: a batch holds at least one item.

Lock order, as in children: a child's row, then the group's, then the parent's. UpdateMapRun
locks the group's row (the same row a child's end holds while it counts), so a child ending and
an update are serialized, and exactly one of them wakes the parent.
"""

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stepfunctions.errors import ValidationException
from stepfunctions.models import ChildGroup, Cursor, Execution, MapRun
from stepfunctions.models.map_runs import map_run_arn
from stepfunctions.services.messages import stages_nudge_send
from stepfunctions.workflow import Branching, BranchResult
from stepfunctions.workflow.errors import EXCEED_TOLERATED_FAILURE_THRESHOLD

THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


def _machine_arn(name: str) -> str:
    return f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:stateMachine:{name}"


# --- starting ------------------------------------------------------------------------------------
def map_run_build(
    *, execution: Execution, group: ChildGroup, outcome: Branching, root_id: Any, now: datetime
) -> tuple[MapRun, dict]:
    """The map run of a distributed Map's group (unsaved: inserted with the batch), and the
    context its children start from: the labelled state machine, the role."""
    spec = outcome.map_run or {}
    label = spec.get("label") or str(uuid.uuid4())
    sizes = spec.get("batch_sizes") or []
    map_run = MapRun(
        id=uuid.uuid4(),
        group=group,
        execution_id=root_id,
        state_name=outcome.state_name,
        label=label,
        execution_type=spec.get("execution_type", "STANDARD"),
        start_date=now,
        max_concurrency=outcome.max_concurrency,
        tolerated_failure_count=spec.get("tolerated_failure_count"),
        tolerated_failure_percentage=spec.get("tolerated_failure_percentage"),
        item_count=sum(sizes) if sizes else len(outcome.inputs),
        batch_sizes=sizes,
    )
    machine_name = f"{execution.state_machine.name}/{label}"
    context = {
        "StateMachine": {"Id": _machine_arn(machine_name), "Name": machine_name},
        "RoleArn": execution.state_machine.role_arn,
        "MapRunArn": map_run_arn(execution.state_machine.name, label, map_run.pk),
    }
    return map_run, context


def child_context(execution: Execution) -> dict:
    """A map run's child's context object: its own execution, the labelled state machine."""
    base = execution.group.context
    machine = base["StateMachine"]
    return {
        "Execution": {
            "Id": child_arn(machine["Name"], execution.name),
            "Input": execution.input,
            "Name": execution.name,
            "StartTime": execution.start_date.isoformat().replace("+00:00", "Z"),
            "RedriveCount": 0,
            "RoleArn": base.get("RoleArn", ""),
        },
        "StateMachine": machine,
    }


def child_arn(machine_name: str, name: str) -> str:
    """`execution:<machine>/<label>:<name>`."""
    return (
        f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:execution:"
        f"{machine_name}:{name}"
    )


# --- the parent resumes --------------------------------------------------------------------------
def map_run_close(
    *, group_id: Any, results: list[BranchResult], host: Any, now: datetime
) -> BranchResult | None:
    """The map run's verdict once its group woke the parent: failed when more of its items
    failed (or timed out, or were aborted) than its settings tolerate now; MapRunSucceeded or
    MapRunFailed in the parent's history, the run's status with it. Returns the failure the Map
    state fails with (States.ExceedToleratedFailureThreshold), or None."""
    map_run = MapRun.objects.get(group_id=group_id)
    failed = sum(
        map_run.items_of(index)
        for index, result in enumerate(results)
        if result.status not in (Execution.Status.RUNNING, Execution.Status.SUCCEEDED)
    )
    if failed > map_run.tolerated_items():
        details = {"error": EXCEED_TOLERATED_FAILURE_THRESHOLD, "cause": THRESHOLD_CAUSE}
        host.record("MapRunFailed", details)
        MapRun.objects.filter(pk=map_run.pk).end(status=MapRun.Status.FAILED, now=now)
        return BranchResult("FAILED", None, EXCEED_TOLERATED_FAILURE_THRESHOLD, THRESHOLD_CAUSE)
    host.record("MapRunSucceeded", {})
    MapRun.objects.filter(pk=map_run.pk).end(status=MapRun.Status.SUCCEEDED, now=now)
    return None


def map_runs_abort(*, groups: Any, now: datetime) -> int:
    """The groups' map runs still running end ABORTED (their parent was stopped or moved on)."""
    return MapRun.objects.filter(group__in=groups).end(status=MapRun.Status.ABORTED, now=now)


# --- concurrency ---------------------------------------------------------------------------------
def _unstarted(group_id: Any):
    return Execution.objects.filter(
        group_id=group_id, stage=Execution.Stage.WAITING, cursor__kind=Cursor.START
    )


def children_slots_start(
    *, group_id: Any, max_concurrency: int, now: datetime, ending: tuple = ()
) -> int:
    """Starts as many unstarted children as the map run's MaxConcurrency leaves room for now
    (every one when it is 0), lowest index first. The caller holds the group's row; `ending`
    are children it is ending whose rows may still say RUNNING (a stop counts them first)."""
    if max_concurrency:
        running = (
            Execution.objects.filter(group_id=group_id, status=Execution.Status.RUNNING)
            .exclude(pk__in=ending)
            .count()
            - _unstarted(group_id).count()
        )
        count = max_concurrency - running
    else:
        count = _unstarted(group_id).count()
    if count <= 0:
        return 0
    started = Execution.objects.children_start(group_id=group_id, count=count, now=now)
    if started:
        transaction.on_commit(stages_nudge_send, robust=True)
    return started


# --- UpdateMapRun --------------------------------------------------------------------------------
def map_run_update(
    *,
    map_run: MapRun,
    max_concurrency: int | None = None,
    tolerated_failure_count: int | None = None,
    tolerated_failure_percentage: float | None = None,
) -> MapRun:
    """Changes a running map run's MaxConcurrency and tolerated failures. More room starts
    more children at once; a threshold now exceeded wakes the parent (which fails the Map).
    Under the group's row lock, serialized with the children's ends. A map run that has ended
    is a ValidationException."""
    settings_given = (max_concurrency, tolerated_failure_count, tolerated_failure_percentage)
    if all(value is None for value in settings_given):
        raise ValidationException(
            "At least one of maxConcurrency, toleratedFailureCount and "
            "toleratedFailurePercentage is required"
        )
    if tolerated_failure_percentage is not None and not 0 <= tolerated_failure_percentage <= 100:
        raise ValidationException("toleratedFailurePercentage must be between 0 and 100")
    now = timezone.now()
    with transaction.atomic():
        group = ChildGroup.objects.select_for_update().get(pk=map_run.group_id)
        map_run = MapRun.objects.select_related("execution__state_machine").get(pk=map_run.pk)
        if map_run.status != MapRun.Status.RUNNING or group.woken:
            raise ValidationException(f"Map Run is not running: '{map_run.arn}'")
        if max_concurrency is not None:
            map_run.max_concurrency = max_concurrency
        if tolerated_failure_count is not None:
            map_run.tolerated_failure_count = tolerated_failure_count
        if tolerated_failure_percentage is not None:
            map_run.tolerated_failure_percentage = tolerated_failure_percentage
        map_run.save(
            update_fields=[
                "max_concurrency",
                "tolerated_failure_count",
                "tolerated_failure_percentage",
            ]
        )
        group.max_concurrency = map_run.max_concurrency
        group.tolerated = map_run.tolerated_items()
        group.save(update_fields=["max_concurrency", "tolerated"])
        if group.failed_children > group.tolerated:
            ChildGroup.objects.filter(pk=group.pk).seal()
            Execution.objects.wake([group.parent_id], at=now)
            transaction.on_commit(stages_nudge_send, robust=True)
        else:
            children_slots_start(group_id=group.pk, max_concurrency=group.max_concurrency, now=now)
    return map_run


# --- DescribeMapRun ------------------------------------------------------------------------------
_COUNTED = {
    Execution.Status.SUCCEEDED: "succeeded",
    Execution.Status.FAILED: "failed",
    Execution.Status.TIMED_OUT: "timedOut",
    Execution.Status.ABORTED: "aborted",
}


def map_run_counts(*, map_run: MapRun) -> tuple[dict, dict]:
    """DescribeMapRun's itemCounts and executionCounts: the children (and their items) by
    status, pending those not started yet (past MaxConcurrency). Nothing is written to S3
    (resultsWritten 0) and nothing redriven here."""
    names = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")
    items = dict.fromkeys(names, 0)
    executions = dict.fromkeys(names, 0)
    rows = Execution.objects.filter(group_id=map_run.group_id).values_list(
        "branch_index", "status", "stage", "cursor"
    )
    for index, status, stage, cursor in rows:
        name = _COUNTED.get(status, "running")
        unstarted = isinstance(cursor, dict) and cursor.get("kind") == Cursor.START
        if name == "running" and stage == Execution.Stage.WAITING and unstarted:
            name = "pending"
        executions[name] += 1
        items[name] += map_run.items_of(index)
    extra = {"resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0}
    items_total = {**items, "total": sum(items.values()), **extra}
    executions_total = {**executions, "total": sum(executions.values()), **extra}
    return items_total, executions_total
