"""State machines in the admin: their page is Workflow Studio (admin/studio.py), above their
revisions and published versions (each with its diff from the revision before, by difflib), their
aliases with their routing, and their tags; the event log."""

import difflib
import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from stepfunctions import selectors
from stepfunctions.admin.studio import StudioAdmin
from stepfunctions.models import Event, StateMachine
from stepfunctions.services.tags import tags_of


def _lines(definition: dict) -> list[str]:
    return json.dumps(definition, indent=2).splitlines()


def _diff(before: dict | None, after: dict, *, old: str, new: str) -> str:
    if before is None:
        return "(the first revision)"
    diff = difflib.unified_diff(_lines(before), _lines(after), old, new, lineterm="")
    return "\n".join(diff) or "(the same definition)"


@admin.register(StateMachine)
class StateMachineAdmin(StudioAdmin):
    list_display = ["name", "created_at"]
    fields = ["name", "role_arn", "created_at", "versions_table", "aliases_table", "tags_table"]
    readonly_fields = ["created_at", "versions_table", "aliases_table", "tags_table"]

    @admin.display(description="Revisions and versions")
    def versions_table(self, machine: StateMachine):
        revisions = list(machine.versions.order_by("number")) if machine.pk else []
        rows = []
        for before, revision in zip([None, *revisions], revisions, strict=False):
            published = f"version {revision.published_number}" if revision.published_number else "–"
            diff = _diff(
                before.definition if before else None,
                revision.definition,
                old=f"revision {before.number}" if before else "",
                new=f"revision {revision.number}",
            )
            rows.append(
                (revision.number, published, revision.description, revision.created_at, diff)
            )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td><details><summary>diff</summary><pre class='sfn-diff'>{}</pre></details></td></tr>",
            reversed(rows),
        )
        return format_html(
            "<table id='versions'><thead><tr><th>Revision</th><th>Published as</th>"
            "<th>Description</th><th>Created</th><th>Changes from the revision before</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="Aliases")
    def aliases_table(self, machine: StateMachine):
        aliases = selectors.aliases_of(state_machine=machine) if machine.pk else []
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    alias.name,
                    ", ".join(f"version {n}: {w}%" for n, w in alias.routing),
                    alias.description,
                )
                for alias in aliases
            ),
        )
        return format_html(
            "<table id='aliases'><thead><tr><th>Alias</th><th>Routing</th><th>Description</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="Tags")
    def tags_table(self, machine: StateMachine):
        tags = tags_of(resource_arn=machine.arn) if machine.pk else []
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((tag.key, tag.value) for tag in tags)
        )
        return format_html(
            "<table id='tags'><thead><tr><th>Key</th><th>Value</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["time", "detail_type", "source", "bus"]
    list_filter = ["detail_type"]
