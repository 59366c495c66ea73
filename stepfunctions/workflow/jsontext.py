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
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In JSON text written by json.dumps: quoted strings (escapes included), an escaped NUL that is not
# itself an escaped backslash followed by "u0000", and an innermost pair of brackets.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_NOT_BRACKET = re.compile(r"[^\[\]{}]")
_INNERMOST = re.compile(r"\[\]|\{\}")


class JsonRefused(ValueError):
    """The text is not JSON, or holds what the engine will not store; the message says which."""


def _deeper_than(text: str, max_depth: int) -> bool:
    """Whether well-formed JSON text nests deeper than max_depth: each round of the regex removes
    the innermost level, so the work is at most max_depth passes at C speed, never a recursion."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = _INNERMOST.sub("", brackets)
    return bool(brackets)


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
    max_depth; raises JsonRefused otherwise. The checks run on json.dumps' text (C speed)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise JsonRefused(f"nesting deeper than {max_depth} levels") from None
    except (ValueError, TypeError) as error:
        raise JsonRefused(f"not storable as JSON: {error}") from None
    if strings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRefused("strings must not hold unpaired surrogates") from None
        if "\\u0000" in text and _ESCAPED_NUL.search(text):
            raise JsonRefused("strings must not hold NUL (\\u0000)")
    if _deeper_than(text, max_depth):
        raise JsonRefused(f"nesting deeper than {max_depth} levels")
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
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JsonRefused:
        raise
    except RecursionError:
        # Deeper than the parser's own guard (Python's recursion limit), so deeper than ours.
        raise JsonRefused(f"nesting deeper than {max_depth} levels") from None
    except ValueError as error:
        # Not JSON, or an integer with more digits than Python converts.
        raise JsonRefused(str(error)) from None
    return json_value_check(value, max_depth=max_depth, strings=strings)
