"""Activities: named queues of tasks that workers anywhere take with GetActivityTask.

An activity's task is the task token of the Task state that scheduled it (CallbackToken, with its
`activity`, the `task_input` the worker gets, and once taken its `started_at` and `worker_name`):
one row is the token's one source of truth, so SendTaskSuccess / Failure / Heartbeat, the
expiry sweep and a stop treat it as any other token. The claim that hands a task to one worker
is a conditional UPDATE declared here, with its PostgreSQL and SQLite forms side by side.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import connections, models

from stepfunctions.models.sql import Statement


class ActivityQuerySet(models.QuerySet):
    def task_claim(self, *, activity_id: int, worker_name: str, now: datetime) -> dict | None:
        """Hands the activity's oldest waiting task to one worker: its token's row, still open and
        not taken, gets `started_at` and `worker_name` in one conditional UPDATE. Returns
        {"pk", "token", "input", "execution_id", "state_name"}, or None when no task waits.

        Two workers asking at once never get the same task: on PostgreSQL the subquery skips a
        row another claim holds (FOR UPDATE SKIP LOCKED) and the UPDATE re-checks `started_at IS
        NULL` on the row it locked; SQLite runs one writer at a time. The statement is a
        transaction of its own (autocommit), so the token's lock is never held with another."""
        connection = connections[self.db]
        # Most looks of an idle poller find nothing: a read answers those, with no write (on
        # SQLite an UPDATE takes the database's write lock even when it matches no row).
        with connection.cursor() as cursor:
            cursor.execute(_TASK_WAITING.text(connection), {"activity": activity_id})
            if cursor.fetchone() is None:
                return None
        values = {
            "activity": activity_id,
            "worker": worker_name,
            "now": connection.ops.adapt_datetimefield_value(now),
        }
        with connection.cursor() as cursor:
            cursor.execute(_TASK_CLAIM.text(connection), values)
            row = cursor.fetchone()
        if row is None:
            return None
        pk, token, task_input, execution_id, state_name = row
        if not isinstance(execution_id, uuid.UUID):
            execution_id = uuid.UUID(str(execution_id))
        return {
            "pk": pk,
            "token": token,
            "input": task_input,
            "execution_id": execution_id,
            "state_name": state_name,
        }

    def with_waiting(self) -> "ActivityQuerySet":
        """Each activity with `waiting`: its tasks no worker has taken yet."""
        return self.annotate(
            waiting=models.Count(
                "tasks",
                filter=models.Q(tasks__status="OPEN", tasks__started_at__isnull=True),
            )
        )


class Activity(models.Model):
    """A named activity (CreateActivity); its ARN is its name's, so a name has one ARN."""

    name = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField()

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return arn_of(self.name)


def arn_of(name: str) -> str:
    return f"arn:aws:states:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:activity:{name}"


# ActivityQuerySet.task_claim: whether a task waits, then the claim. Both read the partial index
# `token_activity_waiting`.
_TASK_WAITING = Statement(
    "SELECT 1 FROM {CallbackToken} WHERE activity_id = %(activity)s AND status = 'OPEN'"
    " AND started_at IS NULL LIMIT 1"
)
_TASK_CLAIM = Statement(
    """
UPDATE {CallbackToken} SET started_at = %(now)s, worker_name = %(worker)s
WHERE id = (
    SELECT t.id FROM {CallbackToken} t
    WHERE t.activity_id = %(activity)s AND t.status = 'OPEN' AND t.started_at IS NULL
        AND (t.deadline IS NULL OR t.deadline > %(now)s)
    ORDER BY t.id LIMIT 1
    FOR UPDATE SKIP LOCKED
) AND status = 'OPEN' AND started_at IS NULL
RETURNING id, token, task_input, execution_id, state_name
""",
    sqlite="""
UPDATE {CallbackToken} SET started_at = %(now)s, worker_name = %(worker)s
WHERE id = (
    SELECT t.id FROM {CallbackToken} t
    WHERE t.activity_id = %(activity)s AND t.status = 'OPEN' AND t.started_at IS NULL
        AND (t.deadline IS NULL OR t.deadline > %(now)s)
    ORDER BY t.id LIMIT 1
) AND status = 'OPEN' AND started_at IS NULL
RETURNING id, token, task_input, execution_id, state_name
""",
)
