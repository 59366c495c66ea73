"""Map runs (a distributed Map's): ListMapRuns, DescribeMapRun, UpdateMapRun, ListExecutions
of a map run's children (`mapRunArn`), and what DescribeExecution adds for such a child."""

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q

from stepfunctions import selectors
from stepfunctions.api.paging import page
from stepfunctions.errors import ValidationException
from stepfunctions.models import Execution, MapRun
from stepfunctions.services.map_runs import map_run_counts, map_run_update

Members = dict[str, Any]


def _started_before(value: str) -> Q:
    # Newest first: the rows after a (startDate, id) key are the older ones.
    start_date, _, pk = value.partition("|")
    start, key = datetime.fromisoformat(start_date), uuid.UUID(pk)
    return Q(start_date__lt=start) | Q(start_date=start, pk__lt=key)


def _newest_first(rows: Any, kind: str, members: Members) -> tuple[list, str | None]:
    """A page of rows listed newest first, keyed by (startDate, id) so pages never overlap."""
    return page(
        rows,
        kind=kind,
        max_results=members.get("maxResults"),
        next_token=members.get("nextToken"),
        after=_started_before,
        key=lambda row: f"{row.start_date.isoformat()}|{row.pk}",
    )


def _paged(member: str, items: list, next_token: str | None) -> Members:
    return {member: items, **({"nextToken": next_token} if next_token else {})}


def list_map_runs(members: Members) -> Members:
    execution = selectors.execution_get(arn=members["executionArn"], with_version=False)
    runs, next_token = _newest_first(selectors.map_runs_of(execution=execution), "mapruns", members)
    items = [
        {
            "executionArn": members["executionArn"],
            "mapRunArn": run.arn,
            "stateMachineArn": run.state_machine_arn,
            "startDate": run.start_date,
            **({"stopDate": run.stop_date} if run.stop_date else {}),
        }
        for run in runs
    ]
    return _paged("mapRuns", items, next_token)


def describe_map_run(members: Members) -> Members:
    map_run = selectors.map_run_get(arn=members["mapRunArn"])
    items, executions = map_run_counts(map_run=map_run)
    answer = {
        "mapRunArn": map_run.arn,
        "executionArn": _execution_arn(map_run),
        "status": map_run.status,
        "startDate": map_run.start_date,
        "maxConcurrency": map_run.max_concurrency,
        "toleratedFailurePercentage": map_run.tolerated_failure_percentage or 0.0,
        "toleratedFailureCount": map_run.tolerated_failure_count or 0,
        "itemCounts": items,
        "executionCounts": executions,
        "redriveCount": 0,
    }
    if map_run.stop_date:
        answer["stopDate"] = map_run.stop_date
    return answer


def update_map_run(members: Members) -> Members:
    map_run_update(
        map_run=selectors.map_run_get(arn=members["mapRunArn"]),
        max_concurrency=members.get("maxConcurrency"),
        tolerated_failure_count=members.get("toleratedFailureCount"),
        tolerated_failure_percentage=members.get("toleratedFailurePercentage"),
    )
    return {}


def _execution_arn(map_run: MapRun) -> str:
    """The ARN of the execution that started the run (a map run's child when runs nest)."""
    execution = map_run.execution
    parent_run = selectors.map_run_of_child(execution=execution)
    return parent_run.child_arn(execution.name) if parent_run else execution.arn


def list_map_run_executions(members: Members) -> Members:
    """ListExecutions(mapRunArn=...): the run's children that have started, with the run's
    ARN and each child's item count (ItemBatcher)."""
    if "stateMachineArn" in members:
        raise ValidationException("Specify either a stateMachineArn or a mapRunArn, not both")
    map_run = selectors.map_run_get(arn=members["mapRunArn"])
    status = members.get("statusFilter")
    if status is not None and status not in Execution.Status.values:
        raise ValidationException(
            f"1 validation error detected: Value '{status}' at 'statusFilter' failed to "
            f"satisfy constraint: Member must satisfy enum value set: {Execution.Status.values}"
        )
    children = selectors.map_run_children(map_run=map_run, status=status)
    children, next_token = _newest_first(children, "children", members)
    items = [
        {
            "executionArn": map_run.child_arn(child.name),
            "stateMachineArn": map_run.state_machine_arn,
            "name": child.name,
            "status": child.status,
            "startDate": child.start_date,
            **({"stopDate": child.stop_date} if child.stop_date else {}),
            "mapRunArn": map_run.arn,
            "itemCount": map_run.items_of(child.branch_index),
        }
        for child in children
    ]
    return _paged("executions", items, next_token)


def child_described(answer: Members, execution: Execution) -> Members:
    """DescribeExecution of a map run's child: its ARNs under the labelled machine, and the
    run's ARN (`mapRunArn`). Any other execution's answer as it is."""
    map_run = selectors.map_run_of_child(execution=execution)
    if map_run is None:
        return answer
    return {
        **answer,
        "executionArn": map_run.child_arn(execution.name),
        "stateMachineArn": map_run.state_machine_arn,
        "mapRunArn": map_run.arn,
    }
