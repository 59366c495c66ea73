"""JSONata expressions (`{% ... %}`) for states with `QueryLanguage: "JSONata"`, run by the
jsonata-python library.

An expression runs with no context item, as on AWS: the state's data reaches it as `$states`
(`input`, `context`, and `result` or `errorOutput` where the state has one) and the workflow's
variables as `$name`. A value that is not a JSON value (undefined, a function, NaN) fails the
state with States.QueryEvaluationError, as does an expression that throws or runs away.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jsonata import Jsonata

from .errors import StatesError
from .jsonata_functions import from_jsonata, register_aws_functions, to_jsonata
from .paths import to_json

QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
# A runaway expression (a recursion without end, a huge range) is stopped, not left to hold a
# worker: at most this long, and this deep.
_TIMEOUT_MS = 1000
_MAX_DEPTH = 200
# Distinct expression texts kept parsed: about 35 KB each, so at most ~9 MB a process.
PARSED_CACHE_SIZE = 256
MAX_SECONDS = 99_999_999  # TimeoutSeconds, HeartbeatSeconds: the bound definition.py checks on load


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def _text(value: str) -> str:
    """The JSONata text of a `{% %}` string."""
    return value[2:-2].strip()


@lru_cache(maxsize=PARSED_CACHE_SIZE)
def _parsed(text: str) -> Jsonata:
    """The expression `text` parsed, with AWS's functions bound: parsing costs about twice an
    evaluation, so each text is parsed once per process (a definition's expressions are a
    bounded set; the cache is an LRU all the same). The object is shared between threads and
    never evaluated itself: see _evaluation. A parse error is raised, not cached."""
    expression = Jsonata(text)
    register_aws_functions(expression)
    return expression


def _evaluation(text: str) -> Jsonata:
    """An object to evaluate `text` once, on this thread.

    The library keeps an evaluation's state on a Jsonata object (the input and frame being
    evaluated, the time `$now()` reads) that it finds through a thread-local
    (`Jsonata.CURRENT`), set by the constructor or, in a thread without one, to a copy made
    once. With parsed objects cached, that would be whichever expression the thread parsed
    last, and `$now()` would read a clock from another evaluation; and one object evaluated by
    two threads would share its clock. So each evaluation gets a shallow copy with its own
    state, sharing the parsed tree and the root frame (which the library only reads while
    evaluating), made the thread's current one."""
    expression = copy.copy(_parsed(text))
    expression.set_output_convert_nulls(False)  # tells JSON null from undefined
    Jsonata.CURRENT.jsonata = expression
    return expression


def _bindings_frame(bindings: Mapping[str, Any]) -> Jsonata.Frame:
    """The evaluation's variables, and its own runaway bounds: the library's clock starts when
    the bounds are set, and its depth counter is the frame's, not the shared object's."""
    frame = Jsonata.Frame(None)
    frame.set_runtime_bounds(_TIMEOUT_MS, _MAX_DEPTH)
    for name, value in bindings.items():
        frame.bind(name, value)
    return frame


def expression_errors(value: Any, where: str) -> list[tuple[str, str]]:
    """(field, message) for every `{% %}` string in `value` that is not a valid JSONata
    expression, for refusing a definition on load."""
    if is_expression(value):
        try:
            _parsed(_text(value))
        except Exception as error:  # the parser's JException, or a bug of the parser's own
            return [(where, f"is not a valid JSONata expression: {error}")]
        return []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in expression_errors(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in expression_errors(item, f"{where}[{i}]")]
    return []


def evaluate(
    value: Any, *, states: Mapping[str, Any], variables: Mapping[str, Any], field: str
) -> Any:
    """`value` with every `{% %}` string in it (itself, or any string inside its objects and
    arrays) replaced by what its expression gives. Raises StatesError(QueryEvaluationError).
    `states` and `variables` are not changed (the library gets a copy)."""
    if not has_expression(value):
        return value
    bindings = to_jsonata({**variables, "states": dict(states)})
    return _evaluate(value, bindings, field)


def seconds(
    fields: Mapping[str, Any],
    key: str,
    *,
    states: Mapping[str, Any],
    variables: Mapping[str, Any],
) -> int | None:
    """A JSONata Task's `TimeoutSeconds` or `HeartbeatSeconds` (`key`) for this run: its number
    (checked on load), what its `{% %}` expression gives, or None when the state has none.
    Raises States.QueryEvaluationError unless the expression gives an integer from 1 to
    MAX_SECONDS (a whole number written as a float, 300.0, counts)."""
    value = fields.get(key)
    if not is_expression(value):
        return value
    value = evaluate(value, states=states, variables=variables, field=key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_SECONDS:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The field '{key}' must be an integer between 1 and {MAX_SECONDS}, not "
            f"'{to_json(value)}'",
        )
    return value


def has_expression(value: Any) -> bool:
    """Whether `value` holds a `{% %}` string anywhere."""
    if isinstance(value, dict):
        return any(has_expression(item) for item in value.values())
    if isinstance(value, list):
        return any(has_expression(item) for item in value)
    return is_expression(value)


def _evaluate(value: Any, bindings: dict[str, Any], field: str) -> Any:
    if is_expression(value):
        return _run(value, bindings, field)
    if isinstance(value, dict):
        return {key: _evaluate(item, bindings, f"{field}/{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_evaluate(item, bindings, f"{field}[{i}]") for i, item in enumerate(value)]
    return value


def _run(value: str, bindings: dict[str, Any], field: str) -> Any:
    text = _text(value)
    try:
        result = _evaluation(text).evaluate(None, _bindings_frame(bindings))
    except Exception as error:  # JException, and the Python errors it lets through (1/0)
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' threw an "
            f"error: {error}",
        ) from None
    if result is None:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' returned "
            "nothing (undefined).",
        )
    try:
        return from_jsonata(result)
    except ValueError as error:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{text}' specified for the field '{field}' returned "
            f"{error}, which is not a JSON value.",
        ) from None
