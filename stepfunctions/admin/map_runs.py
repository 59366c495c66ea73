"""Map runs (a distributed Map's), read-only: each with its status, settings and its items
counted by status (DescribeMapRun's itemCounts); linked from its execution's page."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from stepfunctions.models import Execution, MapRun
from stepfunctions.services.map_runs import map_run_counts

_SHOWN = ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total")


@admin.register(MapRun)
class MapRunAdmin(admin.ModelAdmin):
    list_display = ["state_name", "label", "execution_link", "status", "start_date", "items"]
    list_filter = ["status"]
    search_fields = ["label", "state_name", "execution__name"]
    list_per_page = 50
    fields = [
        "arn",
        "execution_link",
        "state_name",
        "status",
        "start_date",
        "stop_date",
        "max_concurrency",
        "tolerated_failure_count",
        "tolerated_failure_percentage",
        "items",
        "executions",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("execution__state_machine")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _counts(self, map_run: MapRun) -> tuple[dict, dict]:
        if not hasattr(map_run, "_counts"):
            map_run._counts = map_run_counts(map_run=map_run)
        return map_run._counts

    @admin.display(description="items")
    def items(self, map_run: MapRun) -> str:
        return _counts_line(self._counts(map_run)[0])

    @admin.display(description="child executions")
    def executions(self, map_run: MapRun) -> str:
        return _counts_line(self._counts(map_run)[1])

    @admin.display(description="execution")
    def execution_link(self, map_run: MapRun) -> str:
        execution = map_run.execution
        if execution.group_id is not None:  # a map run's child (map runs nest)
            return str(execution.name)
        url = reverse("admin:stepfunctions_execution_change", args=[execution.pk])
        return format_html("<a href='{}'>{}</a>", url, execution.name)


def _counts_line(counts: dict) -> str:
    return format_html_join(" · ", "{}: {}", ((name, counts[name]) for name in _SHOWN))


def map_runs_links(execution: Execution) -> str:
    """The execution's map runs as links to their pages (for the execution's page)."""
    runs = MapRun.objects.filter(execution=execution).order_by("start_date")
    if not runs:
        return "–"
    return format_html_join(
        mark_safe("<br>"),  # noqa: S308 - a constant
        "<a href='{}'>{} ({}, {})</a>",
        (
            (
                reverse("admin:stepfunctions_maprun_change", args=[run.pk]),
                run.state_name,
                run.label,
                run.status,
            )
            for run in runs
        ),
    )
