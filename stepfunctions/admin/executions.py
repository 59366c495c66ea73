"""Each execution in the admin: its workflow diagram with the path taken, input, output, history."""

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from stepfunctions.diagram import diagram_svg
from stepfunctions.models import Execution


def _json(value) -> str:
    return format_html("<pre class='sfn-json'>{}</pre>", json.dumps(value, indent=2))


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["stepfunctions/admin.css"]}

    list_display = ["name", "state_machine", "status", "stage", "start_date", "stop_date"]
    list_filter = ["status", "stage", "state_machine"]
    search_fields = ["name"]
    fields = [
        "name",
        "state_machine",
        "status",
        "stage",
        "start_date",
        "stop_date",
        "diagram",
        "input_json",
        "output_json",
        "error",
        "cause",
        "history_table",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # A Parallel branch or Map iteration is no execution of its own: its events are in its
        # top-level execution's history, shown there.
        return super().get_queryset(request).filter(group__isnull=True)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Workflow")
    def diagram(self, execution: Execution):
        entered = [
            event.details.get("name")
            for event in execution.history.filter(type__endswith="StateEntered")
        ]
        current = None
        if execution.stage != Execution.Stage.DONE:
            position = execution.position
            current = (position and position.state) or (entered[-1] if entered else None)
        failed = None
        if execution.status in (Execution.Status.FAILED, Execution.Status.TIMED_OUT) and entered:
            failed = entered[-1]
        svg = diagram_svg(
            definition=execution.version.definition, path=entered, current=current, failed=failed
        )
        legend = (
            "<p class='sfn-legend'><span class='sfn-passed'>■</span> passed through · "
            "<span class='sfn-waiting'>■</span> waiting in / running · "
            "<span class='sfn-failed'>■</span> failed · bold arrows: the path taken</p>"
        )
        # svg is built from escaped names only (stepfunctions.diagram).
        return mark_safe(f"<div id='execution-diagram'>{svg}{legend}</div>")  # noqa: S308

    @admin.display(description="Input")
    def input_json(self, execution: Execution):
        return _json(execution.input)

    @admin.display(description="Output")
    def output_json(self, execution: Execution):
        return _json(execution.output) if execution.output is not None else "–"

    @admin.display(description="History events")
    def history_table(self, execution: Execution):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (
                    e.event_id,
                    e.type,
                    e.details.get("name", ""),
                    e.timestamp.strftime("%H:%M:%S.%f")[:-3],
                    json.dumps(e.details)[:300],
                )
                for e in execution.history.all()
            ),
        )
        return format_html(
            "<table id='history'><thead><tr><th>ID</th><th>Type</th><th>State</th>"
            "<th>Time</th><th>Details</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )
