"""Workflow Studio in the admin: a state machine's page is its editor (Ace, the diagram, a form
per state), and Save publishes the definition as a new version (services/studio.py).

The pages' endpoints: the check (the definition's diagnostics and its diagram, as JSON, while it
is typed), the revert of an earlier revision, the diff of two revisions, and Start execution.
Saving and reverting need `stepfunctions.publish_state_machine`; starting an execution
`stepfunctions.add_execution`; the name is fixed once created (it is the machine's ARN).
"""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from stepfunctions import resources, services
from stepfunctions.diagram import diagram_svg
from stepfunctions.errors import ServiceError
from stepfunctions.models import StateMachine, StateMachineVersion
from stepfunctions.services.studio import (
    DefinitionRefused,
    studio_check,
    studio_create,
    studio_diff,
    studio_revert,
    studio_save,
)

PUBLISH = "stepfunctions.publish_state_machine"
START = "stepfunctions.add_execution"
STARTER = {
    "Comment": "A new workflow: insert states between Start and its end, then save.",
    "StartAt": "Start",
    "States": {"Start": {"Type": "Pass", "End": True}},
}
TYPES = ["Pass", "Wait", "Choice", "Task", "Parallel", "Map", "Succeed", "Fail"]


def _svg(document: dict | None) -> str | None:
    """The diagram of a document that has states to draw, else None (the check names why)."""
    try:
        return diagram_svg(definition=document)
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError):
        return None


class StudioAdmin(admin.ModelAdmin):
    """A ModelAdmin whose add and change pages are Workflow Studio."""

    change_form_template = "admin/stepfunctions/studio/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return ["name", "role_arn", *super().get_readonly_fields(request, obj)]

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm(PUBLISH)

    def get_urls(self):
        def view(function, suffix: str, route: str):
            name = f"{self.opts.app_label}_{self.opts.model_name}_studio_{suffix}"
            return path(route, self.admin_site.admin_view(function), name=name)

        return [
            view(self.check_view, "check", "studio/check/"),
            view(self.revert_view, "revert", "<path:object_id>/studio/revert/"),
            view(self.diff_view, "diff", "<path:object_id>/studio/diff/"),
            view(self.start_view, "start", "<path:object_id>/studio/start/"),
            *super().get_urls(),
        ]

    def _machine(self, request, object_id: str) -> StateMachine:
        machine = self.get_object(request, unquote(object_id))
        if machine is None:
            raise Http404(f"No state machine {object_id!r}")
        return machine

    def _page(self, machine: StateMachine | None) -> str:
        if machine is None:
            return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_add")
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        return reverse(name, args=[machine.pk])

    def _studio_context(self, request, definition: str, problems: list[dict]) -> dict:
        document, found = studio_check(definition=definition)
        return {
            "studio_definition": definition,
            "studio_problems": problems,
            "studio_diagnostics": found,
            "studio_svg": mark_safe(_svg(document) or ""),  # noqa: S308 (escaped names only)
            "studio_config": {
                "check": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_studio_check"
                ),
                "resources": resources.resources_registered(),
                "ace": static("django_ace/ace/"),
                "types": TYPES,
            },
            "studio_types": TYPES,
            "can_publish": self.has_publish_permission(request),
            "can_start": request.user.has_perm(START),
            "studio_input": "{}",
        }

    def check_view(self, request: HttpRequest) -> JsonResponse:
        """The diagnostics of the posted definition (the request's body) and its diagram."""
        if request.method != "POST":
            return JsonResponse({"error": "POST the definition"}, status=405)
        if not (self.has_view_or_change_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        document, found = studio_check(definition=request.body.decode("utf-8", "replace"))
        return JsonResponse({"diagnostics": found, "svg": _svg(document)})

    def add_view(self, request, form_url="", extra_context=None):
        """A new state machine goes through the editor and is created only with a valid
        definition, published as its version 1."""
        if not (self.has_add_permission(request) and self.has_publish_permission(request)):
            raise PermissionDenied
        definition = json.dumps(STARTER, indent=2)
        name, description, problems = "", "", []
        if request.method == "POST":
            name = request.POST.get("name", "").strip()
            definition = request.POST.get("definition", "")
            description = request.POST.get("description", "")
            try:
                version = studio_create(name=name, definition=definition, description=description)
            except DefinitionRefused as refused:
                problems = refused.problems
            except ServiceError as error:
                problems = [{"text": error.message}]
            else:
                machine = version.state_machine
                self.log_addition(
                    request, machine, f"Created as version 1 in Studio: {description}"
                )
                self.message_user(request, f"{machine} is created (version 1).", messages.SUCCESS)
                return HttpResponseRedirect(self._page(machine))
        context = {
            **self.admin_site.each_context(request),
            **self._studio_context(request, definition, problems),
            "opts": self.opts,
            "title": "Add state machine",
            "studio_name": name,
            "studio_description": description,
            "add": True,
        }
        return TemplateResponse(request, "admin/stepfunctions/studio/add.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        machine = self._machine(request, object_id)
        if not self.has_view_or_change_permission(request, machine):
            raise PermissionDenied
        latest = machine.latest_version
        definition = json.dumps(latest.definition, indent=2) if latest else "{}"
        problems, description = [], ""
        if request.method == "POST":
            if not self.has_publish_permission(request):
                raise PermissionDenied
            definition = request.POST.get("definition", "")
            description = request.POST.get("description", "")
            try:
                version, changed = studio_save(
                    state_machine=machine, definition=definition, description=description
                )
            except DefinitionRefused as refused:
                problems = refused.problems
            else:
                if changed:
                    self.log_change(
                        request,
                        machine,
                        f"Published version {version.published_number} (revision "
                        f"{version.number}) in Studio: {description}",
                    )
                    text = f"Saved: version {version.published_number} is published."
                    self.message_user(request, text, messages.SUCCESS)
                else:
                    self.message_user(request, "Nothing changed: no new version.", messages.INFO)
                return HttpResponseRedirect(self._page(machine))
        revisions = list(machine.versions.order_by("-number"))
        context = {
            **(extra_context or {}),
            **self._studio_context(request, definition, problems),
            "studio_description": description,
            "studio_revisions": revisions,
            "studio_latest": latest,
        }
        # A refused save shows the page again, never the model form's own POST handling.
        request.method = "GET"
        return super().change_view(request, object_id, form_url, context)

    def revert_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST" or not self.has_publish_permission(request):
            raise PermissionDenied
        machine = self._machine(request, object_id)
        number = int(request.POST.get("revision", "0") or 0)
        get_object_or_404(machine.versions, number=number)
        version, changed = studio_revert(state_machine=machine, number=number)
        if changed:
            self.log_change(
                request,
                machine,
                f"Made revision {number} current again as version {version.published_number}.",
            )
            text = f"Revision {number} is current again: version {version.published_number}."
            self.message_user(request, text, messages.SUCCESS)
        else:
            self.message_user(request, f"Revision {number} is already current.", messages.INFO)
        return HttpResponseRedirect(self._page(machine))

    def diff_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        machine = self._machine(request, object_id)
        if not self.has_view_or_change_permission(request, machine):
            raise PermissionDenied
        try:
            old, new = int(request.GET.get("old", "")), int(request.GET.get("new", ""))
            diff = studio_diff(state_machine=machine, old=old, new=new)
        except (ValueError, StateMachineVersion.DoesNotExist):
            self.message_user(request, "Choose two revisions to compare.", messages.WARNING)
            return HttpResponseRedirect(self._page(machine))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": machine,
            "title": f"{machine}: revision {old} → revision {new}",
            "diff": diff,
            "change_url": self._page(machine),
        }
        return TemplateResponse(request, "admin/stepfunctions/studio/diff.html", context)

    def start_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Starts an execution of the latest revision with the input from the page, then opens
        the execution's page (its diagram follows the path live)."""
        if request.method != "POST" or not request.user.has_perm(START):
            raise PermissionDenied
        machine = self._machine(request, object_id)
        try:
            execution, _ = services.execution_start(
                state_machine=machine, input=request.POST.get("input", "{}")
            )
        except ServiceError as error:
            self.message_user(request, f"Not started: {error.message}", messages.ERROR)
            return HttpResponseRedirect(self._page(machine))
        self.log_change(request, machine, f"Started execution {execution.name} in Studio.")
        name = f"admin:{self.opts.app_label}_execution_change"
        return HttpResponseRedirect(reverse(name, args=[execution.pk]))
