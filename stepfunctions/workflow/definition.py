"""Loading and validating an Amazon States Language definition into immutable objects."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .choice import rule_errors
from .errors import ALL, DefinitionError
from .jsonata_query import expression_errors, is_expression
from .jsontext import JsonRefused, json_read, json_value_check
from .paths import VARIABLE_NAME, Path, PathSyntaxError, parse_path, parse_reference_path
from .templates import expression_error, template_errors

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
    # Distributed Map's: refused by _read_map with a message that says so.
    | {"ItemReader", "ItemBatcher", "ResultWriter"},
}
_WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
_DISTRIBUTED_FIELDS = ("ItemReader", "ItemBatcher", "ResultWriter")
_BRANCH_FIELDS = {"StartAt", "States", "Comment", "ProcessorConfig"}
_TOP_FIELDS = {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
_RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "Comment"}
_RETRIER_FIELDS |= {"MaxDelaySeconds", "JitterStrategy"}
_CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}
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
_JSONATA_CATCHER_FIELDS = {"ErrorEquals", "Next", "Output", "Comment", "Assign"}
_JSONATA_RULE_FIELDS = {"Condition", "Next", "Comment", "Assign"}
LANGUAGES = ("JSONPath", "JSONata")


@dataclass(frozen=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter_strategy: str = "NONE"


@dataclass(frozen=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: Path | None  # None is ResultPath null; absent means `$`
    assign: Mapping[str, Any] | None = None
    output: Any = None  # a JSONata catcher's Output (None: the error output as it is)


@dataclass(frozen=True)
class State:
    """One validated state. Path fields hold None for JSON null (absent fields default to `$`)."""

    name: str
    type: str
    raw: Mapping[str, Any]
    next: str | None = None
    end: bool = False
    input_path: Path | None = None
    output_path: Path | None = None
    result_path: Path | None = None
    resource: str | None = None
    heartbeat_seconds: int | None = None
    timeout_seconds: int | None = None
    heartbeat_seconds_path: Path | None = None
    timeout_seconds_path: Path | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    choices: tuple[dict, ...] = ()
    default: str | None = None
    # A Wait state's one field of Seconds, Timestamp, SecondsPath and TimestampPath.
    wait_seconds: int | None = None
    wait_timestamp: datetime | None = None
    wait_seconds_path: Path | None = None
    wait_timestamp_path: Path | None = None
    # QueryLanguage JSONata: Arguments, Output, Assign and Condition hold `{% %}` expressions.
    jsonata: bool = False
    # A Parallel state's branches, a Map state's item processor (one Definition).
    branches: tuple[Definition, ...] = ()
    # A Map state's ItemsPath, MaxConcurrency (0: unbounded) and tolerated failures.
    items_path: Path | None = None
    max_concurrency: int = 0
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None

    @property
    def is_callback(self) -> bool:
        return bool(self.resource and self.resource.endswith(".waitForTaskToken"))

    @property
    def waits_for_job(self) -> bool:
        """A `.sync` integration (`.sync:2` too): the task waits for the job it starts to end,
        on a token the host closes (never shown to the workflow as $$.Task.Token)."""
        return bool(self.resource and self.resource.endswith((".sync", ".sync:2")))


@dataclass(frozen=True)
class Definition:
    """A validated state machine. Never mutate `raw`: states share its sub-objects."""

    start_at: str
    states: Mapping[str, State]
    raw: dict = field(repr=False)
    timeout_seconds: int | None = None

    def state(self, name: str) -> State:
        """The state called `name`; KeyError naming it if there is none."""
        try:
            return self.states[name]
        except KeyError:
            raise KeyError(f'no state named "{name}" in this definition') from None


# Step Functions' own bounds on times and counts (the ASL reference): beyond them a value would
# overflow a date or a float at run time instead of being refused on load.
MAX_SECONDS = 99_999_999  # TimeoutSeconds, HeartbeatSeconds, IntervalSeconds
MAX_ATTEMPTS = 99_999_999
MAX_DELAY_SECONDS = 31_622_400  # MaxDelaySeconds: a year, less than 31622401


# RFC 3339's profile of ISO 8601, as the ASL reference requires of a Wait state's timestamps: an
# uppercase T between date and time, and Z or a numeric offset.
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})")


def timestamp_parse(value: Any) -> datetime | None:
    """An ISO-8601 extended offset date-time string (`2016-03-14T01:59:00Z`) as an aware
    datetime; None when `value` is not one (a fraction finer than microseconds is cut)."""
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    day, time, fraction, offset = match.groups()
    fraction = f".{fraction[:6]}" if fraction else ""
    try:
        return datetime.fromisoformat(f"{day}T{time}{fraction}{offset.replace('Z', '+00:00')}")
    except ValueError:  # a month 13, a 25th hour, ...
        return None


def _positive_int(value: Any, maximum: int = MAX_SECONDS) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= maximum


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _StateReader:
    """Reads one state's fields, raising DefinitionError naming the state and field at fault."""

    def __init__(self, name: str, raw: dict, *, jsonata: bool = False) -> None:
        self.name, self.raw, self.jsonata = name, raw, jsonata

    def fail(self, field_name: str, message: str) -> DefinitionError:
        return DefinitionError(self.name, field_name, message)

    def path(self, key: str, *, reference: bool = False) -> Path | None:
        """A path field: `$` when absent, None when JSON null."""
        value = self.raw.get(key, "$")
        if value is None:
            return None
        try:
            path = parse_reference_path(value) if reference else parse_path(value)
        except PathSyntaxError as exc:
            raise self.fail(key, str(exc)) from None
        return path

    def optional_path(self, key: str) -> Path | None:
        """A path field with no default: None when absent; JSON null is refused."""
        if key not in self.raw:
            return None
        if self.raw[key] is None:
            raise self.fail(key, "must be a JSONPath string")
        return self.path(key)

    def template(self, key: str) -> None:
        if key not in self.raw:
            return
        if key == "ResultSelector" and not isinstance(self.raw[key], dict):
            raise self.fail(key, "must be an object")
        if self.raw[key] is None:
            raise self.fail(key, "must not be null")
        for where, message in template_errors(self.raw[key], key):
            raise self.fail(where, message)

    def assign(self, where: str, value: Any) -> None:
        """Checks an Assign object: variable names, and the paths and intrinsics of `.$` keys."""
        if not isinstance(value, dict):
            raise self.fail(where, "must be an object of variable names")
        names = [key if self.jsonata else key.removesuffix(".$") for key in value]
        for key, name in zip(value, names, strict=True):
            if not VARIABLE_NAME.fullmatch(name):
                raise self.fail(f"{where}.{key}", "is not a variable name ([A-Za-z_][A-Za-z0-9_]*)")
            if names.count(name) > 1:
                raise self.fail(f"{where}.{key}", f"assigns the variable '{name}' twice")
        errors = expression_errors(value, where) if self.jsonata else template_errors(value, where)
        for field_name, message in errors:
            raise self.fail(field_name, message)

    def expressions(self, key: str) -> None:
        """Checks the `{% %}` expressions of a JSONata field (its value or any string in it)."""
        if key in self.raw:
            for field_name, message in expression_errors(self.raw[key], key):
                raise self.fail(field_name, message)

    def task(self, resource_known: Callable[[str], bool], names: Mapping[str, Any]) -> dict:
        """A Task state's resource, timeouts, retriers and catchers (checked in this order)."""
        resource = self.resource(resource_known)
        self.template("ResultSelector")  # JSONPath only: a JSONata state refuses the field
        return {
            "resource": resource,
            **self.timeouts(),
            "retry": self.retriers(),
            "catch": self.catchers(names),
        }

    def choices(self) -> list:
        choices = self.raw.get("Choices")
        if not isinstance(choices, list) or not choices:
            raise self.fail("Choices", "must be a non-empty list of rules")
        return choices

    def resource(self, resource_known: Callable[[str], bool]) -> str:
        resource = self.raw.get("Resource")
        if not isinstance(resource, str):
            raise self.fail("Resource", "must be a string")
        if not resource_known(resource):
            raise self.fail("Resource", f"unknown resource {json.dumps(resource)}")
        return resource

    def transition(self, names: Mapping[str, Any]) -> tuple[str | None, bool]:
        has_next, end = "Next" in self.raw, self.raw.get("End", False)
        if "End" in self.raw and end is not True:
            raise self.fail("End", "must be true when present")
        if has_next == end:
            raise self.fail("Next", "exactly one of Next and End is required")
        return (self.target("Next", self.raw["Next"], names) if has_next else None), end

    def target(self, key: str, value: Any, names: Mapping[str, Any]) -> str:
        if not isinstance(value, str) or value not in names:
            raise self.fail(key, f"names a state that does not exist: {json.dumps(value)}")
        return value

    def error_equals(self, key: str, value: Any, last: bool) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a non-empty list of error names")
        if ALL in value and (len(value) != 1 or not last):
            raise self.fail(key, f"{ALL} must appear alone and in the last entry")
        return tuple(value)

    def entries(self, key: str, allowed: set[str]) -> list[tuple[str, dict, bool]]:
        items = self.raw.get(key, [])
        if not isinstance(items, list):
            raise self.fail(key, "must be a list")
        out = []
        for i, item in enumerate(items):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                raise self.fail(where, "must be an object")
            for unknown in set(item) - allowed:
                raise self.fail(f"{where}.{unknown}", "unknown field")
            out.append((where, item, i == len(items) - 1))
        return out

    def retriers(self) -> tuple[Retrier, ...]:
        out = []
        for where, item, last in self.entries("Retry", _RETRIER_FIELDS):
            errors = self.error_equals(f"{where}.ErrorEquals", item.get("ErrorEquals"), last)
            checks = {
                "IntervalSeconds": (
                    _positive_int,
                    f"must be an integer between 1 and {MAX_SECONDS}",
                ),
                "MaxAttempts": (
                    lambda v: _positive_int(v, MAX_ATTEMPTS) or v == 0,
                    f"must be an integer between 0 and {MAX_ATTEMPTS}",
                ),
                "BackoffRate": (lambda v: _number(v) and v >= 1.0, "must be a number >= 1.0"),
                "MaxDelaySeconds": (
                    lambda v: _positive_int(v, MAX_DELAY_SECONDS),
                    f"must be an integer between 1 and {MAX_DELAY_SECONDS}",
                ),
                "JitterStrategy": (lambda v: v in ("FULL", "NONE"), "must be FULL or NONE"),
            }
            for key, (ok, message) in checks.items():
                if key in item and not ok(item[key]):
                    raise self.fail(f"{where}.{key}", message)
            out.append(
                Retrier(
                    errors,
                    item.get("IntervalSeconds", 1),
                    item.get("MaxAttempts", 3),
                    float(item.get("BackoffRate", 2.0)),
                    item.get("MaxDelaySeconds"),
                    item.get("JitterStrategy", "NONE"),
                )
            )
        return tuple(out)

    def catchers(self, names: Mapping[str, Any]) -> tuple[Catcher, ...]:
        out = []
        allowed = _JSONATA_CATCHER_FIELDS if self.jsonata else _CATCHER_FIELDS
        for where, item, last in self.entries("Catch", allowed):
            errors = self.error_equals(f"{where}.ErrorEquals", item.get("ErrorEquals"), last)
            if "Next" not in item:
                raise self.fail(f"{where}.Next", "a catcher needs Next")
            target = self.target(f"{where}.Next", item["Next"], names)
            if self.jsonata:
                for field_name, message in expression_errors(item.get("Output"), f"{where}.Output"):
                    raise self.fail(field_name, message)
                if "Assign" in item:
                    self.assign(f"{where}.Assign", item["Assign"])
                out.append(Catcher(errors, target, None, item.get("Assign"), item.get("Output")))
                continue
            catcher_reader = _StateReader(self.name, item)
            try:
                result_path = catcher_reader.path("ResultPath", reference=True)
            except DefinitionError as exc:
                raise self.fail(f"{where}.ResultPath", exc.message) from None
            if "Assign" in item:
                self.assign(f"{where}.Assign", item["Assign"])
            out.append(Catcher(errors, target, result_path, item.get("Assign")))
        return tuple(out)

    def timeouts(self) -> dict[str, Any]:
        values = {}
        for key in ("HeartbeatSeconds", "TimeoutSeconds"):
            if self.jsonata and is_expression(self.raw.get(key)):
                self.expressions(key)  # evaluated when the task is scheduled
                values[key] = None
                continue
            if key in self.raw and not _positive_int(self.raw[key]):
                raise self.fail(key, f"must be an integer between 1 and {MAX_SECONDS}")
            if key in self.raw and f"{key}Path" in self.raw:
                raise self.fail(f"{key}Path", f"cannot be used together with {key}")
            values[key] = self.raw.get(key)
        heartbeat, timeout = values["HeartbeatSeconds"], values["TimeoutSeconds"]
        if heartbeat is not None and timeout is not None and heartbeat >= timeout:
            raise self.fail("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
        return {
            "heartbeat_seconds": heartbeat,
            "timeout_seconds": timeout,
            "heartbeat_seconds_path": self.optional_path("HeartbeatSecondsPath"),
            "timeout_seconds_path": self.optional_path("TimeoutSecondsPath"),
        }

    def wait(self) -> dict[str, Any]:
        """A Wait state's time: exactly one of its four fields, each checked as AWS checks it."""
        present = [key for key in _WAIT_FIELDS if key in self.raw]
        if len(present) != 1:
            raise self.fail(
                present[1] if len(present) > 1 else "Seconds",
                "exactly one of Seconds, Timestamp, SecondsPath and TimestampPath is required",
            )
        key, value = present[0], self.raw[present[0]]
        if self.jsonata and is_expression(value):
            self.expressions(key)  # evaluated when the state runs
            return {}
        if key == "Seconds":
            if not (_positive_int(value) or value == 0 and type(value) is int):
                raise self.fail(key, f"must be an integer between 0 and {MAX_SECONDS}")
            return {"wait_seconds": value}
        if key == "Timestamp":
            timestamp = timestamp_parse(value)
            if timestamp is None:
                raise self.fail(
                    key, "must be an ISO-8601 extended offset date-time (2016-03-14T01:59:00Z)"
                )
            return {"wait_timestamp": timestamp}
        if not isinstance(value, str):
            raise self.fail(key, "must be a JSONPath string")
        try:
            path = parse_path(value, variables=True)
        except PathSyntaxError as exc:
            raise self.fail(key, str(exc)) from None
        return {"wait_seconds_path" if key == "SecondsPath" else "wait_timestamp_path": path}


def _read_state(
    name: str,
    raw: Any,
    names: Mapping[str, Any],
    resource_known: Callable[[str], bool],
    language: str = "JSONPath",
) -> State:
    if not isinstance(raw, dict):
        raise DefinitionError(name, "", "must be an object")
    reader = _StateReader(name, raw)
    kind = raw.get("Type")
    if kind not in FIELDS:
        raise reader.fail("Type", f"unsupported state type {json.dumps(kind)}")
    own = raw.get("QueryLanguage", language)
    if own not in LANGUAGES:
        raise reader.fail("QueryLanguage", "must be JSONPath or JSONata")
    if language == "JSONata" and own != "JSONata":
        raise reader.fail("QueryLanguage", "a JSONata state machine's states are all JSONata")
    if own == "JSONata":
        return _read_jsonata_state(name, raw, names, resource_known, language)
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
        attrs["next"], attrs["end"] = reader.transition(names)
        attrs.update(reader.wait())
    if kind in ("Task", "Pass"):
        attrs["next"], attrs["end"] = reader.transition(names)
        attrs["result_path"] = reader.path("ResultPath", reference=True)
        reader.template("Parameters")
    if kind == "Task":
        attrs.update(reader.task(resource_known, names))
    if kind == "Choice":
        choices = reader.choices()
        for i, rule in enumerate(choices):
            for where, message in rule_errors(rule, f"Choices[{i}]", top_level=True):
                raise reader.fail(where, message)
            reader.target(f"Choices[{i}].Next", rule["Next"], names)
        attrs["choices"] = tuple(choices)
        if "Default" in raw:
            attrs["default"] = reader.target("Default", raw["Default"], names)
    if kind in ("Parallel", "Map"):
        attrs["next"], attrs["end"] = reader.transition(names)
        attrs["result_path"] = reader.path("ResultPath", reference=True)
        reader.template("Parameters")
        reader.template("ResultSelector")
        attrs.update(_read_branching(reader, kind, names, resource_known, language))
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


def _read_jsonata_state(
    name: str,
    raw: dict,
    names: Mapping[str, Any],
    resource_known: Callable[[str], bool],
    language: str = "JSONata",
) -> State:
    """A state with QueryLanguage JSONata: its expressions are checked here, run by the
    interpreter with `$states` and the variables. A Parallel's branches and a Map's
    ItemProcessor are read in the machine's `language` (their states may name their own)."""
    reader = _StateReader(name, raw, jsonata=True)
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
        attrs["next"], attrs["end"] = reader.transition(names)
    if kind in ("Parallel", "Map"):
        attrs.update(_read_branching(reader, kind, names, resource_known, language))
    if kind == "Wait":
        attrs.update(reader.wait())
    if kind == "Task":
        attrs.update(reader.task(resource_known, names))
    if kind == "Choice":
        choices = reader.choices()
        for i, rule in enumerate(choices):
            where = f"Choices[{i}]"
            if not isinstance(rule, dict):
                raise reader.fail(where, "must be an object")
            for key in rule:
                if key not in _JSONATA_RULE_FIELDS:
                    raise reader.fail(f"{where}.{key}", "unknown field for a JSONata Choice rule")
            condition = rule.get("Condition")
            if not is_expression(condition):
                raise reader.fail(f"{where}.Condition", "must be a {% %} JSONata expression")
            for field_name, message in expression_errors(condition, f"{where}.Condition"):
                raise reader.fail(field_name, message)
            if "Assign" in rule:
                reader.assign(f"{where}.Assign", rule["Assign"])
            reader.target(f"{where}.Next", rule.get("Next"), names)
        attrs["choices"] = tuple(choices)
        if "Default" in raw:
            attrs["default"] = reader.target("Default", raw["Default"], names)
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
    if "TimeoutSeconds" in raw and not _positive_int(raw["TimeoutSeconds"]):
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
    states: dict, resource_known: Callable[[str], bool], language: str
) -> Mapping[str, State]:
    return MappingProxyType(
        {
            name: _read_state(name, state, states, resource_known, language)
            for name, state in states.items()
        }
    )


# --- Parallel and Map -------------------------------------------------------------------------


def _read_branch(
    reader: _StateReader,
    where: str,
    raw: Any,
    resource_known: Callable[[str], bool],
    language: str,
) -> Definition:
    """A Parallel branch or a Map's ItemProcessor: StartAt and States of its own, whose states
    transition only among themselves (a DefinitionError inside names the inner state)."""
    if not isinstance(raw, dict):
        raise reader.fail(where, "must be an object with StartAt and States")
    for key in raw:
        if key not in _BRANCH_FIELDS:
            raise reader.fail(f"{where}.{key}", "unknown field")
    states = raw.get("States")
    if not isinstance(states, dict) or not states:
        raise reader.fail(f"{where}.States", "is required: a non-empty object of states")
    start_at = raw.get("StartAt")
    if not isinstance(start_at, str) or start_at not in states:
        message = f"names a state that does not exist: {json.dumps(start_at)}"
        raise reader.fail(f"{where}.StartAt", message)
    return Definition(
        start_at=start_at,
        states=_read_states(states, resource_known, language),
        raw=raw,
    )


def _read_branching(
    reader: _StateReader,
    kind: str,
    names: Mapping[str, Any],
    resource_known: Callable[[str], bool],
    language: str,
) -> dict[str, Any]:
    """A Parallel's or Map's retriers, catchers and branches (Map: its item processor), in
    either query language."""
    attrs = {"retry": reader.retriers(), "catch": reader.catchers(names)}
    if kind == "Parallel":
        attrs["branches"] = _read_branches(reader, resource_known, language)
    else:
        attrs.update(_read_map(reader, resource_known, language))
    return attrs


def _read_branches(
    reader: _StateReader, resource_known: Callable[[str], bool], language: str
) -> tuple[Definition, ...]:
    branches = reader.raw.get("Branches")
    if not isinstance(branches, list) or not branches:
        raise reader.fail("Branches", "must be a non-empty list of branches")
    return tuple(
        _read_branch(reader, f"Branches[{i}]", branch, resource_known, language)
        for i, branch in enumerate(branches)
    )


def _read_map(
    reader: _StateReader, resource_known: Callable[[str], bool], language: str
) -> dict[str, Any]:
    """An inline Map's ItemProcessor (or the older Iterator), ItemsPath, ItemSelector (or the
    older Parameters), MaxConcurrency and tolerated failures; a distributed Map is refused."""
    raw = reader.raw
    for key in _DISTRIBUTED_FIELDS:
        if key in raw:
            raise reader.fail(key, "Distributed Map states are not supported (INLINE only)")
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
    if config.get("Mode", "INLINE") != "INLINE":
        message = "Distributed Map states are not supported: Mode must be INLINE"
        raise reader.fail(f"{key}.ProcessorConfig.Mode", message)
    concurrency = raw.get("MaxConcurrency", 0)
    if not (
        _positive_int(concurrency, MAX_ATTEMPTS) or concurrency == 0 and type(concurrency) is int
    ):
        raise reader.fail("MaxConcurrency", f"must be an integer between 0 and {MAX_ATTEMPTS}")
    count = raw.get("ToleratedFailureCount")
    if count is not None and not (
        _positive_int(count, MAX_ATTEMPTS) or count == 0 and type(count) is int
    ):
        raise reader.fail("ToleratedFailureCount", "must be a non-negative integer")
    percentage = raw.get("ToleratedFailurePercentage")
    if percentage is not None and not (_number(percentage) and 0 <= percentage <= 100):
        raise reader.fail("ToleratedFailurePercentage", "must be a number between 0 and 100")
    return {
        "branches": (_read_branch(reader, key, processor, resource_known, language),),
        "items_path": reader.path("ItemsPath"),
        "max_concurrency": concurrency,
        "tolerated_failure_count": count,
        "tolerated_failure_percentage": percentage,
    }
