"""What an execution keeps for RedriveExecution: where a redrive goes on, how many times it was
redriven and when, the client tokens of its recent redrives; and the redrive's transition.

`Execution` takes these columns from `RedriveFields` and its QuerySet the transition from
`RedriveQuerySet` (stepfunctions.models.executions); the rule is stepfunctions.services.redrive.
"""

from datetime import datetime
from typing import Any

from django.db import models

from stepfunctions.workflow import Cursor, Finished, redrive_point

# A final status a redrive can leave (Step Functions redrives these, never SUCCEEDED).
REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


class RedriveQuerySet(models.QuerySet):
    def redrive(self, pk: Any, *, status: str, redrive_count: int, changes: dict) -> bool:
        """`status` (a final one) -> RUNNING with `changes`, conditional on the status and the
        redrive count the caller read: of two redrives at once exactly one writes (the other's
        UPDATE matches no row). True when this one did."""
        return bool(
            self.filter(pk=pk, status=status, redrive_count=redrive_count).update(
                status="RUNNING", **changes
            )
        )

    def child_redrive(self, pk: Any, *, changes: dict) -> bool:
        """A Parallel branch or Map iteration that did not succeed -> RUNNING again (its
        top-level execution's redrive, which holds that row's lock, decides)."""
        return bool(
            self.filter(pk=pk, status__in=REDRIVABLE_STATUSES, group__isnull=False).update(
                status="RUNNING", **changes
            )
        )


class RedriveFields(models.Model):
    # How many times RedriveExecution ran it, and when it last did (None: never).
    redrive_count = models.PositiveIntegerField(default=0, db_default=0)
    redrive_date = models.DateTimeField(null=True, blank=True)
    # Where a redrive goes on (a Cursor's JSON), kept when the execution ends unsuccessfully;
    # None while it runs, once it succeeded, and for executions that ended before redrive existed.
    redrive_cursor = models.JSONField(null=True, blank=True, default=None)
    # The clientTokens of its recent redrives with their dates, newest last: the same token again
    # within RedriveExecution's idempotency window answers the same redrive.
    redrive_tokens = models.JSONField(null=True, blank=True, default=None)

    class Meta:
        abstract = True

    def redrive_point_keep(self, status: str, failed: Finished | None) -> None:
        """Called as the execution ends (its cursor not cleared yet): keeps where a redrive would
        go on (workflow.redrive_point), or nothing once it succeeded."""
        if status not in REDRIVABLE_STATUSES:
            self.redrive_cursor = None
            return
        try:
            cursor = Cursor.from_json(self.cursor if isinstance(self.cursor, dict) else {})
        except (ValueError, TypeError, KeyError):
            # A poisoned stage's cursor that does not read: kept as it is (a redrive runs it again).
            self.redrive_cursor = self.cursor
            return
        self.redrive_cursor = redrive_point(cursor, failed).to_json()

    def redrive_token_find(self, token: str, *, since: datetime) -> datetime | None:
        """The date of this execution's redrive with `token`, if one was at or after `since`."""
        for entry in self.redrive_tokens or []:
            if entry[0] == token and datetime.fromisoformat(entry[1]) >= since:
                return datetime.fromisoformat(entry[1])
        return None
