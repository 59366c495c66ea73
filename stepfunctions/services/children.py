"""Parallel and Map states: their branches and iterations run as child executions.

A stage that enters a Parallel or Map state (the interpreter's Branching outcome) saves a
ChildGroup and one child Execution per branch or item, in its own transaction, and waits
(cursor CHILDREN, stage WAITING). The children are ordinary executions to the batched stage
runner: a child waits on a callback token, a Wait state or a retry's delay like any other, with
the same at-least-once guarantees (its row lock and its READY stage decide who runs it).

- History: a child's events go into the top-level execution's history (as AWS shows a branch's
  states there), numbered by a conditional UPDATE of that execution's event_count (or, when the
  top-level execution is in the same batch, from its row already locked). A Parallel branch's
  start and end write nothing of their own; a Map iteration's are MapIterationStarted /
  MapIterationSucceeded / MapIterationFailed.
- Waking the parent: the transaction that ends a child moves its group's counters in one
  conditional UPDATE ... RETURNING (ChildGroup's `group_child_ended`). The child that brings the
  open count to 0, or the failures past what the state tolerates, marks the group woken and makes
  the parent READY, due now; exactly one does (the group's row serializes them), and a child
  ending later changes nothing. A Map with MaxConcurrency starts its next child in that same
  transaction.
- The parent's stage resumes with the children's results in branch (item) order
  (resume). Children still running then (a branch failed first) are aborted after
  commit, as are all of an execution's children when it is stopped or times out; a child whose
  group has woken its parent is aborted at its next stage if that was missed.

Lock order: a child's row, then the top-level execution's (history), then the group's, then the
parent's. A parent's own stage never locks its group or its children in its transaction; the
aborts run after commit, one child per transaction.
"""

import logging
import uuid
from datetime import datetime
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from stepfunctions.models import CallbackToken, ChildGroup, Cursor, Execution, MapRun
from stepfunctions.models.children import group_child_ended
from stepfunctions.services import map_runs
from stepfunctions.services.messages import stages_nudge_send
from stepfunctions.services.state_machines import definition_for
from stepfunctions.workflow import Branching, BranchResult, Definition, cursor_of, resume

logger = logging.getLogger(__name__)


class Stage(Protocol):
    """A stage as this module reads and writes it (stepfunctions.services.stage.Stage, which
    imports this module): its execution, its history rows, the group and children it started."""

    execution: Execution
    history: list[tuple]
    branching: tuple | None

    def now(self) -> datetime: ...

    def context(self) -> dict: ...

    def record(self, event_type: str, details: dict) -> int: ...


# --- the child's side ----------------------------------------------------------------------------
def definition_of(execution: Execution) -> Definition:
    """The definition an execution runs: its machine's version, or for a child the branch (or
    Map ItemProcessor) of its group's state."""
    definition = definition_for(version=execution.version)
    group = execution.group if execution.group_id is not None else None
    if group is None:
        return definition
    for state_name, index in group.path:
        definition = definition.state(state_name).branches[index]
    return definition.state(group.state_name).branches[_branch(group, execution)]


def _branch(group: ChildGroup, execution: Execution) -> int:
    return execution.branch_index if group.kind == ChildGroup.Kind.PARALLEL else 0


def context_of(execution: Execution) -> dict | None:
    """A child's context object (the top-level execution's); None for a top-level execution."""
    if execution.group_id is None:
        return None
    if execution.group.distributed:  # a map run's child: its own (services.map_runs)
        return map_runs.child_context(execution)
    return execution.group.context


def abandoned(execution: Execution, *, now: datetime) -> bool:
    """A child whose group has already woken its parent (a sibling failed first) runs no more:
    it is aborted here, in the caller's transaction, in case the abort after the parent's
    commit was missed. True when it was."""
    if execution.group_id is None or not execution.group.woken:
        return False
    _abort_locked(execution, now=now)
    return True


# --- the parent's side ---------------------------------------------------------------------------
def branching_save(stage: "Stage", outcome: Branching) -> None:
    """The parent waits in the state (cursor CHILDREN); its group and children are queued on the
    stage for `writes_before_history` to insert with the batch."""
    execution, now = stage.execution, stage.now()
    state = definition_of(execution).state(outcome.state_name)
    parent_group = execution.group if execution.group_id is not None else None
    path: list = []
    root_id = execution.pk
    if parent_group is not None:
        path = [*parent_group.path, [parent_group.state_name, _branch(parent_group, execution)]]
        # A map run's child keeps its own history: its branches' events go there.
        root_id = execution.pk if parent_group.distributed else parent_group.root_id
    distributed = outcome.map_run is not None
    group = ChildGroup(
        id=uuid.uuid4(),
        parent=execution,
        root_id=root_id,
        state_name=outcome.state_name,
        kind=state.type,
        path=path,
        context=stage.context(),
        open_children=len(outcome.inputs),
        tolerated=outcome.tolerated_failures,
        max_concurrency=outcome.max_concurrency,
        distributed=distributed,
    )
    map_run = None
    if distributed:
        map_run, group.context = map_runs.map_run_build(
            execution=execution, group=group, outcome=outcome, root_id=root_id, now=now
        )
        stage.record("MapRunStarted", {"mapRunArn": group.context["MapRunArn"]})
    limit = outcome.max_concurrency or len(outcome.inputs)
    children = [
        Execution(
            state_machine=execution.state_machine,
            version=execution.version,
            name=str(uuid.uuid4()) if distributed else uuid.uuid4().hex,
            input=child_input,
            # The outer scope's variables as the state started: the child's states read them.
            position=Cursor(Cursor.START, variables=outcome.variables or None),
            # Past MaxConcurrency a child waits, unstarted, for a sibling's end to start it.
            stage=Execution.Stage.READY if index < limit else Execution.Stage.WAITING,
            due_at=now if index < limit else None,
            start_date=now,
            group=group,
            branch_index=index,
        )
        for index, child_input in enumerate(outcome.inputs)
    ]
    execution.stage = Execution.Stage.WAITING
    execution.position = cursor_of(outcome, group=str(group.id))
    stage.branching = (group, children, map_run)


def branches_resume(
    definition: Definition, execution: Execution, cursor: Cursor, common: dict
) -> Any:
    """The parent's stage once its group woke it: the children's results in branch order, the
    first failure (by when it ended), then the interpreter goes on in the state. Children still
    running are aborted after this stage commits."""
    rows = list(
        Execution.objects.filter(group_id=cursor.group)
        .order_by("branch_index")
        .values("pk", "status", "output", "error", "cause", "stop_date")
    )
    results = [BranchResult(r["status"], r["output"], r["error"], r["cause"]) for r in rows]
    failed = [
        (row["stop_date"], index)
        for index, row in enumerate(rows)
        if row["status"] not in (Execution.Status.RUNNING, Execution.Status.SUCCEEDED)
    ]
    failure = results[min(failed)[1]] if failed else None
    distributed = definition.state(cursor.state).distributed is not None
    if distributed:  # the map run's threshold decides (services.map_runs)
        host, now = common["host"], common["host"].now()
        failure = map_runs.map_run_close(group_id=cursor.group, results=results, host=host, now=now)
    running = [i for i, row in enumerate(rows) if row["status"] == Execution.Status.RUNNING]
    if running:
        if definition.state(cursor.state).type == ChildGroup.Kind.MAP and not distributed:
            for index in running:  # as AWS ends a Map's other iterations once one has failed
                common["host"].record("MapIterationAborted", {"index": index, "name": cursor.state})
        group_id = uuid.UUID(cursor.group)
        transaction.on_commit(lambda: children_abort(group_id=group_id), robust=True)
    return resume(definition, cursor, branch_results=results, branch_failure=failure, **common)


# --- a batch's writes ----------------------------------------------------------------------------
def writes_before_history(stages: list["Stage"]) -> None:
    """Inserts the groups and children the batch's stages started, and moves the children's
    history events into their top-level executions' histories, numbered there: one statement
    per top-level execution for the whole batch."""
    started = [stage.branching for stage in stages if stage.branching is not None]
    if started:
        ChildGroup.objects.bulk_create([group for group, _, _ in started])
        Execution.objects.bulk_create([child for _, children, _ in started for child in children])
        runs = [map_run for _, _, map_run in started if map_run is not None]
        if runs:
            MapRun.objects.bulk_create(runs)
        transaction.on_commit(stages_nudge_send, robust=True)
    routed: dict[Any, list[tuple[Stage, list[tuple]]]] = {}
    for stage in stages:
        group_id = stage.execution.group_id
        if group_id is not None and stage.history and not stage.execution.group.distributed:
            events = _history_translate(stage)
            stage.history = []
            if events:
                routed.setdefault(stage.execution.group.root_id, []).append((stage, events))
    in_batch = {stage.execution.pk: stage.execution for stage in stages}
    for root_id, entries in routed.items():
        count = sum(len(events) for _, events in entries)
        root = in_batch.get(root_id)
        if root is not None:  # locked by this batch: numbered from its row here
            if root.status != Execution.Status.RUNNING:
                continue
            root.event_count += count
            last = root.event_count
        else:
            last = Execution.objects.event_ids_reserve(root_id=root_id, count=count)
            if last is None:
                continue  # the top-level execution has ended: its history is closed
        event_id = last - count
        for stage, events in entries:
            numbered = []
            for event_type, timestamp, details in events:
                event_id += 1
                numbered.append((root_id, event_id, event_id - 1, event_type, timestamp, details))
            stage.history = numbered


def writes_after_executions(stages: list["Stage"], *, now: datetime) -> None:
    """Counts the children that ended in this batch on their groups (one statement per group),
    waking a parent or starting a Map's next children, after their own rows are written."""
    ended: dict[Any, list[Execution]] = {}
    for stage in stages:
        execution = stage.execution
        if execution.status != Execution.Status.RUNNING and execution.group_id is not None:
            ended.setdefault(execution.group_id, []).append(execution)
    for group_id, executions in ended.items():
        _children_ended(group_id, executions, now=now)


def child_ended(execution: Execution, *, now: datetime) -> None:
    """A child ended (in the caller's transaction, its row locked): counted on its group."""
    _children_ended(execution.group_id, [execution], now=now)


def _children_ended(group_id: Any, executions: list[Execution], *, now: datetime) -> None:
    """Children of one group ended in the caller's transaction: counted in one conditional
    UPDATE; the transaction whose count decides wakes the parent (exactly one: the group's row
    serializes them, and a woken group counts nothing more)."""
    failed = sum(e.status != Execution.Status.SUCCEEDED for e in executions)
    counts = group_child_ended(group_id, ended=len(executions), failed=failed)
    if counts is None:
        return  # the parent has moved on already
    if counts["open"] == 0 or counts["failed"] > counts["tolerated"]:
        ChildGroup.objects.filter(pk=group_id).seal()
        Execution.objects.wake([counts["parent_id"]], at=now)
        transaction.on_commit(stages_nudge_send, robust=True)
    elif counts["max_concurrency"] and executions[0].group.distributed:
        # UpdateMapRun may have moved MaxConcurrency: the room left, not one for one.
        map_runs.children_slots_start(
            group_id=group_id,
            max_concurrency=counts["max_concurrency"],
            now=now,
            ending=tuple(e.pk for e in executions),
        )
    elif counts["max_concurrency"]:
        _start_next(group_id, len(executions), now=now)


def _start_next(group_id: Any, count: int, *, now: datetime) -> None:
    """A Map at its MaxConcurrency: as many unstarted children as ended start, lowest index
    first (the group's row, locked by the caller, serializes the children ending at once)."""
    started = Execution.objects.children_start(group_id=group_id, count=count, now=now)
    if started:
        transaction.on_commit(stages_nudge_send, robust=True)


_CHILD_EVENTS = {
    "ExecutionStarted": "MapIterationStarted",
    "ExecutionSucceeded": "MapIterationSucceeded",
    "ExecutionFailed": "MapIterationFailed",
}


def _history_translate(stage: "Stage") -> list[tuple]:
    """A child stage's events (its HISTORY_FIELDS rows) as the top-level history shows them, as
    (type, timestamp, details) to number there: a Parallel branch's start and end dropped, a Map
    iteration's renamed (with its index and the Map state's name)."""
    execution = stage.execution
    group = execution.group
    events = []
    for _, _, _, event_type, timestamp, details in stage.history:
        if event_type in _CHILD_EVENTS:
            if group.kind == ChildGroup.Kind.PARALLEL:
                continue
            event_type = _CHILD_EVENTS[event_type]
            details = {"index": execution.branch_index, "name": group.state_name}
        events.append((event_type, timestamp, details))
    return events


# --- stopping ------------------------------------------------------------------------------------
def execution_ending(execution: Execution, status: str, *, now: datetime) -> None:
    """An execution ends from outside its definition (stop, timeout, a poisoned stage), under its
    row lock: a child is counted on its group; an execution in a Parallel or Map state has its
    children aborted after commit."""
    if execution.group_id is not None:
        execution.status = status
        child_ended(execution, now=now)
    # The raw cursor: a poisoned stage's may not even read as a Cursor.
    cursor = execution.cursor if isinstance(execution.cursor, dict) else {}
    if cursor.get("kind") == Cursor.CHILDREN:
        own_history = execution.group_id is None or execution.group.distributed
        if status == Execution.Status.ABORTED and own_history:
            # A stop ends the Parallel or Map state in flight first (a distributed Map's map run
            # before it), as in AWS's history.
            groups = ChildGroup.objects.filter(pk=cursor.get("group"))
            for state_kind, distributed in groups.values_list("kind", "distributed"):
                if distributed:
                    execution.history_event("MapRunAborted", {}, now=now).save()
                execution.history_event(f"{state_kind}StateAborted", {}, now=now).save()
        parent_id = execution.pk
        transaction.on_commit(lambda: children_abort(parent_id=parent_id), robust=True)


def children_abort(*, parent_id: Any = None, group_id: Any = None) -> int:
    """Aborts the running children of an execution (or of one group), and theirs, one child
    per transaction (never the parent's lock with a child's: see the module's lock order). Safe
    to run twice: a child that ended meanwhile is left as it is. Returns how many it aborted."""
    groups = ChildGroup.objects.filter(parent_id=parent_id) if parent_id else None
    if group_id is not None:
        groups = ChildGroup.objects.filter(pk=group_id)
    assert groups is not None
    groups.seal()  # a child ending now wakes nobody
    map_runs.map_runs_abort(groups=groups, now=timezone.now())
    ids = list(
        Execution.objects.filter(group__in=groups, status=Execution.Status.RUNNING).values_list(
            "pk", flat=True
        )
    )
    aborted = 0
    for child_id in ids:
        with transaction.atomic():
            child = (
                Execution.objects.select_for_update()
                .filter(pk=child_id, status=Execution.Status.RUNNING)
                .first()
            )
            if child is None:
                continue
            had_children = child.cursor.get("kind") == Cursor.CHILDREN
            _abort_locked(child, now=timezone.now())
            aborted += 1
        if had_children:
            aborted += children_abort(parent_id=child_id)
    return aborted


def _abort_locked(child: Execution, *, now: datetime) -> None:
    CallbackToken.objects.close_open(execution=child, now=now)
    if child.group.distributed:  # a map run's child: its own history ends too
        child.history_event("ExecutionAborted", {}, now=now).save()
    child.end(status=Execution.Status.ABORTED, now=now)
