"""The outbox of the runner's messages: a Task state's work sent to a worker queue
(`celery:task.sync`), kept until a runner takes it, so a message lost with the broker is sent again.
"""

from datetime import datetime

from django.db import models
from django.db.models import Exists, OuterRef

from stepfunctions.models.executions import Execution
from stepfunctions.models.tokens import CallbackToken


class TaskMessageQuerySet(models.QuerySet):
    def taken(self, *, token: str) -> int:
        """A runner has the message of `token`'s state: from here the broker's late ack (and the
        state's timeouts) cover it, not the outbox."""
        return self.filter(token=token).delete()[0]

    def _token_open(self) -> Exists:
        return Exists(
            CallbackToken.objects.filter(token=OuterRef("token"), status=CallbackToken.Status.OPEN)
        )

    def untaken(self, *, before: datetime, limit: int) -> list["TaskMessage"]:
        """Messages no runner has taken since `before`, whose state still waits: oldest first."""
        return list(
            self.filter(sent_at__lt=before).filter(self._token_open()).order_by("sent_at")[:limit]
        )

    def orphaned(self, *, before: datetime) -> int:
        """Drops the messages of states that ended (stopped, timed out) before a runner took them."""
        return self.filter(sent_at__lt=before).exclude(self._token_open()).delete()[0]

    def resent(self, message: "TaskMessage", *, now: datetime) -> bool:
        """Claims one resend: False if another sweep (a second beat) or a runner got there first."""
        return bool(self.filter(pk=message.pk, sent_at=message.sent_at).update(sent_at=now))


class TaskMessage(models.Model):
    """One message on its way to a runner: what `celery_task_send` sends, and when it last did."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=2048, db_index=True)
    # {"task", "args", "kwargs", "queue", "task_id"}: sent again as it was, under the same id.
    message = models.JSONField()
    sent_at = models.DateTimeField(db_index=True)

    objects = TaskMessageQuerySet.as_manager()

    class Meta:
        db_table = "stepfunctions_task_message"

    def __str__(self) -> str:
        return f"{self.message.get('task')} for {self.token[:12]}…"
