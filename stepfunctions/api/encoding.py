"""The JSON protocol's encoding: timestamps as epoch seconds, members checked against the model.

The members of each operation are checked against the botocore service model, the same document
AWS's front end validates with, so bounds (lengths, ranges, enums, required members) answer as
AWS answers them before any service runs. The services check their own bounds again for the
management commands.
"""

import json
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape

from stepfunctions.errors import ServiceError, ValidationException
from stepfunctions.workflow.jsontext import UNSTORABLE


class SerializationException(ServiceError):
    """The body is not JSON, or a member has the wrong JSON type."""


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        # Epoch seconds as a number, as botocore's JSON parser expects; milliseconds kept.
        return round(value.timestamp(), 3)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def answer_encode(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, default=_default, separators=(",", ":")).encode()


@cache
def _service_model():
    return botocore.session.get_session().get_service_model("stepfunctions")


def operation_model(name: str) -> OperationModel:
    return _service_model().operation_model(name)


def _invalid(count: int, problems: list[str]) -> ValidationException:
    noun = "error" if count == 1 else "errors"
    return ValidationException(f"{count} validation {noun} detected: " + "; ".join(problems))


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
    "timestamp": (int, float),
}


def _member_problem(name: str, shape: Shape, value: Any) -> str | None:
    expected = _JSON_TYPES.get(shape.type_name)
    # JSON's true is a Python int too: a boolean is never a number here.
    is_number = shape.type_name in ("integer", "long", "timestamp")
    if (expected and not isinstance(value, expected)) or (is_number and isinstance(value, bool)):
        raise SerializationException(f"Member '{name}' must be a JSON {shape.type_name}")
    meta = shape.metadata
    if shape.type_name == "string":
        if UNSTORABLE.search(value):
            return (
                f"Value at '{name}' failed to satisfy constraint: "
                "Member must not contain NUL (\\u0000) or unpaired surrogate characters"
            )
        if "min" in meta and len(value) < meta["min"]:
            return (
                f"Value at '{name}' failed to satisfy constraint: "
                f"Member must have length greater than or equal to {meta['min']}"
            )
        if "max" in meta and len(value) > meta["max"]:
            return (
                f"Value at '{name}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {meta['max']}"
            )
        if shape.enum and value not in shape.enum:
            return (
                f"Value '{value}' at '{name}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            )
    if shape.type_name in ("integer", "long"):
        if "min" in meta and value < meta["min"]:
            return (
                f"Value '{value}' at '{name}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            return (
                f"Value '{value}' at '{name}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {meta['max']}"
            )
    return None


def members_validate(*, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body's top-level members, checked against the operation's input shape.

    Unknown members are ignored, as AWS ignores them; a null counts as absent.
    """
    shape = operation_model(operation).input_shape
    members = shape.members if shape is not None else {}
    required = set(shape.required_members) if shape is not None else set()
    problems: list[str] = []
    for name, member in members.items():
        value = body.get(name)
        if value is None:
            if name in required:
                problems.append(
                    f"Value null at '{name}' failed to satisfy constraint: Member must not be null"
                )
            continue
        problem = _member_problem(name, member, value)
        if problem:
            problems.append(problem)
    if problems:
        raise _invalid(len(problems), problems)
    return {name: body[name] for name in members if body.get(name) is not None}
