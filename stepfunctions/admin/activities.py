from django.contrib import admin

from stepfunctions.models import Activity
from stepfunctions.services.tags import tags_of


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """The activities, with how many of their tasks wait for a worker (read in the list's one
    query). Created by CreateActivity (a worker's or the aws CLI's); read-only here."""

    list_display = ["name", "arn", "created_at", "tasks_waiting"]
    search_fields = ["name"]
    readonly_fields = ["name", "arn", "tags", "created_at"]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).with_waiting()

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="tasks waiting", ordering="waiting")
    def tasks_waiting(self, activity: Activity) -> int:
        return activity.waiting

    @admin.display(description="tags")
    def tags(self, activity: Activity) -> str:
        return (
            ", ".join(f"{tag.key}={tag.value}" for tag in tags_of(resource_arn=activity.arn)) or "–"
        )
