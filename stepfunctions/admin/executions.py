"""Each execution in the admin: its workflow diagram with the path taken, input, output, history,
and Stop for a running one (StopExecution, for a staff user with `stepfunctions.stop_execution`),
Redrive for one that can be redriven (RedriveExecution, with `stepfunctions.redrive_execution`).
While it runs, the page follows it live (static/stepfunctions/execution_live.js asks the live
view, the diagram, status and history as JSON, about once a second until it ends)."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from stepfunctions import services
from stepfunctions.admin.map_runs import map_runs_links
from stepfunctions.diagram import diagram_svg
from stepfunctions.errors import ExecutionNotRedrivable
from stepfunctions.models import Execution
from stepfunctions.services.callbacks import MAX_CAUSE_LENGTH, MAX_ERROR_LENGTH


def _json(value) -> str:
    return format_html("<pre class='sfn-json'>{}</pre>", json.dumps(value, indent=2))


class StopForm(forms.Form):
    """StopExecution's error and cause, both optional, with the API's limits."""

    error = forms.CharField(required=False, max_length=MAX_ERROR_LENGTH)
    cause = forms.CharField(required=False, max_length=MAX_CAUSE_LENGTH, widget=forms.Textarea)


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["stepfunctions/admin.css"]}
        js = ["stepfunctions/execution_live.js"]

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
        "redrive_count",
        "redrive_date",
        "diagram",
        "input_json",
        "output_json",
        "error",
        "cause",
        "map_runs",
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

    def has_stop_permission(self, request) -> bool:
        return request.user.has_perm("stepfunctions.stop_execution")

    def has_redrive_permission(self, request) -> bool:
        return request.user.has_perm("stepfunctions.redrive_execution")

    def get_urls(self):
        stop = self.admin_site.admin_view(self.stop_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_stop"
        redrive = self.admin_site.admin_view(self.redrive_view)
        redrive_name = f"{self.opts.app_label}_{self.opts.model_name}_redrive"
        live = self.admin_site.admin_view(self.live_view)
        live_name = f"{self.opts.app_label}_{self.opts.model_name}_live"
        return [
            path("<path:object_id>/live/", live, name=live_name),
            path("<path:object_id>/stop/", stop, name=name),
            path("<path:object_id>/redrive/", redrive, name=redrive_name),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        execution = self.get_object(request, object_id)
        redrivable = (
            execution is not None
            and self.has_redrive_permission(request)
            and services.execution_redrive_status(execution=execution, now=timezone.now())[1]
            is None
        )
        extra_context = {
            **(extra_context or {}),
            "can_stop": self.has_stop_permission(request),
            "can_redrive": redrivable,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def live_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """The page's parts that change while the execution runs, for execution_live.js: its
        status, the diagram with the path taken so far, the history table and the output."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        execution = get_object_or_404(self.get_queryset(request), pk=object_id)
        return JsonResponse(
            {
                "status": execution.status,
                "status_display": execution.get_status_display(),
                "running": execution.status == Execution.Status.RUNNING,
                "diagram": self._diagram_svg(execution),
                "history": str(self.history_table(execution)),
                "output": str(self.output_json(execution)),
            }
        )

    def redrive_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A confirmation page, then RedriveExecution: the execution goes on from the state that
        did not succeed; a refusal (it is running again, past its redrivable period...) is
        shown with AWS's reason. The admin's history records who redrove it."""
        if not self.has_redrive_permission(request):
            raise PermissionDenied
        execution = get_object_or_404(self.get_queryset(request), pk=object_id)
        page = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[execution.pk]
        )
        if request.method == "POST":
            try:
                services.execution_redrive(execution=execution)
            except ExecutionNotRedrivable as refused:
                self.message_user(request, f"{execution}: {refused.message}", messages.WARNING)
            else:
                self.log_change(request, execution, "Redriven (RedriveExecution).")
                self.message_user(request, f"{execution} is redriven.", messages.SUCCESS)
            return HttpResponseRedirect(page)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Redrive {execution}?",
            "execution": execution,
            "reason": services.execution_redrive_status(execution=execution, now=timezone.now())[1],
            "change_url": page,
        }
        return TemplateResponse(request, "admin/stepfunctions/execution/redrive.html", context)

    def stop_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A confirmation page, then StopExecution: the execution ends ABORTED with the error and
        cause given, its open callbacks are refused, and the admin's history records who did it."""
        if not self.has_stop_permission(request):
            raise PermissionDenied
        execution = get_object_or_404(self.get_queryset(request), pk=object_id)
        page = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[execution.pk]
        )
        if execution.status != Execution.Status.RUNNING:
            self.message_user(
                request, f"{execution} has already ended ({execution.status}).", messages.WARNING
            )
            return HttpResponseRedirect(page)
        form = StopForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            stopped = services.execution_stop(
                execution=execution,
                error=form.cleaned_data["error"] or None,
                cause=form.cleaned_data["cause"] or None,
            )
            if stopped.status == Execution.Status.ABORTED:
                self.log_change(request, stopped, "Stopped (StopExecution).")
                self.message_user(request, f"{stopped} is stopped.", messages.SUCCESS)
            else:
                # It ended on its own between the page and the click.
                self.message_user(
                    request, f"{stopped} had already ended ({stopped.status}).", messages.WARNING
                )
            return HttpResponseRedirect(page)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Stop {execution}?",
            "execution": execution,
            "form": form,
            "change_url": page,
        }
        return TemplateResponse(request, "admin/stepfunctions/execution/stop.html", context)

    @admin.display(description="Workflow")
    def diagram(self, execution: Execution):
        live = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_live", args=[execution.pk]
        )
        legend = (
            "<p class='sfn-legend'><span class='sfn-passed'>■</span> passed through · "
            "<span class='sfn-waiting'>■</span> waiting in / running · "
            "<span class='sfn-failed'>■</span> failed · bold arrows: the path taken</p>"
        )
        following = (
            "<p class='sfn-live' id='execution-live' role='status'>"
            "Following the execution live.</p>"
            if execution.status == Execution.Status.RUNNING
            else ""
        )
        return format_html(
            "<div id='execution-diagram' data-live='{}' data-status='{}'>"
            "<div id='execution-svg'>{}</div>{}{}</div>",
            live,
            execution.status,
            # The SVG is built from escaped names only (stepfunctions.diagram).
            mark_safe(self._diagram_svg(execution)),  # noqa: S308
            mark_safe(legend),  # noqa: S308
            mark_safe(following),  # noqa: S308
        )

    def _diagram_svg(self, execution: Execution) -> str:
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
        return diagram_svg(
            definition=execution.version.definition, path=entered, current=current, failed=failed
        )

    @admin.display(description="Input")
    def input_json(self, execution: Execution):
        return _json(execution.input)

    @admin.display(description="Output")
    def output_json(self, execution: Execution):
        return _json(execution.output) if execution.output is not None else "–"

    @admin.display(description="map runs")
    def map_runs(self, execution: Execution):
        return map_runs_links(execution)

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
