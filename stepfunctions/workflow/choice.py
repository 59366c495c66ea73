"""Choice rules: validation on load and evaluation at run time."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .errors import NO_CHOICE_MATCHED, RUNTIME, StatesError
from .paths import PathSyntaxError, find, parse_path, path_exists, resolve

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with a zone (`2016-03-14T01:59:00Z`) as a datetime, else None."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    text = value.replace("Z", "+00:00")
    # datetime.fromisoformat takes at most 6 fractional digits; RFC 3339 allows more.
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string_matches(value: str, pattern: str) -> bool:
    regex, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.fullmatch("".join(regex), value, flags=re.DOTALL) is not None


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

# kind -> (does this value have the kind, how to compare values of it)
_KINDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any]]] = {
    "String": (lambda v: isinstance(v, str), lambda v: v),
    "Numeric": (_is_number, lambda v: v),
    "Boolean": (lambda v: isinstance(v, bool), lambda v: v),
    "Timestamp": (lambda v: parse_timestamp(v) is not None, parse_timestamp),
}

COMPARISONS: dict[str, tuple[str, str]] = {
    f"{kind}{op}": (kind, op)
    for kind in _KINDS
    for op in _ORDERINGS
    if kind != "Boolean" or op == "Equals"
}
COMPARISONS["StringMatches"] = ("String", "Matches")

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsString": lambda v: isinstance(v, str),
    "IsNumeric": _is_number,
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}

OPERATORS = (
    set(COMPARISONS)
    | {f"{name}Path" for name in COMPARISONS if name != "StringMatches"}
    | set(TYPE_TESTS)
    | {"IsPresent"}
)


def rule_errors(rule: Any, where: str, *, top_level: bool) -> list[tuple[str, str]]:
    """(field, message) for every problem in a Choice rule; an empty list means it is valid."""
    if not isinstance(rule, dict):
        return [(where, "must be an object")]
    problems: list[tuple[str, str]] = []
    if top_level and not isinstance(rule.get("Next"), str):
        problems.append((f"{where}.Next", "a top-level Choice rule needs Next (a state name)"))
    if not top_level and "Next" in rule:
        problems.append((f"{where}.Next", "only top-level Choice rules may have Next"))
    boolean = [key for key in ("And", "Or", "Not") if key in rule]
    operators = [key for key in rule if key in OPERATORS]
    allowed = {"Next", "Comment", "Variable", *OPERATORS, "And", "Or", "Not"}
    problems += [(f"{where}.{key}", "unknown field") for key in rule if key not in allowed]
    if len(boolean) + len(operators) != 1:
        found = ", ".join(boolean + operators) or "none"
        return problems + [(where, f"needs exactly one comparison operator (found {found})")]
    if boolean:
        key = boolean[0]
        if "Variable" in rule:
            problems.append((f"{where}.Variable", f"not allowed with {key}"))
        operand = rule[key]
        if key == "Not":
            return problems + rule_errors(operand, f"{where}.Not", top_level=False)
        if not isinstance(operand, list) or not operand:
            return problems + [(f"{where}.{key}", "must be a non-empty list of rules")]
        for i, sub in enumerate(operand):
            problems += rule_errors(sub, f"{where}.{key}[{i}]", top_level=False)
        return problems
    problems += _path_errors(rule.get("Variable"), f"{where}.Variable")
    op = operators[0]
    problems += _operand_errors(op, rule[op], f"{where}.{op}")
    return problems


def _path_errors(value: Any, field: str) -> list[tuple[str, str]]:
    if not isinstance(value, str):
        return [(field, "must be a JSONPath string")]
    try:
        parse_path(value, variables=True)
    except PathSyntaxError as exc:
        return [(field, str(exc))]
    return []


def _operand_errors(op: str, operand: Any, field: str) -> list[tuple[str, str]]:
    if op in TYPE_TESTS or op == "IsPresent":
        return [] if isinstance(operand, bool) else [(field, "must be true or false")]
    if op.endswith("Path") and op not in COMPARISONS:
        return _path_errors(operand, field)
    kind, _ = COMPARISONS[op]
    if kind == "Timestamp":
        ok = parse_timestamp(operand) is not None
        return [] if ok else [(field, "must be an RFC 3339 timestamp string")]
    has_kind, _ = _KINDS[kind]
    return [] if has_kind(operand) else [(field, f"must be a {kind.lower()} value")]


def evaluate(rule: dict, data: Any, context: Any, variables: Mapping | None = None) -> bool:
    """Whether a validated rule holds for `data`.

    Comparing a Variable that is absent raises StatesError("States.Runtime") worded as AWS words
    it, except IsPresent;
    a value of the wrong type makes a comparison false rather than an error.
    """
    if "And" in rule:
        return all(evaluate(sub, data, context, variables) for sub in rule["And"])
    if "Or" in rule:
        return any(evaluate(sub, data, context, variables) for sub in rule["Or"])
    if "Not" in rule:
        return not evaluate(rule["Not"], data, context, variables)
    op = next(key for key in rule if key in OPERATORS)
    variable = parse_path(rule["Variable"], variables=True)
    if op == "IsPresent":
        return path_exists(variable, data, context, variables) == rule[op]
    found, value = find(variable, data, context, variables)
    if not found:
        raise StatesError(
            RUNTIME,
            f"Invalid path '{variable.text}': The choice state's condition path references an "
            "invalid value.",
        )
    if op in TYPE_TESTS:
        return TYPE_TESTS[op](value) == rule[op]
    expected = rule[op]
    if op not in COMPARISONS:
        op = op[: -len("Path")]
        expected = resolve(rule[f"{op}Path"], data, context, field=f"{op}Path", variables=variables)
    kind, ordering = COMPARISONS[op]
    has_kind, normalise = _KINDS[kind]
    if not has_kind(value) or not has_kind(expected):
        return False
    if ordering == "Matches":
        return _string_matches(value, expected)
    return _ORDERINGS[ordering](normalise(value), normalise(expected))


def choose(
    choices: tuple[dict, ...],
    default: str | None,
    data: Any,
    context: Any,
    variables: Mapping | None = None,
) -> str:
    """The Next of the first rule that holds, else `default`.

    Raises StatesError("States.NoChoiceMatched") when nothing holds and there is no Default.
    """
    for rule in choices:
        if evaluate(rule, data, context, variables):
            return rule["Next"]
    if default is not None:
        return default
    raise StatesError(NO_CHOICE_MATCHED, "No Choice Rules matched and no Default is set")
