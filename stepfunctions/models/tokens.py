"""Callback tokens: the task token of one entry into a .waitForTaskToken state, usable once.

Exactly one of success, failure, timeout and close wins a token: each is a conditional UPDATE
declared here, and the services call these.
"""

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connections, models
from django.db.models import Q

from stepfunctions.models.sql import PerVendor, Statement


class CallbackTokenQuerySet(models.QuerySet):
    """Each way a token changes: exactly one of success, failure, timeout and close wins it."""

    def results(self, pks: Iterable[int]) -> dict[int, dict]:
        """{pk: {"status", "outcome"}} of the tokens the stages resuming from them read, in one
        query for a whole batch of stages."""
        pks = [pk for pk in pks if pk is not None]
        if not pks:
            return {}
        rows = self.filter(pk__in=pks).values("pk", "status", "outcome")
        return {row["pk"]: row for row in rows}

    def open_at(self, now: datetime) -> "CallbackTokenQuerySet":
        """Open and not past its deadline: what a callback may still close or beat."""
        return self.filter(
            Q(status=CallbackToken.Status.OPEN) & (Q(deadline__isnull=True) | Q(deadline__gt=now))
        )

    def settle(self, pk: int, *, status: str, outcome: dict, now: datetime) -> bool:
        """OPEN -> SUCCEEDED or FAILED by a callback before the deadline; False if it lost."""
        return bool(
            self.open_at(now).filter(pk=pk).update(status=status, outcome=outcome, closed_at=now)
        )

    def close_and_wake_is_one_statement(self) -> bool:
        """Whether close_and_wake is one statement on this database (PostgreSQL: a transaction
        of its own); if not (SQLite: two), the caller runs it inside a transaction."""
        return _CLOSE_AND_WAKE_ONE_STATEMENT.of(connections[self.db])

    def close_and_wake(
        self, token: str, *, status: str, outcome: dict, now: datetime
    ) -> dict | None:
        """OPEN -> SUCCEEDED or FAILED by a callback before the deadline, and its execution
        WAITING -> READY (due now), in the one lock order: the execution's row, then the token's.
        Returns {"pk", "execution_id", "state_name", "execution_name"} (the execution's name, for
        the log line), or None when the token is unknown or no longer open.

        PostgreSQL: one statement. `target` locks the execution row (FOR UPDATE OF e) while it
        waits on this open token; the token's UPDATE is conditioned on `target`'s row, evaluated
        before the token's row is updated, so the execution's lock is always taken first. Each row
        is found by its key (the token's unique index, the primary keys) through scalar subqueries,
        so the plan does not hang on the tables' statistics: joined, a table not yet analyzed was
        scanned whole for each callback (every waiting execution). Both UPDATEs are
        conditional (READ COMMITTED re-checks them on the row a concurrent stop, sweep or callback
        left), so exactly one closer wins. SQLite: its IMMEDIATE transaction holds the database,
        so two conditional UPDATEs in the caller's transaction are enough.
        """
        connection = connections[self.db]
        values = {
            "token": token,
            "status": status,
            "outcome": json.dumps(outcome),
            "now": connection.ops.adapt_datetimefield_value(now),
        }
        with connection.cursor() as cursor:
            cursor.execute(CLOSE_AND_WAKE.text(connection), values)
            row = cursor.fetchone()
            wake = _WAKE_AFTER_CLOSE.of(connection)
            if row is not None and wake is not None:
                cursor.execute(wake.text(connection), {**values, "execution_id": row[1]})
        if row is None:
            return None
        pk, execution_id, state_name, execution_name = row
        if not isinstance(execution_id, uuid.UUID):
            execution_id = uuid.UUID(str(execution_id))
        return {
            "pk": pk,
            "execution_id": execution_id,
            "state_name": state_name,
            "execution_name": execution_name,
        }

    def beat(self, pk: int, *, heartbeat_deadline: datetime, deadline: datetime, now) -> bool:
        """Moves an open token's heartbeat deadline on; False if it is closed or past due."""
        return bool(
            self.open_at(now)
            .filter(pk=pk)
            .update(heartbeat_deadline=heartbeat_deadline, deadline=deadline)
        )

    def due(self, *, now: datetime, limit: int) -> list:
        """Open tokens past their deadline (read, not locked: the sweep locks their executions
        first, then expires each with a conditional UPDATE)."""
        return list(
            self.filter(status=CallbackToken.Status.OPEN, deadline__lte=now)
            .order_by("deadline")
            .only("pk", "execution_id", "deadline", "heartbeat_deadline")[:limit]
        )

    def due_locked(self, pks: Iterable[int], *, now: datetime) -> list:
        """Those of `pks` still open and past due, locked (their executions are locked already):
        a heartbeat that moved a deadline meanwhile keeps its token."""
        return list(
            self.select_for_update()
            .filter(pk__in=list(pks), status=CallbackToken.Status.OPEN, deadline__lte=now)
            .order_by("pk")
            .only("pk", "execution_id", "deadline", "heartbeat_deadline")
        )

    def expire(self, ids: Iterable[int], *, heartbeat: bool, now: datetime) -> int:
        """OPEN -> TIMED_OUT for tokens past their deadline."""
        return self.filter(pk__in=ids, status=CallbackToken.Status.OPEN, deadline__lte=now).update(
            status=CallbackToken.Status.TIMED_OUT, outcome={"heartbeat": heartbeat}, closed_at=now
        )

    def close_open(self, *, execution: Any, now: datetime) -> int:
        """OPEN -> CLOSED for every token of an execution that ended (stopped, timed out)."""
        return self.filter(execution=execution, status=CallbackToken.Status.OPEN).update(
            status=CallbackToken.Status.CLOSED, closed_at=now
        )


class CallbackToken(models.Model):
    """The task token of one entry into a .waitForTaskToken state; usable once."""

    class Status(models.TextChoices):
        OPEN = "OPEN"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        TIMED_OUT = "TIMED_OUT"
        # The execution ended (StopExecution, its TimeoutSeconds) while waiting.
        CLOSED = "CLOSED"

    token = models.CharField(max_length=2048, unique=True)
    execution = models.ForeignKey(
        "stepfunctions.Execution", on_delete=models.CASCADE, related_name="tokens"
    )
    state_name = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    heartbeat_seconds = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_deadline = models.DateTimeField(null=True, blank=True)
    timeout_deadline = models.DateTimeField(null=True, blank=True)
    # The earlier of the two deadlines: the one the expiry sweep reads.
    deadline = models.DateTimeField(null=True, blank=True)
    # What closed it: {"output": ...} | {"error": ..., "cause": ...} | {"heartbeat": bool}.
    outcome = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # An Activity's task (stepfunctions.models.activities): the activity, the input its worker
    # gets, and once a worker took it (GetActivityTask), when and by whom. A deleted activity
    # leaves its tasks to their deadlines, as on AWS. The database's defaults too, so a process
    # still running the previous code inserts rows.
    activity = models.ForeignKey(
        "stepfunctions.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    task_input = models.TextField(blank=True, default="", db_default="")
    started_at = models.DateTimeField(null=True, blank=True)
    worker_name = models.CharField(max_length=80, blank=True, default="", db_default="")

    objects = CallbackTokenQuerySet.as_manager()

    class Meta:
        indexes = [
            # The expiry sweep's cost grows with what is due, not with what is waiting.
            models.Index(
                fields=["deadline"], condition=Q(status="OPEN"), name="token_open_deadline"
            ),
            # GetActivityTask's claim reads only the tasks no worker has taken yet.
            models.Index(
                fields=["activity", "id"],
                condition=Q(status="OPEN", started_at__isnull=True, activity__isnull=False),
                name="token_activity_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state_name} ({self.status})"


# CallbackTokenQuerySet.close_and_wake (the hot path of every callback). PostgreSQL: closes and
# wakes in one statement. SQLite: closes (returning the execution's id and name), then wakes.
CLOSE_AND_WAKE = Statement(
    """
WITH open_token AS (
    SELECT t.id, t.execution_id FROM {CallbackToken} t
    WHERE t.token = %(token)s AND t.status = 'OPEN'
), target AS (
    SELECT e.id, e.name FROM {Execution} e
    WHERE e.id = (SELECT execution_id FROM open_token) AND e.stage = 'WAITING'
    FOR UPDATE OF e
), closed AS (
    UPDATE {CallbackToken} t
    SET status = %(status)s, outcome = %(outcome)s::jsonb, closed_at = %(now)s
    WHERE t.id = (SELECT id FROM open_token) AND t.execution_id = (SELECT id FROM target)
        AND t.status = 'OPEN' AND (t.deadline IS NULL OR t.deadline > %(now)s)
    RETURNING t.id, t.execution_id, t.state_name, (SELECT name FROM target) AS execution_name
), woken AS (
    UPDATE {Execution} e SET stage = 'READY', due_at = %(now)s
    WHERE e.id = (SELECT execution_id FROM closed) AND e.stage = 'WAITING'
    RETURNING e.id
)
SELECT id, execution_id, state_name, execution_name FROM closed
""",
    sqlite="""
UPDATE {CallbackToken}
SET status = %(status)s, outcome = %(outcome)s, closed_at = %(now)s
WHERE token = %(token)s AND status = 'OPEN' AND (deadline IS NULL OR deadline > %(now)s)
RETURNING id, execution_id, state_name,
    (SELECT e.name FROM {Execution} e WHERE e.id = {CallbackToken}.execution_id)
""",
)
_WAKE_AFTER_CLOSE = PerVendor(
    postgresql=None,
    sqlite=Statement(
        "UPDATE {Execution} SET stage = 'READY', due_at = %(now)s"
        " WHERE id = %(execution_id)s AND stage = 'WAITING'"
    ),
)
_CLOSE_AND_WAKE_ONE_STATEMENT = PerVendor(postgresql=True, sqlite=False)
