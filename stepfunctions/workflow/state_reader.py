"""Reads one state's fields as the ASL reference allows them: paths, templates, Assign, the
resource, transitions, Retry, Catch, timeouts and a Wait state's time. Each check raises a
DefinitionError naming the state and field at fault."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from .definition import (
    MAX_ATTEMPTS,
    MAX_DELAY_SECONDS,
    MAX_SECONDS,
    Catcher,
    Retrier,
    timestamp_parse,
)
from .errors import ALL, DefinitionError
from .jsonata_query import expression_errors, is_expression
from .paths import VARIABLE_NAME, Path, PathSyntaxError, parse_path, parse_reference_path
from .templates import template_errors

_WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
_RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "Comment"}
_RETRIER_FIELDS |= {"MaxDelaySeconds", "JitterStrategy"}
_CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}
_JSONATA_CATCHER_FIELDS = {"ErrorEquals", "Next", "Output", "Comment", "Assign"}


def positive_int(value: Any, maximum: int = MAX_SECONDS) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= maximum


def finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class StateReader:
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
            self.fields_check(where, item, allowed)
            out.append((where, item, i == len(items) - 1))
        return out

    def fields_check(
        self,
        where: str,
        value: Any,
        allowed: set[str],
        *,
        not_object: str = "must be an object",
        unknown: str = "unknown field",
    ) -> None:
        """`value` (a retrier, a catcher, a Choice rule, a branch) is an object of only the
        `allowed` fields; else the first field not allowed is named."""
        if not isinstance(value, dict):
            raise self.fail(where, not_object)
        for key in value:
            if key not in allowed:
                raise self.fail(f"{where}.{key}", unknown)

    def retriers(self) -> tuple[Retrier, ...]:
        out = []
        for where, item, last in self.entries("Retry", _RETRIER_FIELDS):
            errors = self.error_equals(f"{where}.ErrorEquals", item.get("ErrorEquals"), last)
            checks = {
                "IntervalSeconds": (
                    positive_int,
                    f"must be an integer between 1 and {MAX_SECONDS}",
                ),
                "MaxAttempts": (
                    lambda v: positive_int(v, MAX_ATTEMPTS) or v == 0,
                    f"must be an integer between 0 and {MAX_ATTEMPTS}",
                ),
                "BackoffRate": (lambda v: finite_number(v) and v >= 1.0, "must be a number >= 1.0"),
                "MaxDelaySeconds": (
                    lambda v: positive_int(v, MAX_DELAY_SECONDS),
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
            catcher_reader = StateReader(self.name, item)
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
            if key in self.raw and not positive_int(self.raw[key]):
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
            if not (positive_int(value) or value == 0 and type(value) is int):
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
