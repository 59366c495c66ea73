"""Payload templates: Parameters, ResultSelector, ItemSelector and Assign, whose `.$` fields
take the value of a path or of an intrinsic function call.

Kept apart from paths (which it reads paths with) and intrinsics (whose arguments are paths), so
each of those imports only what is below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .intrinsics import IntrinsicSyntaxError, evaluate_intrinsic, is_intrinsic, parse_intrinsic
from .paths import PathSyntaxError, parse_path, resolve


def resolve_template(
    template: Any, data: Any, context: Any, *, field: str, variables: Mapping | None = None
) -> Any:
    """Build Parameters / ResultSelector output: a new structure, `.$` keys replaced by the value
    of their path or intrinsic function.

    Raises StatesError("States.Runtime") if a path does not resolve, and
    StatesError("States.IntrinsicFailure") if an intrinsic function fails.
    """
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = resolve_expression(
                    value, data, context, field=key, variables=variables
                )
            else:
                out[key] = resolve_template(value, data, context, field=field, variables=variables)
        return out
    if isinstance(template, list):
        return [
            resolve_template(item, data, context, field=field, variables=variables)
            for item in template
        ]
    return template


def resolve_expression(
    text: str, data: Any, context: Any, *, field: str, variables: Mapping | None = None
) -> Any:
    """The value of a `.$` field: a path, or an intrinsic function call (`States.Format(...)`)."""
    if is_intrinsic(text):
        return evaluate_intrinsic(text, data, context, variables)
    return resolve(text, data, context, field=field, variables=variables)


def expression_error(value: Any) -> str | None:
    """Why `value` is neither a supported path nor a valid intrinsic function call, or None."""
    try:
        if isinstance(value, str) and is_intrinsic(value):
            parse_intrinsic(value)
        else:
            parse_path(value, variables=True)
    except (PathSyntaxError, IntrinsicSyntaxError) as exc:
        return str(exc)
    return None


def template_errors(template: Any, where: str) -> list[tuple[str, str]]:
    """(field, message) for every `.$` value in `template` that is not a supported path or a
    valid intrinsic function call."""
    problems: list[tuple[str, str]] = []
    if isinstance(template, dict):
        for key, value in template.items():
            here = f"{where}.{key}"
            if key.endswith(".$"):
                message = expression_error(value)
                if message is not None:
                    problems.append((here, message))
            else:
                problems.extend(template_errors(value, here))
    elif isinstance(template, list):
        for index, item in enumerate(template):
            problems.extend(template_errors(item, f"{where}[{index}]"))
    return problems
