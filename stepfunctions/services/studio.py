"""Workflow Studio's rules (the admin's editor): check a definition as it is typed, save it as a
new published version, make an earlier revision current again, compare two revisions.

Saving is CreateStateMachine / UpdateStateMachine and then PublishStateMachineVersion, in one
transaction: a definition the API would refuse is refused here with the same diagnostics, and
executions already running keep the version they began on.
"""

import difflib
import json

from django.db import transaction

from stepfunctions.errors import ServiceError
from stepfunctions.models import StateMachine, StateMachineVersion
from stepfunctions.services.state_machines import (
    definition_diagnose,
    state_machine_create,
    state_machine_update,
)
from stepfunctions.services.versions import version_publish
from stepfunctions.workflow.diagnostics import ERROR


class DefinitionRefused(ServiceError):
    """A save refused: the definition's ERROR diagnostics (`studio_check`'s dicts)."""

    def __init__(self, problems: list[dict]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem["text"] for problem in problems))


def _where(location: str | None) -> tuple[str | None, str | None]:
    """The state and field a JSON pointer names: `/States/A/Catch/0/Next` is A, Catch[0].Next
    (the innermost state, for a branch's or an item processor's states)."""
    if not location:
        return None, None
    segments = [s.replace("~1", "/").replace("~0", "~") for s in location.split("/")[1:]]
    state, rest = None, segments
    for i in range(len(segments) - 1):
        if segments[i] == "States":
            state, rest = segments[i + 1], segments[i + 2 :]
    field = ""
    for segment in rest:
        field += f"[{segment}]" if segment.isdigit() else ("." if field else "") + segment
    return state, field or None


def studio_check(*, definition: str) -> tuple[dict | None, list[dict]]:
    """The document (None when it is not a JSON object) and its diagnostics as
    ValidateStateMachineDefinition finds them, each with the state and field it names."""
    try:
        document = json.loads(definition)
    except ValueError as error:
        message = f"The definition is not JSON: {error.msg} (line {error.lineno})"
        problem = {"severity": ERROR, "code": "INVALID_JSON_DESCRIPTION", "message": message}
        where = {"location": None, "state": None, "field": None, "line": error.lineno}
        return None, [{**problem, **where, "text": message}]
    if not isinstance(document, dict):
        document = None
    _, diagnostics = definition_diagnose(definition=definition)
    found = []
    for diagnostic in diagnostics:
        state, field = _where(diagnostic.location)
        named = " ".join(
            part
            for part in (f"State '{state}'" if state else "", f"field {field}" if field else "")
            if part
        )
        found.append(
            {
                "severity": diagnostic.severity,
                "code": diagnostic.code,
                "message": diagnostic.message,
                "location": diagnostic.location,
                "state": state,
                "field": field,
                "text": diagnostic.message
                if not named or any(f"{q}{state}{q}" in diagnostic.message for q in "\"'")
                else f"{named}: {diagnostic.message}",
            }
        )
    return document, found


def _checked(definition: str) -> dict:
    document, problems = studio_check(definition=definition)
    errors = [problem for problem in problems if problem["severity"] == ERROR]
    if errors or document is None:
        raise DefinitionRefused(errors)
    return document


def studio_create(*, name: str, definition: str, description: str = "") -> StateMachineVersion:
    """A new state machine with the definition as its first published version."""
    document = _checked(definition)
    with transaction.atomic():
        machine = state_machine_create(name=name, definition=document)
        return version_publish(state_machine=machine, description=description)


def studio_save(
    *, state_machine: StateMachine, definition: str, description: str = ""
) -> tuple[StateMachineVersion, bool]:
    """The definition as the machine's next published version, and whether anything changed
    (the same definition as the latest published version is no new version)."""
    document = _checked(definition)
    with transaction.atomic():
        before = state_machine.latest_version
        revision = state_machine_update(state_machine=state_machine, definition=document)
        changed = revision.pk != before.pk or before.published_number is None
        return version_publish(state_machine=state_machine, description=description), changed


def studio_revert(
    *, state_machine: StateMachine, number: int, description: str = ""
) -> tuple[StateMachineVersion, bool]:
    """Revision `number`'s definition made current again as a new published version (the
    revisions between stay, for the executions that ran them)."""
    revision = state_machine.versions.get(number=number)
    description = description or f"Revision {number} made current again"
    return studio_save(
        state_machine=state_machine,
        definition=json.dumps(revision.definition),
        description=description,
    )


def studio_diff(*, state_machine: StateMachine, old: int, new: int) -> str:
    """The unified diff between two revisions' definitions (keys sorted, two-space indent)."""
    before = state_machine.versions.get(number=old).definition
    after = state_machine.versions.get(number=new).definition

    def lines(document: dict) -> list[str]:
        return json.dumps(document, indent=2, sort_keys=True).splitlines()

    diff = difflib.unified_diff(
        lines(before), lines(after), f"revision {old}", f"revision {new}", lineterm=""
    )
    return "\n".join(diff) or "(the same definition)"
