"""Map runs: the child executions a Map state in DISTRIBUTED mode starts, and the settings that
control them (AWS's MapRun resource).

A map run is one entry into a distributed Map: its ChildGroup (stepfunctions.models.children)
holds the children and the counter that wakes the parent, as an inline Map's does; the MapRun
row holds what the API shows of it (its ARN, status, dates, the runtime settings UpdateMapRun
changes) and how many items each child runs (ItemBatcher). Its children are executions of the
API's own (ListExecutions(mapRunArn=...), DescribeExecution, GetExecutionHistory), each with a
history of its own, named `execution:<machine>/<label>:<name>`.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models


def map_run_arn(machine: str, label: str, pk: uuid.UUID) -> str:
    """`arn:aws:states:<region>:<account>:mapRun:<machine>/<label>:<id>`."""
    return (
        f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:mapRun:"
        f"{machine}/{label}:{pk}"
    )


class MapRunQuerySet(models.QuerySet):
    def end(self, *, status: str, now: datetime) -> int:
        """RUNNING -> `status` (SUCCEEDED, FAILED or ABORTED) with its stop date; conditional, so
        a map run ends once (a stop after its parent moved on changes nothing)."""
        return self.filter(status=MapRun.Status.RUNNING).update(status=status, stop_date=now)


class MapRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        ABORTED = "ABORTED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.OneToOneField(
        "stepfunctions.ChildGroup", on_delete=models.CASCADE, related_name="map_run"
    )
    # The execution of the API's whose Map state started it (its history shows MapRunStarted):
    # a top-level execution, or a distributed Map's child when map runs nest.
    execution = models.ForeignKey(
        "stepfunctions.Execution", on_delete=models.CASCADE, related_name="map_runs"
    )
    state_name = models.CharField(max_length=80)
    # The state's Label, or a UUID when it has none: the ARNs' `<machine>/<label>`.
    label = models.CharField(max_length=40)
    execution_type = models.CharField(max_length=8, default="STANDARD")
    status = models.CharField(
        max_length=9, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    start_date = models.DateTimeField()
    stop_date = models.DateTimeField(null=True, blank=True)
    # The runtime settings (UpdateMapRun moves them; MaxConcurrency 0: no bound).
    max_concurrency = models.PositiveIntegerField(default=0)
    tolerated_failure_count = models.PositiveIntegerField(null=True, blank=True)
    tolerated_failure_percentage = models.FloatField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    # Items per child, in child (branch index) order, with an ItemBatcher; empty: one each.
    batch_sizes = models.JSONField(default=list, blank=True)

    objects = MapRunQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["execution", "start_date"], name="map_run_execution")]

    def __str__(self) -> str:
        return f"{self.state_name} ({self.label})"

    def machine_name(self) -> str:
        """`<machine>/<label>`: the children's state machine, as their ARNs name it."""
        return f"{self.execution.state_machine.name}/{self.label}"

    @property
    def arn(self) -> str:
        return map_run_arn(self.execution.state_machine.name, self.label, self.pk)

    @property
    def state_machine_arn(self) -> str:
        return (
            f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:stateMachine:"
            f"{self.machine_name()}"
        )

    def child_arn(self, name: str) -> str:
        return (
            f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:execution:"
            f"{self.machine_name()}:{name}"
        )

    def items_of(self, branch_index: int) -> int:
        """How many items the child at `branch_index` runs."""
        return self.batch_sizes[branch_index] if self.batch_sizes else 1

    def tolerated_items(self) -> int:
        """How many failed items the run tolerates: the fewer of the count and the percentage's
        share of its items, rounded down (0 when neither is set), as AWS reckons it."""
        bounds = []
        if self.tolerated_failure_count is not None:
            bounds.append(self.tolerated_failure_count)
        if self.tolerated_failure_percentage is not None:
            bounds.append(int(self.item_count * self.tolerated_failure_percentage // 100))
        return min(bounds) if bounds else 0
