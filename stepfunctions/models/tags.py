"""Tags: key-value pairs on any resource of the API, kept by the resource's ARN (a state machine's,
an activity's), so every kind of resource shares them."""

from django.db import models


class Tag(models.Model):
    resource_arn = models.CharField(max_length=256, db_index=True)
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource_arn", "key"], name="one_tag_key")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
