"""Access keys for the Step Functions endpoint: an AWS-style key id and secret issued to a user.

The secret is stored as issued because Signature Version 4 is an HMAC: checking a signature needs
the same secret the client signed with (AWS keeps secrets the same way). The admin never shows it
after the key is created.
"""

from django.conf import settings
from django.db import models


class AccessKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys"
    )
    access_key_id = models.CharField(max_length=20, unique=True)
    secret_access_key = models.CharField(max_length=40)
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Granted to the key's user (directly or through a group); a superuser holds them all.
        permissions = [
            ("sfn_start_executions", "Step Functions API: start and stop executions"),
            ("sfn_send_callbacks", "Step Functions API: send task success, failure, heartbeat"),
            ("sfn_manage_state_machines", "Step Functions API: create, update, delete machines"),
            ("sfn_read", "Step Functions API: describe and list machines, executions, history"),
        ]

    def __str__(self) -> str:
        return f"{self.access_key_id} ({self.user})"
