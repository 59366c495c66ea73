"""What an EXPRESS state machine's definition may not hold, refused as AWS refuses it."""

import re
from collections.abc import Iterator
from typing import Any

from stepfunctions.errors import InvalidDefinition

_ACTIVITY_RE = re.compile(r"^arn:aws:states:[^:]*:[^:]*:activity:")


def _pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _resources(states: Any, where: str) -> Iterator[tuple[str, str]]:
    """(Resource, its JSON-pointer location) of every Task state, nested branches included, in
    the definition's order."""
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{where}/States/{_pointer(name)}"
        if isinstance(state.get("Resource"), str):
            yield state["Resource"], f"{here}/Resource"
        for index, branch in enumerate(state.get("Branches") or ()):
            if isinstance(branch, dict):
                yield from _resources(branch.get("States"), f"{here}/Branches/{index}")
        for member in ("ItemProcessor", "Iterator"):
            inner = state.get(member)
            if isinstance(inner, dict):
                yield from _resources(inner.get("States"), f"{here}/{member}")


def express_definition_check(*, document: dict) -> None:
    """Refuses what an EXPRESS machine cannot run, as AWS words it (InvalidDefinition): a
    `.sync` or `.waitForTaskToken` integration, an activity. Its first such state only."""
    for resource, location in _resources(document.get("States"), ""):
        if ".waitForTaskToken" in resource:
            # AWS's message has two spaces before "at" for this one.
            problem = "does not support '.waitForTaskToken' service integration  at"
        elif re.search(r"\.sync(:\d+)?$", resource):
            problem = "does not support '.sync' service integration at"
        elif _ACTIVITY_RE.match(resource):
            problem = "does not support Activity ARN at"
        else:
            continue
        raise InvalidDefinition(
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "
            f"Express state machine {problem} {location}'"
        )
