"""The intrinsic functions themselves (States.Format, States.ArrayPartition, ... States.UUID):
the table `FUNCTIONS` of their arities and implementations, which the intrinsics parser checks
calls against and JSONata's versions of the same functions reuse."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from typing import Any

from .jsontext import json_read
from .paths import to_json

MAX_STRING_CHARS = 10_000  # Base64Encode, Base64Decode and Hash take at most this much
MAX_RANGE_ITEMS = 1000
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # MathAdd's operands
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class FunctionArgumentError(Exception):
    """A function refused its arguments: States.IntrinsicFailure here, and
    States.QueryEvaluationError in JSONata's versions of these functions."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _require(value: Any, kind: str, what: str) -> Any:
    if _kind(value) != kind:
        raise FunctionArgumentError(
            f"The {what} must be {_a(kind)}, not {_a(_kind(value))} ({to_json(value)})"
        )
    return value


def integer_argument(value: Any, what: str) -> int:
    """An integer argument; AWS rounds a fractional number to the nearest integer (half up)."""
    _require(value, "number", what)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FunctionArgumentError(f"The {what} must be a finite number")
        return math.floor(value + 0.5)
    return value


def _text(value: Any) -> str:
    """A value as States.Format puts it into the string, as AWS's Java runtime prints it: a
    string without quotes, an object as a Java map (`{Arg1=1, Arg2=[]}`), an array as a Java list
    (`[a, b]`), the same inside them; null, booleans and numbers as JSON writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return to_json(value)


def format_segments(segments: tuple[str, ...], values: list[Any]) -> str:
    out = [segments[0]]
    for value, segment in zip(values, segments[1:], strict=True):
        out += [_text(value), segment]
    return "".join(out)


def _format(template: Any, *values: Any) -> str:
    # The template came from a path: its `{}` are placeholders as written (no escapes to read).
    segments = tuple(_require(template, "string", "first argument").split("{}"))
    if len(segments) - 1 != len(values):
        raise FunctionArgumentError(
            f"The template has {len(segments) - 1} placeholders '{{}}' but {len(values)} values"
        )
    return format_segments(segments, list(values))


def _string_to_json(text: Any) -> Any:
    text = _require(text, "string", "argument")
    if not text.strip():
        return None  # an empty or blank string is null on AWS, not an error
    try:
        return json_read(text)
    except ValueError as exc:
        raise FunctionArgumentError(f"The argument is not valid JSON text ({exc})") from None


def _canonical(value: Any) -> str:
    """A key under which JSON-equal values are equal (1 and 1.0 alike, true and 1 not)."""

    def normal(node: Any) -> Any:
        if isinstance(node, float) and node.is_integer():
            return int(node)
        if isinstance(node, list):
            return [normal(item) for item in node]
        if isinstance(node, dict):
            return {key: normal(item) for key, item in node.items()}
        return node

    return json.dumps(normal(value), sort_keys=True)


def _array_partition(array: Any, size: Any) -> list:
    items = _require(array, "array", "first argument")
    chunk = integer_argument(size, "chunk size")
    if chunk < 1:
        raise FunctionArgumentError(
            f"The chunk size must be a positive integer, not {to_json(size)}"
        )
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _array_contains(array: Any, value: Any) -> bool:
    wanted = _canonical(value)
    return any(_canonical(item) == wanted for item in _require(array, "array", "first argument"))


def _array_range(start: Any, end: Any, step: Any) -> list[int]:
    first, last, increment = (
        integer_argument(start, "first argument"),
        integer_argument(end, "second argument"),
        integer_argument(step, "third argument"),
    )
    if increment == 0:
        raise FunctionArgumentError("The step (third argument) must not be 0")
    count = max((last - first) // increment + 1, 0)
    if count > MAX_RANGE_ITEMS:
        raise FunctionArgumentError(
            f"The array would have {count} items; at most {MAX_RANGE_ITEMS} are allowed"
        )
    return [first + i * increment for i in range(count)]


def _array_get_item(array: Any, index: Any) -> Any:
    items = _require(array, "array", "first argument")
    position = integer_argument(index, "index")
    if not 0 <= position < len(items):
        raise FunctionArgumentError(
            f"The index {position} is out of bounds for an array of {len(items)} items"
        )
    return items[position]


def _array_unique(array: Any) -> list:
    seen: set[str] = set()
    out = []
    for item in _require(array, "array", "argument"):
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _bounded_string(value: Any, what: str) -> str:
    text = _require(value, "string", what)
    if len(text) > MAX_STRING_CHARS:
        raise FunctionArgumentError(
            f"The {what} has {len(text)} characters; at most {MAX_STRING_CHARS}"
        )
    return text


def _base64_decode(value: Any) -> str:
    text = _bounded_string(value, "argument")
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise FunctionArgumentError(f"The argument is not Base64 of UTF-8 text ({exc})") from None


def _hash(value: Any, algorithm: Any) -> str:
    data = _bounded_string(value if isinstance(value, str) else to_json(value), "data")
    name = HASH_ALGORITHMS.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        supported = ", ".join(HASH_ALGORITHMS)
        raise FunctionArgumentError(f"The algorithm {to_json(algorithm)} is not one of {supported}")
    return hashlib.new(name, data.encode("utf-8"), usedforsecurity=False).hexdigest()


def _json_merge(first: Any, second: Any, deep: Any) -> dict:
    left = _require(first, "object", "first argument")
    right = _require(second, "object", "second argument")
    if _require(deep, "boolean", "third argument"):
        raise FunctionArgumentError(
            "Deep merging is not supported: the third argument must be false"
        )
    return {**left, **right}


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    low, high = integer_argument(start, "start"), integer_argument(end, "end")
    if low >= high:
        raise FunctionArgumentError(f"The start ({low}) must be smaller than the end ({high})")
    # Not for secrets, as AWS says of it; a seed makes it repeatable.
    generator = random.Random(integer_argument(seed, "seed")) if seed is not None else random  # noqa: S311
    return generator.randrange(low, high)


def _math_add(first: Any, second: Any) -> int:
    values = [
        integer_argument(first, "first argument"),
        integer_argument(second, "second argument"),
    ]
    for value in values:
        if not INT_MIN <= value <= INT_MAX:
            raise FunctionArgumentError(
                f"The value {value} is outside the range {INT_MIN} to {INT_MAX}"
            )
    return values[0] + values[1]


def _string_split(value: Any, delimiters: Any) -> list[str]:
    text = _require(value, "string", "first argument")
    separators = set(_require(delimiters, "string", "second argument"))
    # Each character of the second argument divides; empty pieces are dropped.
    pieces, current = [], []
    for char in text:
        if char in separators:
            if current:
                pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


# name -> (fewest arguments, most arguments or None for any number, the function)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "Format": (1, None, _format),
    "StringToJson": (1, 1, _string_to_json),
    "JsonToString": (1, 1, to_json),
    "Array": (0, None, lambda *values: list(values)),
    "ArrayPartition": (2, 2, _array_partition),
    "ArrayContains": (2, 2, _array_contains),
    "ArrayRange": (3, 3, _array_range),
    "ArrayGetItem": (2, 2, _array_get_item),
    "ArrayLength": (1, 1, lambda array: len(_require(array, "array", "argument"))),
    "ArrayUnique": (1, 1, _array_unique),
    "Base64Encode": (
        1,
        1,
        lambda value: base64.b64encode(_bounded_string(value, "argument").encode()).decode(),
    ),
    "Base64Decode": (1, 1, _base64_decode),
    "Hash": (2, 2, _hash),
    "JsonMerge": (3, 3, _json_merge),
    "MathRandom": (2, 3, _math_random),
    "MathAdd": (2, 2, _math_add),
    "StringSplit": (2, 2, _string_split),
    "UUID": (0, 0, lambda: str(uuid.uuid4())),
}
