"""Hypothesis strategies for hostile JSON, shared by the API's and the coffee bar's fuzz tests.

Bounded for CI: each test runs a fixed, derandomized number of examples with no deadline and no
example database (nothing is written to the work tree).
"""

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Every fuzz test uses this: the same examples on every run, so CI is reproducible.
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    # The Django test client and the database are function-scoped on purpose: each example
    # compares the rows before and after its own request.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any code point, surrogates and NUL included.
_any_character = st.characters(codec=None, exclude_categories=())
hostile_text = st.one_of(
    st.text(_any_character, max_size=20),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\U0001f600", "", " ", "$", "[]"]),
)
hostile_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**30, max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0]),
)
json_values = st.recursive(
    st.none() | st.booleans() | hostile_numbers | hostile_text,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=12,
)
# Texts no parser should take whole: deep nesting, bare constants, broken or non-UTF-8 bytes.
_raw_texts = st.sampled_from(
    [
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        "NaN",
        "-Infinity",
        "1e400",
        "9" * 5_000,
        '"\\ud800"',
        '{"k": "\\u0000"}',
        "{",
        "",
        "null",
    ]
)


def json_text(value) -> str:
    """JSON text for any generated value: NaN/Infinity as Python writes them, surrogates escaped."""
    return json.dumps(value)


def _member_value(valid: st.SearchStrategy) -> st.SearchStrategy:
    # A member's value: often plausible, else any JSON value, or JSON text of a hostile value.
    return st.one_of(
        valid,
        json_values,
        json_values.map(json_text),
        _raw_texts,
    )


def bodies(members: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Request bodies (bytes): objects with some of `members` (plausible or hostile values) and
    extra members, or texts that are not such an object at all."""
    names = sorted(members)
    objects = st.fixed_dictionaries(
        {},
        optional={name: _member_value(members[name]) for name in names}
        | {"unexpected": json_values},
    ).map(json_text)
    return st.one_of(
        objects,
        objects,
        objects,
        json_values.map(json_text),
        _raw_texts,
    ).map(lambda text: text.encode("utf-8", "surrogatepass"))
