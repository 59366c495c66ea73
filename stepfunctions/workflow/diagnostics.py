"""Diagnostics of an ASL document, as ValidateStateMachineDefinition gives them: a severity, a
code, a message and a location (a JSON pointer such as `/States/Emit - Workflow Started TT/Next`).

ERRORs are what `load_definition` refuses (the first one it meets, then each state's own, as
each loads alone, and each transition to a state that does not exist) and a scope with no state
that ends the run; a definition with an ERROR cannot be created or updated.
WARNINGs are for a definition that loads but holds something that cannot run as written: a state
no transition reaches, a catcher whose every error an earlier catcher already takes, a field
that looks like a path without its `.$`, a Pass state's Result holding a path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .definition import Definition, State
from .errors import ALL, HEARTBEAT_TIMEOUT, RUNTIME, TASK_FAILED, TIMEOUT, DefinitionError
from .errors import error_matches as _matches
from .jsontext import JsonRefused, json_read
from .loader import load_definition

ERROR, WARNING = "ERROR", "WARNING"


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    code: str
    message: str
    location: str | None = None


def pointer(segments: tuple[str, ...] | list[str]) -> str | None:
    """A JSON pointer (RFC 6901) to the segments; None for the document itself."""
    if not segments:
        return None
    return "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)


_PART = re.compile(r"\[(\d+)\]|[^\[]+")


def field_segments(field: str) -> list[str]:
    """A loader's field name as pointer segments: `Choices[0].Next` is Choices, 0, Next; a
    template key's `.$` stays with its key (`Parameters.id.$` is Parameters, id.$)."""
    out: list[str] = []
    for part in field.split(".") if field else ():
        if part == "$" and out:
            out[-1] += ".$"
            continue
        out += [m.group(1) or m.group(0) for m in _PART.finditer(part)]
    return out


def _error_segments(error: DefinitionError) -> list[str]:
    segments: list[str] = []
    # The scope is ("States", state, field) triples, outermost first (loader._read_branch).
    for i in range(0, len(error.scope), 3):
        kind, name, where = error.scope[i : i + 3]
        segments += [kind, name, *field_segments(where)]
    if error.state is not None:
        segments += ["States", error.state]
    return segments + field_segments(error.field)


def _error_code(error: DefinitionError) -> str:
    if error.state is None and not error.field:
        return "INVALID_JSON_DESCRIPTION"
    if "names a state that does not exist" in error.message:
        return "MISSING_TRANSITION_TARGET"
    if error.field == "Resource":
        return "INVALID_RESOURCE"
    return "SCHEMA_VALIDATION_FAILED"


def definition_error(error: DefinitionError) -> Diagnostic:
    """The loader's refusal as an ERROR diagnostic."""
    return Diagnostic(ERROR, _error_code(error), str(error), pointer(_error_segments(error)))


def definition_check(
    doc: dict | str, *, resource_known: Callable[[str], bool] = lambda resource: True
) -> tuple[Definition | None, list[Diagnostic]]:
    """The loaded definition (None when it has an ERROR) and every diagnostic, errors first."""
    try:
        definition = load_definition(doc, resource_known=resource_known)
    except DefinitionError as error:
        return None, _errors(doc, error, resource_known)
    found = list(_scope(definition, ()))
    found.sort(key=lambda d: d.severity != ERROR)
    if any(d.severity == ERROR for d in found):
        return None, found
    return definition, found


def _errors(
    doc: dict | str, first: DefinitionError, resource_known: Callable[[str], bool]
) -> list[Diagnostic]:
    """Every ERROR found, the loader's (the first it met: what CreateStateMachine answers)
    first: each state is loaded on its own (its targets standing in as Succeed states), its
    targets are looked up, and a Parallel's branches and a Map's item processor are gone through
    the same way. A document that is no JSON object, or has no object of States, has one."""
    found = [definition_error(first)]
    try:
        raw = json_read(doc) if isinstance(doc, str) else doc
    except JsonRefused:
        return found
    states = raw.get("States") if isinstance(raw, dict) else None
    if isinstance(states, dict):
        language = raw.get("QueryLanguage")
        seen = {(found[0].code, found[0].location)}
        for diagnostic in _state_errors(states, language, (), resource_known):
            if (diagnostic.code, diagnostic.location) not in seen:
                seen.add((diagnostic.code, diagnostic.location))
                found.append(diagnostic)
    return found


def _named_targets(raw: dict) -> Iterator[tuple[str, Any]]:
    """(field, state name) of each transition a state's raw fields name."""
    for key in ("Next", "Default"):
        if key in raw:
            yield key, raw[key]
    for key in ("Choices", "Catch"):
        rules = raw.get(key)
        for i, rule in enumerate(rules if isinstance(rules, list) else ()):
            if isinstance(rule, dict) and "Next" in rule:
                yield f"{key}[{i}].Next", rule["Next"]


def _state_errors(
    states: dict,
    language: Any,
    prefix: tuple[str, ...],
    resource_known: Callable[[str], bool],
) -> Iterator[Diagnostic]:
    for name, raw in states.items():
        if not isinstance(raw, dict):
            continue  # the loader's own error says it
        targets = list(_named_targets(raw))
        for field, target in targets:
            if not isinstance(target, str) or target not in states:
                message = f"names a state that does not exist: {json.dumps(target)}"
                yield _within(prefix, definition_error(DefinitionError(name, field, message)))
        alone = {str(t): {"Type": "Succeed"} for _, t in targets if isinstance(t, str)}
        wrapper: dict[str, Any] = {"StartAt": name, "States": {**alone, name: raw}}
        if language is not None:
            wrapper["QueryLanguage"] = language
        try:
            load_definition(wrapper, resource_known=resource_known)
        except DefinitionError as error:
            yield _within(prefix, definition_error(error))
        inner = raw.get("QueryLanguage", language)
        branches = raw.get("Branches") if raw.get("Type") == "Parallel" else None
        for i, branch in enumerate(branches if isinstance(branches, list) else ()):
            if isinstance(branch, dict) and isinstance(branch.get("States"), dict):
                where = (*prefix, "States", name, "Branches", str(i))
                yield from _state_errors(branch["States"], inner, where, resource_known)
        for key in ("ItemProcessor", "Iterator"):
            processor = raw.get(key) if raw.get("Type") == "Map" else None
            if isinstance(processor, dict) and isinstance(processor.get("States"), dict):
                where = (*prefix, "States", name, key)
                yield from _state_errors(processor["States"], inner, where, resource_known)


def _within(prefix: tuple[str, ...], diagnostic: Diagnostic) -> Diagnostic:
    if not prefix:
        return diagnostic
    location = (pointer(prefix) or "") + (diagnostic.location or "")
    return Diagnostic(diagnostic.severity, diagnostic.code, diagnostic.message, location)


def _scope(definition: Definition, prefix: tuple[str, ...]) -> Iterator[Diagnostic]:
    """The diagnostics of one scope's states (the machine, a branch, an item processor)."""
    states = definition.states
    if not any(s.end or s.type in ("Succeed", "Fail") for s in states.values()):
        message = "No state ends the workflow: a state needs End, or a Succeed or Fail state"
        yield Diagnostic(ERROR, "MISSING_END_STATE", message, pointer([*prefix, "States"]))
    reachable = _reachable(definition)
    for name, state in states.items():
        where = (*prefix, "States", name)
        if name not in reachable:
            message = f"The state '{name}' is not reachable: no transition leads to it"
            yield Diagnostic(WARNING, "UNREACHABLE_STATE", message, pointer(where))
        yield from _catchers(state, where)
        yield from _paths_without_dollar(state, where)
        for i, branch in enumerate(state.branches):
            if state.type == "Parallel":
                inner = (*where, "Branches", str(i))
            else:
                inner = (*where, "ItemProcessor" if "ItemProcessor" in state.raw else "Iterator")
            yield from _scope(branch, inner)


def _targets(state: State) -> Iterator[str]:
    if state.next:
        yield state.next
    if state.default:
        yield state.default
    for rule in state.choices:
        yield rule["Next"]
    for catcher in state.catch:
        yield catcher.next


def _reachable(definition: Definition) -> set[str]:
    seen, todo = set(), [definition.start_at]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _targets(definition.states[name])
    return seen


def _covered(name: str, earlier: list[tuple[str, ...]]) -> bool:
    """Whether an earlier catcher takes every error `name` stands for."""
    if name == RUNTIME:
        return True  # never caught at all
    if name in (ALL, TASK_FAILED):
        return any(name in names or ALL in names for names in earlier)
    if name == HEARTBEAT_TIMEOUT:
        return any(_matches(names, TIMEOUT, heartbeat=True) for names in earlier)
    return any(_matches(names, name) for names in earlier)


def _catchers(state: State, where: tuple[str, ...]) -> Iterator[Diagnostic]:
    earlier: list[tuple[str, ...]] = []
    for i, catcher in enumerate(state.catch):
        if all(_covered(name, earlier) for name in catcher.error_equals):
            message = (
                f"Catch[{i}] of '{state.name}' never fires: an earlier catcher takes every error "
                f"it names ({', '.join(catcher.error_equals)}), or it names only States.Runtime"
            )
            yield Diagnostic(
                WARNING, "UNREACHABLE_CATCHER", message, pointer([*where, "Catch", str(i)])
            )
        earlier.append(catcher.error_equals)


_LOOKS_LIKE_PATH = re.compile(r"^(\$\$?\.|\$\$?$|\$\[|States\.[A-Za-z]+\()")


def _strings(value: Any, at: list[str]) -> Iterator[tuple[list[str], str, Any]]:
    """(segments, key, value) of every plain key (no `.$`) in a payload template."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if not key.endswith(".$"):
                yield [*at, key], key, inner
                yield from _strings(inner, [*at, key])
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _strings(inner, [*at, str(i)])


def _paths_without_dollar(state: State, where: tuple[str, ...]) -> Iterator[Diagnostic]:
    if state.jsonata:
        return
    for field in ("Parameters", "ResultSelector", "ItemSelector", "Result"):
        found = list(_strings(state.raw.get(field), [field]))
        if field == "Result" and isinstance(state.raw.get(field), str):
            found.append(([field], field, state.raw[field]))
        for segments, key, value in found:
            if not (isinstance(value, str) and _LOOKS_LIKE_PATH.match(value)):
                continue
            location = pointer([*where, *segments])
            if field == "Result":
                message = f"The Pass state's Result is static: '{value}' is not read as a path"
                yield Diagnostic(WARNING, "PASS_RESULT_IS_STATIC", message, location)
            else:
                message = f"'{key}' looks like a path or intrinsic but its key has no '.$'"
                yield Diagnostic(WARNING, "NO_DOLLAR", message, location)
