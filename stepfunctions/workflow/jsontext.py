"""JSON as the engine accepts it: what every database it runs on can store, bounded in depth.

PostgreSQL's jsonb (and text) refuses NaN and the infinities, NUL characters and unpaired UTF-16
surrogates; Python's json module accepts them all, and recurses once per nesting level. Every JSON
that arrives from outside (the API's bodies, execution input, task output, definitions, the coffee
bar's bodies) is read by `json_read`, so a refusal happens before anything is written and on SQLite
exactly as on PostgreSQL. Depth is measured without recursion, before the parser runs.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deep enough for any real document (ASL, an order); shallow enough that the interpreter's
# recursive walks (deepcopy, Choice rules, paths) stay far from Python's recursion limit.
MAX_DEPTH = 100
# Strings skipped when counting brackets: a quoted string with its escapes.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JsonRefused(ValueError):
    """The text is not JSON, or holds what the engine will not store; the message says which."""


def _depth_of_text(text: str) -> int:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    for char in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonRefused(f"the number {text[:20]} is too large")
    return number


def json_value_check(value: Any, *, max_depth: int = MAX_DEPTH, strings: bool = True) -> Any:
    """Returns `value` (parsed JSON) if it is storable: finite numbers, no NUL or lone surrogate
    in any string or key (unless `strings` is false: the caller checks them), nesting at most
    max_depth; raises JsonRefused otherwise. Iterative."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if strings and UNSTORABLE.search(item):
                raise JsonRefused("strings must not hold NUL (\\u0000) or unpaired surrogates")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JsonRefused("NaN and Infinity are not JSON numbers")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise JsonRefused(f"nesting deeper than {max_depth} levels")
            children = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, child in children:
                if key is not None:
                    stack.append((key, depth))
                stack.append((child, depth + 1))
    return value


def json_read(
    text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, strings: bool = True
) -> Any:
    """Parses JSON text into a value every database can store; JsonRefused says why not.

    Refused: text that is not UTF-8 or not JSON, nesting deeper than max_depth, NaN/Infinity and
    numbers too large for a float, NUL characters and unpaired surrogates in strings and keys.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRefused("the text is not UTF-8") from None
    if _depth_of_text(text) > max_depth:
        raise JsonRefused(f"nesting deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JsonRefused:
        raise
    except (ValueError, RecursionError) as error:
        # ValueError: not JSON, or an integer with more digits than Python converts.
        raise JsonRefused(str(error)) from None
    return json_value_check(value, max_depth=max_depth, strings=strings)
