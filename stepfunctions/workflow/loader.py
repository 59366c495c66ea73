"""Loading and validating an Amazon States Language definition: `load_definition` checks the
document and each state's fields for its type and query language, and builds the Definition."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .choice import rule_errors
from .definition import MAX_ATTEMPTS, MAX_SECONDS, Definition, State
from .distributed import distributed_read, s3_refuse
from .errors import DefinitionError
from .jsonata_query import expression_errors, is_expression
from .jsontext import JsonRefused, json_read, json_value_check
from .state_reader import StateReader, finite_number, positive_int
from .templates import expression_error

_COMMON = {"Type", "Comment", "QueryLanguage"}
_FLOW = {"Next", "End", "InputPath", "OutputPath"}
FIELDS: dict[str, set[str]] = {
    "Task": _COMMON
    | _FLOW
    | {"ResultPath", "Parameters", "ResultSelector", "Resource", "Retry", "Catch", "Assign"}
    | {"TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"},
    "Pass": _COMMON | _FLOW | {"ResultPath", "Parameters", "Result", "Assign"},
    "Choice": _COMMON | {"Choices", "Default", "InputPath", "OutputPath", "Assign"},
    "Succeed": _COMMON | {"InputPath", "OutputPath"},
    "Fail": _COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
    "Wait": _COMMON | _FLOW | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign"},
    "Parallel": _COMMON
    | _FLOW
    | {"Branches", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Assign"},
    "Map": _COMMON
    | _FLOW
    | {"ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Assign"}
    | {"Iterator", "ItemProcessor", "ItemsPath", "ItemSelector", "MaxConcurrency"}
    | {"ToleratedFailureCount", "ToleratedFailurePercentage", "Label"}
    # A distributed Map's (workflow.distributed: ItemReader and ResultWriter refused, saying so).
    | {"ItemReader", "ItemBatcher", "ResultWriter"},
}
_BRANCH_FIELDS = {"StartAt", "States", "Comment", "ProcessorConfig"}
_TOP_FIELDS = {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
# A JSONata state's fields: Arguments and Output take the place of the five JSONPath fields.
_JSONATA_FIELDS: dict[str, set[str]] = {
    "Task": _COMMON
    | {"Next", "End", "Resource", "Arguments", "Output", "Assign", "Retry", "Catch"}
    | {"TimeoutSeconds", "HeartbeatSeconds"},
    "Pass": _COMMON | {"Next", "End", "Output", "Assign"},
    "Choice": _COMMON | {"Choices", "Default", "Output", "Assign"},
    "Wait": _COMMON | {"Next", "End", "Seconds", "Timestamp", "Output", "Assign"},
    "Succeed": _COMMON | {"Output"},
    "Fail": _COMMON | {"Error", "Cause"},
    "Parallel": _COMMON
    | {"Next", "End", "Branches", "Arguments", "Output", "Assign", "Retry", "Catch"},
    "Map": _COMMON
    | {"Next", "End", "ItemProcessor", "Iterator", "Items", "ItemSelector", "MaxConcurrency"}
    | {"ToleratedFailureCount", "ToleratedFailurePercentage", "Label", "Output", "Assign"}
    | {"Retry", "Catch", "ItemReader", "ItemBatcher", "ResultWriter"},
}
_JSONATA_RULE_FIELDS = {"Condition", "Next", "Comment", "Assign"}
LANGUAGES = ("JSONPath", "JSONata")


@dataclass(frozen=True)
class _Scope:
    """What reading a state needs besides its own fields: the states its transitions may name,
    which resources exist, and the query language of the machine (a state may name its own)."""

    names: Mapping[str, Any]
    resource_known: Callable[[str], bool]
    language: str
    # The variables the enclosing scopes assign (inside a Parallel branch or a Map's item
    # processor): its states read them, and may not assign them.
    outer: frozenset[str] = frozenset()


def _read_state(name: str, raw: Any, scope: _Scope) -> State:
    if not isinstance(raw, dict):
        raise DefinitionError(name, "", "must be an object")
    reader = StateReader(name, raw)
    kind = raw.get("Type")
    if kind not in FIELDS:
        raise reader.fail("Type", f"unsupported state type {json.dumps(kind)}")
    own = raw.get("QueryLanguage", scope.language)
    if own not in LANGUAGES:
        raise reader.fail("QueryLanguage", "must be JSONPath or JSONata")
    if scope.language == "JSONata" and own != "JSONata":
        raise reader.fail("QueryLanguage", "a JSONata state machine's states are all JSONata")
    if own == "JSONata":
        return _read_jsonata_state(name, raw, scope)
    for key in raw:
        if key not in FIELDS[kind]:
            raise reader.fail(key, f"unknown field for a {kind} state")
    attrs: dict[str, Any] = {}
    if "Assign" in raw:
        reader.assign("Assign", raw["Assign"])
    if "InputPath" in FIELDS[kind]:
        attrs["input_path"] = reader.path("InputPath")
        attrs["output_path"] = reader.path("OutputPath")
    if kind == "Wait":
        attrs["next"], attrs["end"] = reader.transition(scope.names)
        attrs.update(reader.wait())
    if kind in ("Task", "Pass"):
        attrs["next"], attrs["end"] = reader.transition(scope.names)
        attrs["result_path"] = reader.path("ResultPath", reference=True)
        reader.template("Parameters")
    if kind == "Task":
        attrs.update(reader.task(scope.resource_known, scope.names))
    if kind == "Choice":
        choices = reader.choices()
        for i, rule in enumerate(choices):
            for where, message in rule_errors(rule, f"Choices[{i}]", top_level=True):
                raise reader.fail(where, message)
            reader.target(f"Choices[{i}].Next", rule["Next"], scope.names)
        attrs["choices"] = tuple(choices)
        if "Default" in raw:
            attrs["default"] = reader.target("Default", raw["Default"], scope.names)
    if kind in ("Parallel", "Map"):
        attrs["next"], attrs["end"] = reader.transition(scope.names)
        attrs["result_path"] = reader.path("ResultPath", reference=True)
        reader.template("Parameters")
        reader.template("ResultSelector")
        attrs.update(_read_branching(reader, kind, scope))
    if kind == "Fail":
        for key in ("Error", "Cause"):
            if key in raw and f"{key}Path" in raw:
                raise reader.fail(f"{key}Path", f"cannot be used together with {key}")
            if key in raw and not isinstance(raw[key], str):
                raise reader.fail(key, "must be a string")
            if f"{key}Path" in raw:
                # A reference path or, as AWS allows there, an intrinsic function.
                message = expression_error(raw[f"{key}Path"])
                if message is not None:
                    raise reader.fail(f"{key}Path", message)
    return State(name=name, type=kind, raw=MappingProxyType(raw), **attrs)


def _read_jsonata_state(name: str, raw: dict, scope: _Scope) -> State:
    """A state with QueryLanguage JSONata: its expressions are checked here, run by the
    interpreter with `$states` and the variables. A Parallel's branches and a Map's
    ItemProcessor are read in the machine's `language` (their states may name their own)."""
    reader = StateReader(name, raw, jsonata=True)
    kind = raw["Type"]
    for key in raw:
        if key not in _JSONATA_FIELDS[kind]:
            message = f"is not a field of a {kind} state with QueryLanguage JSONata"
            raise reader.fail(key, message)
    attrs: dict[str, Any] = {"jsonata": True}
    if "Assign" in raw:
        reader.assign("Assign", raw["Assign"])
    for key in ("Arguments", "Output"):
        reader.expressions(key)
    if kind in ("Task", "Pass", "Wait", "Parallel", "Map"):
        attrs["next"], attrs["end"] = reader.transition(scope.names)
    if kind in ("Parallel", "Map"):
        attrs.update(_read_branching(reader, kind, scope))
    if kind == "Wait":
        attrs.update(reader.wait())
    if kind == "Task":
        attrs.update(reader.task(scope.resource_known, scope.names))
    if kind == "Choice":
        choices = reader.choices()
        for i, rule in enumerate(choices):
            where = f"Choices[{i}]"
            unknown = "unknown field for a JSONata Choice rule"
            reader.fields_check(where, rule, _JSONATA_RULE_FIELDS, unknown=unknown)
            condition = rule.get("Condition")
            if not is_expression(condition):
                raise reader.fail(f"{where}.Condition", "must be a {% %} JSONata expression")
            for field_name, message in expression_errors(condition, f"{where}.Condition"):
                raise reader.fail(field_name, message)
            if "Assign" in rule:
                reader.assign(f"{where}.Assign", rule["Assign"])
            reader.target(f"{where}.Next", rule.get("Next"), scope.names)
        attrs["choices"] = tuple(choices)
        if "Default" in raw:
            attrs["default"] = reader.target("Default", raw["Default"], scope.names)
    if kind == "Fail":
        for key in ("Error", "Cause"):
            if key in raw and not isinstance(raw[key], str):
                raise reader.fail(key, "must be a string or a {% %} JSONata expression")
            reader.expressions(key)
    return State(name=name, type=kind, raw=MappingProxyType(raw), **attrs)


def load_definition(
    doc: dict | str,
    *,
    resource_known: Callable[[str], bool] = lambda resource: True,
) -> Definition:
    """Parse and validate an ASL document (JSON text or dict) into an immutable Definition.

    Guarantees: every transition target exists, every path parses, every state has only the
    fields of its type; otherwise DefinitionError names the state and field. `doc` is copied, so
    later changes to it do not reach the Definition. A host running it keeps each Outcome's
    `variables` (set by Assign) and passes them back to the resume call.
    """
    try:
        doc = json_read(doc) if isinstance(doc, str) else json_value_check(doc)
    except JsonRefused as exc:
        raise DefinitionError(None, "", f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise DefinitionError(None, "", "the definition must be a JSON object")
    raw = copy.deepcopy(doc)
    for key in raw:
        if key not in _TOP_FIELDS:
            raise DefinitionError(None, key, "unknown top-level field")
    language = raw.get("QueryLanguage", "JSONPath")
    if language not in LANGUAGES:
        raise DefinitionError(None, "QueryLanguage", "must be JSONPath or JSONata")
    states = raw.get("States")
    if not isinstance(states, dict) or not states:
        raise DefinitionError(None, "States", "is required: a non-empty object of states")
    if not isinstance(raw.get("StartAt"), str):
        raise DefinitionError(None, "StartAt", "is required: the name of the first state")
    if raw["StartAt"] not in states:
        message = f"names a state that does not exist: {json.dumps(raw['StartAt'])}"
        raise DefinitionError(None, "StartAt", message)
    if "TimeoutSeconds" in raw and not positive_int(raw["TimeoutSeconds"]):
        message = f"must be an integer between 1 and {MAX_SECONDS}"
        raise DefinitionError(None, "TimeoutSeconds", message)
    parsed = _read_states(states, resource_known, language)
    return Definition(
        start_at=raw["StartAt"],
        states=MappingProxyType(parsed),
        raw=raw,
        timeout_seconds=raw.get("TimeoutSeconds"),
    )


def _read_states(
    states: dict,
    resource_known: Callable[[str], bool],
    language: str,
    outer: frozenset[str] = frozenset(),
) -> Mapping[str, State]:
    """The states of a machine, a Parallel branch or a Map's item processor, whose transitions
    may name only each other, and which may not assign a variable of an `outer` scope."""
    scope = _Scope(states, resource_known, language, outer)
    parsed = {}
    for name, state in states.items():
        parsed[name] = _read_state(name, state, scope)
        taken = sorted(_assigned_names(state) & outer)
        if taken:
            raise DefinitionError(
                name,
                "Assign",
                f"assigns the variable '{taken[0]}' of an outer scope: the states of a Parallel "
                "branch or a Map iteration read the outer scope's variables, and assign only "
                "their own",
            )
    return MappingProxyType(parsed)


def _assigned_names(state: Any) -> set[str]:
    """The variables a state assigns: its Assign, its Choice rules' and its Catchers' (read
    from its raw fields, which may not have been checked yet: what is malformed names none)."""
    if not isinstance(state, dict):
        return set()
    assigns = [state.get("Assign")]
    for key in ("Choices", "Catch"):
        if isinstance(state.get(key), list):
            assigns += [item.get("Assign") for item in state[key] if isinstance(item, dict)]
    return {
        key.removesuffix(".$") for assign in assigns if isinstance(assign, dict) for key in assign
    }


# --- Parallel and Map -------------------------------------------------------------------------


def _read_branch(reader: StateReader, where: str, raw: Any, scope: _Scope) -> Definition:
    """A Parallel branch or a Map's ItemProcessor: StartAt and States of its own, whose states
    transition only among themselves (a DefinitionError inside names the inner state)."""
    not_object = "must be an object with StartAt and States"
    reader.fields_check(where, raw, _BRANCH_FIELDS, not_object=not_object)
    states = raw.get("States")
    if not isinstance(states, dict) or not states:
        raise reader.fail(f"{where}.States", "is required: a non-empty object of states")
    start_at = raw.get("StartAt")
    if not isinstance(start_at, str) or start_at not in states:
        message = f"names a state that does not exist: {json.dumps(start_at)}"
        raise reader.fail(f"{where}.StartAt", message)
    # The branch's scope is inside this one: it reads (and may not assign) what this one and the
    # scopes around it assign.
    outer = scope.outer | {v for state in scope.names.values() for v in _assigned_names(state)}
    try:
        inner = _read_states(states, scope.resource_known, scope.language, frozenset(outer))
    except DefinitionError as error:
        error.scope = ("States", reader.name, where, *error.scope)
        raise
    return Definition(start_at=start_at, states=inner, raw=raw)


def _read_branching(reader: StateReader, kind: str, scope: _Scope) -> dict[str, Any]:
    """A Parallel's or Map's retriers, catchers and branches (Map: its item processor), in
    either query language."""
    attrs = {"retry": reader.retriers(), "catch": reader.catchers(scope.names)}
    if kind == "Parallel":
        attrs["branches"] = _read_branches(reader, scope)
    else:
        attrs.update(_read_map(reader, scope))
    return attrs


def _read_branches(reader: StateReader, scope: _Scope) -> tuple[Definition, ...]:
    branches = reader.raw.get("Branches")
    if not isinstance(branches, list) or not branches:
        raise reader.fail("Branches", "must be a non-empty list of branches")
    return tuple(
        _read_branch(reader, f"Branches[{i}]", branch, scope) for i, branch in enumerate(branches)
    )


def _read_map(reader: StateReader, scope: _Scope) -> dict[str, Any]:
    """An inline Map's ItemProcessor (or the older Iterator), ItemsPath, ItemSelector (or the
    older Parameters), MaxConcurrency and tolerated failures; a distributed Map's own fields
    (workflow.distributed)."""
    raw = reader.raw
    s3_refuse(reader)
    if reader.jsonata:
        reader.expressions("Items")
        reader.expressions("ItemSelector")
    if ("ItemProcessor" in raw) == ("Iterator" in raw):
        raise reader.fail("ItemProcessor", "exactly one of ItemProcessor and Iterator is required")
    if "ItemSelector" in raw and "Parameters" in raw:
        raise reader.fail("ItemSelector", "cannot be used together with Parameters")
    if not reader.jsonata:
        reader.template("ItemSelector")
    if "ItemsPath" in raw and raw["ItemsPath"] is None:
        raise reader.fail("ItemsPath", "must be a JSONPath string")
    key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
    processor = raw[key]
    config = processor.get("ProcessorConfig", {}) if isinstance(processor, dict) else {}
    if not isinstance(config, dict) or set(config) - {"Mode", "ExecutionType"}:
        raise reader.fail(f"{key}.ProcessorConfig", "must be an object with Mode")
    distributed = distributed_read(reader, config, key)
    concurrency = raw.get("MaxConcurrency", 0)
    if not (
        positive_int(concurrency, MAX_ATTEMPTS) or concurrency == 0 and type(concurrency) is int
    ):
        raise reader.fail("MaxConcurrency", f"must be an integer between 0 and {MAX_ATTEMPTS}")
    count = raw.get("ToleratedFailureCount")
    if count is not None and not (
        positive_int(count, MAX_ATTEMPTS) or count == 0 and type(count) is int
    ):
        raise reader.fail("ToleratedFailureCount", "must be a non-negative integer")
    percentage = raw.get("ToleratedFailurePercentage")
    if percentage is not None and not (finite_number(percentage) and 0 <= percentage <= 100):
        raise reader.fail("ToleratedFailurePercentage", "must be a number between 0 and 100")
    return {
        "branches": (_read_branch(reader, key, processor, scope),),
        "items_path": reader.path("ItemsPath"),
        "max_concurrency": concurrency,
        "tolerated_failure_count": count,
        "tolerated_failure_percentage": percentage,
        "distributed": distributed,
    }
