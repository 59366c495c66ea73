"""The event bus's log: each entry PutEvents (or a state change) put on a bus."""

import uuid

from django.db import models


class Event(models.Model):
    """An entry put on the event bus (PutEvents), written with the state change that made it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bus = models.CharField(max_length=256)
    source = models.CharField(max_length=256)
    detail_type = models.CharField(max_length=128, db_index=True)
    detail = models.JSONField(default=dict)
    time = models.DateTimeField(db_index=True)
    execution = models.ForeignKey(
        "stepfunctions.Execution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )

    class Meta:
        ordering = ["time"]

    def __str__(self) -> str:
        return f"{self.detail_type} @ {self.time:%H:%M:%S}"
