"""An execution's history: one row per Step Functions history event, numbered per execution."""

from django.db import models

# The columns of a history row (Execution.history_row), in its order.
HISTORY_FIELDS = ("execution", "event_id", "previous_event_id", "type", "timestamp", "details")


class HistoryEvent(models.Model):
    """One Step Functions history event; details use the API's member names."""

    execution = models.ForeignKey(
        "stepfunctions.Execution", on_delete=models.CASCADE, related_name="history"
    )
    event_id = models.PositiveIntegerField()
    previous_event_id = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=40)
    timestamp = models.DateTimeField()
    details = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["execution", "event_id"], name="one_event_id")
        ]
        ordering = ["execution", "event_id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
