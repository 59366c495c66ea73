"""The child runs of Parallel and Map states: one ChildGroup per entry into such a state.

Each branch (or Map iteration) is an Execution row of its own (`Execution.group`, hidden from the
API's lists), run by the same batched stages as any execution. The group holds what its children
share (where their definition is, the context object they see) and the counter that decides,
in the database, which child's end wakes the parent.
"""

import uuid

from django.db import connections, models

from stepfunctions.models.sql import Statement


class ChildGroupQuerySet(models.QuerySet):
    def seal(self) -> int:
        """Not woken -> woken, for the groups whose parent moves on (the child whose end wakes
        it, or its children aborted): a child ending later counts nothing and wakes nobody
        (`group_child_ended` leaves a woken group). Conditional; returns how many it sealed."""
        return self.filter(woken=False).update(woken=True)

    def reopen(self, *, open_children: int, context: dict) -> int:
        """A redrive runs `open_children` of the group's children again: it counts them afresh
        and is woken again by the last to end (or by failures past what it tolerates); the
        caller holds the top-level execution's and the group's rows."""
        return self.update(
            open_children=open_children, failed_children=0, woken=False, context=context
        )


class ChildGroup(models.Model):
    class Kind(models.TextChoices):
        PARALLEL = "Parallel"
        MAP = "Map"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The execution in the Parallel or Map state (itself a child when states nest).
    parent = models.ForeignKey(
        "stepfunctions.Execution", on_delete=models.CASCADE, related_name="child_groups"
    )
    # The top-level execution: its history gets the children's events, as AWS shows them.
    root = models.ForeignKey("stepfunctions.Execution", on_delete=models.CASCADE, related_name="+")
    state_name = models.CharField(max_length=80)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # Where the parent's definition is inside the machine's: [[state name, branch index], ...]
    # from the top; the children run `state_name`'s branches (Map: its one ItemProcessor).
    path = models.JSONField(default=list)
    # The context object's Execution and StateMachine, the top-level execution's (as on AWS).
    context = models.JSONField(default=dict)
    # Children not ended yet, children failed, how many failures the state tolerates.
    open_children = models.PositiveIntegerField()
    failed_children = models.PositiveIntegerField(default=0)
    tolerated = models.PositiveIntegerField(default=0)
    # A Map's MaxConcurrency (0: every child is started at once).
    max_concurrency = models.PositiveIntegerField(default=0)
    # Set once, by the child whose end wakes the parent: later ends change nothing.
    woken = models.BooleanField(default=False)
    # A distributed Map's (its MapRun, stepfunctions.models.map_runs): its children are
    # executions of the API's, each with a history of its own.
    distributed = models.BooleanField(default=False, db_default=False)

    objects = ChildGroupQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.kind} {self.state_name} ({self.open_children} open)"


def group_child_ended(
    group_id: uuid.UUID, *, ended: int = 1, failed: int = 0, using: str = "default"
) -> dict | None:
    """`ended` children of the group ended (`failed` of them not SUCCEEDED): its counters move
    in one conditional UPDATE ... RETURNING, which holds the group's row until commit, so two
    transactions ending children at once are counted one after the other and exactly one of
    them sees the count that wakes the parent. Returns the
    group's {"open", "failed", "tolerated", "parent_id", "max_concurrency"} after the change, or
    None once the group has woken its parent (a late child changes nothing)."""
    connection = connections[using]
    key = ChildGroup._meta.pk.get_db_prep_value(group_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_CHILD_ENDED.text(connection), [ended, failed, key])
        row = cursor.fetchone()
    if row is None:
        return None
    open_children, failed_children, tolerated, parent_id, max_concurrency = row
    return {
        "open": open_children,
        "failed": failed_children,
        "tolerated": tolerated,
        "parent_id": parent_id if isinstance(parent_id, uuid.UUID) else uuid.UUID(str(parent_id)),
        "max_concurrency": max_concurrency,
    }


_CHILD_ENDED = Statement(
    "UPDATE {ChildGroup} SET open_children = open_children - %s,"
    " failed_children = failed_children + %s WHERE id = %s AND NOT woken"
    " RETURNING open_children, failed_children, tolerated, parent_id, max_concurrency"
)
