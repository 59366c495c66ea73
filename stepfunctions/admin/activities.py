from django.contrib import admin

from stepfunctions.models import Activity


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
