from django.contrib import admin, messages

from stepfunctions.models import AccessKey
from stepfunctions.services.access_keys import access_key_create


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    """Issuing a key asks only for its user; the secret is shown once, in the message after."""

    list_display = ["access_key_id", "user", "description", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["access_key_id", "user__username"]
    readonly_fields = ["access_key_id", "created_at", "last_used_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "description"]
        return ["access_key_id", "user", "description", "is_active", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key = access_key_create(user=obj.user, description=obj.description)
        # The admin's redirect and log entry need the saved row's id.
        obj.pk, obj.access_key_id = key.pk, key.access_key_id
        obj._state.adding = False
        self.message_user(
            request,
            f"Issued {key.access_key_id}. Secret access key (shown only now): "
            f"{key.secret_access_key} — grant the user the Step Functions API permissions "
            "it needs.",
            messages.WARNING,
        )
