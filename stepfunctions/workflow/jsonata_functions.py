"""The functions Step Functions adds to JSONata (the guide's "JSONata functions provided by Step
Functions"): `$partition`, `$range`, `$hash`, `$random`, `$uuid` and `$parse`, and `$eval`, which
Step Functions takes away (`$parse` reads JSON text instead).

Each is the JSONata face of an intrinsic function and shares its implementation and checks
(`intrinsic_functions.FUNCTIONS`): `$partition` is States.ArrayPartition, `$range`
States.ArrayRange (1,000 items at most, as a JSONata sequence: one item is that item), `$hash`
States.Hash (MD5, SHA-1, SHA-256, SHA-384, SHA-512; 10,000 characters at most), `$uuid`
States.UUID, `$parse` States.StringToJson. `$random([seed])` is JSONata's `$random` with AWS's
optional seed: a number n, 0 <= n < 1, the same for the same seed.

An argument a function refuses raises FunctionArgumentError, which the evaluation turns into
States.QueryEvaluationError naming the expression and the field. The conversions between plain
JSON values and the library's own (to_jsonata, from_jsonata) are here too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonata import Jsonata
from jsonata.utils import Utils

from .intrinsic_functions import FUNCTIONS, FunctionArgumentError, integer_argument


@dataclass(frozen=True)
class _AwsFunction:
    """One of AWS's functions as JSONata calls it: `parameters` names its arguments (for the
    messages), the first `required` of them must be given."""

    name: str
    parameters: tuple[str, ...]
    required: int
    implementation: Callable[..., Any]
    # Gives a JSONata sequence, not an array: a sequence of one item is that item, as JSONata
    # defines (AWS: `$range(1, 9, 9)` is 1). An empty one stays [] (its tests give no AWS word).
    sequence: bool = False

    def __call__(self, *args: Any) -> Any:
        if len(args) > len(self.parameters):
            most = len(self.parameters)
            raise FunctionArgumentError(
                f"${self.name} takes {f'at most {most}' if most else 'no'} arguments, "
                f"not {len(args)}"
            )
        values = [_plain_argument(arg) for arg in args]
        while len(values) > self.required and values[-1] is _UNDEFINED:
            values.pop()  # an optional argument given as undefined is left out
        for position in range(self.required):
            if position >= len(values) or values[position] is _UNDEFINED:
                raise FunctionArgumentError(
                    f"${self.name}: its {self.parameters[position]} (argument {position + 1}) "
                    "is missing or undefined"
                )
        try:
            result = to_jsonata(self.implementation(*values))
            if self.sequence and result:
                return Utils.create_sequence_from_iter(result)
            return result
        except FunctionArgumentError as refused:
            raise FunctionArgumentError(f"${self.name}: {refused}") from None


_UNDEFINED = object()


def _plain_argument(value: Any) -> Any:
    """A JSONata argument as plain JSON types; undefined becomes _UNDEFINED."""
    if value is None:
        return _UNDEFINED
    try:
        return from_jsonata(value)
    except ValueError as error:
        raise FunctionArgumentError(f"an argument is {error}, which is not a JSON value") from None


def to_jsonata(value: Any) -> Any:
    """A copy of a plain JSON value as the library reads it: JSON null is its NULL_VALUE, since
    None is JSONata's undefined (which a result leaves out of its objects and arrays)."""
    if value is None:
        return Utils.NULL_VALUE
    if isinstance(value, list):
        return [to_jsonata(item) for item in value]
    if isinstance(value, dict):
        return {key: to_jsonata(item) for key, item in value.items()}
    return value


def from_jsonata(value: Any) -> Any:
    """A value the library gives as plain JSON types (its sequences are lists, its NULL_VALUE
    None, an undefined item left out); ValueError for what JSON cannot hold (a function,
    NaN, infinity)."""
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(str(value))
        return value
    if isinstance(value, dict):
        return {str(key): from_jsonata(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [from_jsonata(item) for item in value if item is not None]
    raise ValueError(f"a {type(value).__name__}")


def _random(seed: Any = None) -> float:
    if seed is None:
        return random.random()  # noqa: S311 - not for secrets, as AWS says of it
    return random.Random(integer_argument(seed, "seed")).random()  # noqa: S311


def _refuse_eval(*_args: Any) -> Any:
    raise FunctionArgumentError("$eval is not available in Step Functions; use $parse")


def _intrinsic(name: str) -> Callable[..., Any]:
    return FUNCTIONS[name][2]


AWS_FUNCTIONS: Mapping[str, _AwsFunction] = {
    function.name: function
    for function in (
        # An array of chunks, whatever their number (one chunk stays [[...]]): no sequence.
        _AwsFunction("partition", ("array", "chunk size"), 2, _intrinsic("ArrayPartition")),
        _AwsFunction("range", ("start", "end", "step"), 3, _intrinsic("ArrayRange"), True),
        _AwsFunction("hash", ("data", "algorithm"), 2, _intrinsic("Hash")),
        _AwsFunction("random", ("seed",), 0, _random),
        _AwsFunction("uuid", (), 0, _intrinsic("UUID")),
        _AwsFunction("parse", ("JSON text",), 1, _intrinsic("StringToJson")),
    )
}


def register_aws_functions(expression: Jsonata) -> None:
    """Binds AWS's functions (and takes `$eval` away) in a parsed expression's environment."""
    for name, function in AWS_FUNCTIONS.items():
        expression.register_lambda(name, function)
    expression.register_lambda("eval", _refuse_eval)
