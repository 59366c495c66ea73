"""Choice rules: every operator family, type mismatches, missing variables, validation."""

import pytest

from stepfunctions.workflow.choice import choose, evaluate, parse_timestamp, rule_errors
from stepfunctions.workflow.errors import StatesError

DATA = {
    "s": "latte",
    "n": 5,
    "f": 2.5,
    "b": True,
    "t": "2024-01-01T10:00:00Z",
    "null": None,
    "other": {"s": "mocha", "n": 5, "b": True, "t": "2024-01-01T11:00:00+01:00"},
    "star": "a*b",
}
CONTEXT = {"State": {"Name": "Decide"}}


@pytest.mark.parametrize(
    ("op", "operand", "expected"),
    [
        ("StringEquals", "latte", True),
        ("StringEquals", "Latte", False),
        ("StringLessThan", "mocha", True),
        ("StringGreaterThan", "americano", True),
        ("StringLessThanEquals", "latte", True),
        ("StringGreaterThanEquals", "mocha", False),
        ("NumericEquals", 5, True),
        ("NumericEquals", 5.0, True),
        ("NumericLessThan", 5, False),
        ("NumericGreaterThan", 4.5, True),
        ("NumericLessThanEquals", 5, True),
        ("NumericGreaterThanEquals", 6, False),
        ("BooleanEquals", True, True),
        ("BooleanEquals", False, False),
        ("TimestampEquals", "2024-01-01T11:00:00+01:00", True),
        ("TimestampLessThan", "2024-01-01T10:00:01Z", True),
        ("TimestampGreaterThan", "2024-01-01T10:00:00.5Z", False),
        ("TimestampLessThanEquals", "2024-01-01T10:00:00Z", True),
        ("TimestampGreaterThanEquals", "2023-12-31T23:59:59Z", True),
    ],
)
def test_comparisons(op, operand, expected):
    variable = {"String": "$.s", "Numer": "$.n", "Boolea": "$.b", "Timest": "$.t"}
    path = next(v for k, v in variable.items() if op.startswith(k))
    assert evaluate({"Variable": path, op: operand}, DATA, CONTEXT) is expected


@pytest.mark.parametrize(
    ("op", "other", "expected"),
    [
        ("StringEqualsPath", "$.other.s", False),
        ("StringLessThanPath", "$.other.s", True),
        ("NumericEqualsPath", "$.other.n", True),
        ("BooleanEqualsPath", "$.other.b", True),
        ("TimestampEqualsPath", "$.other.t", True),
    ],
)
def test_path_variants_compare_against_another_node(op, other, expected):
    variable = {"Str": "$.s", "Num": "$.n", "Boo": "$.b", "Tim": "$.t"}[op[:3]]
    assert evaluate({"Variable": variable, op: other}, DATA, CONTEXT) is expected


def test_path_variant_can_read_the_context_object():
    rule = {"Variable": "$$.State.Name", "StringEqualsPath": "$.name"}
    assert evaluate(rule, {"name": "Decide"}, CONTEXT) is True


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("lat*", "latte", True),
        ("*tt*", "latte", True),
        ("l*e", "latte", True),
        ("l*x", "latte", False),
        (r"a\*b", "a*b", True),
        (r"a\*b", "axxb", False),
        ("a*b", "a*b", True),
        ("latte", "latte!", False),
    ],
)
def test_string_matches(pattern, value, expected):
    assert evaluate({"Variable": "$.v", "StringMatches": pattern}, {"v": value}, {}) is expected


@pytest.mark.parametrize(
    ("op", "variable", "expected"),
    [
        ("IsNull", "$.null", True),
        ("IsNull", "$.s", False),
        ("IsString", "$.s", True),
        ("IsString", "$.n", False),
        ("IsNumeric", "$.f", True),
        ("IsNumeric", "$.b", False),  # a boolean is not a number
        ("IsBoolean", "$.b", True),
        ("IsTimestamp", "$.t", True),
        ("IsTimestamp", "$.s", False),
        ("IsPresent", "$.s", True),
        ("IsPresent", "$.missing", False),
    ],
)
def test_type_tests(op, variable, expected):
    assert evaluate({"Variable": variable, op: True}, DATA, CONTEXT) is expected
    assert evaluate({"Variable": variable, op: False}, DATA, CONTEXT) is (not expected)


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.s", "NumericEquals": 5},
        {"Variable": "$.n", "StringEquals": "5"},
        {"Variable": "$.b", "NumericEquals": 1},
        {"Variable": "$.s", "TimestampLessThan": "2030-01-01T00:00:00Z"},
        {"Variable": "$.n", "StringEqualsPath": "$.s"},
    ],
)
def test_type_mismatch_makes_the_rule_false(rule):
    assert evaluate(rule, DATA, CONTEXT) is False
    assert evaluate({"Not": rule}, DATA, CONTEXT) is True


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.missing", "StringEquals": "x"},
        {"Variable": "$.missing", "IsNull": True},
        {"Variable": "$.s", "StringEqualsPath": "$.missing"},
    ],
)
def test_missing_variable_is_a_runtime_error(rule):
    with pytest.raises(StatesError) as info:
        evaluate(rule, DATA, CONTEXT)
    assert info.value.error == "States.Runtime"


def test_and_or_not():
    yes = {"Variable": "$.s", "StringEquals": "latte"}
    no = {"Variable": "$.n", "NumericGreaterThan": 10}
    assert evaluate({"And": [yes, {"Not": no}]}, DATA, CONTEXT) is True
    assert evaluate({"And": [yes, no]}, DATA, CONTEXT) is False
    assert evaluate({"Or": [no, yes]}, DATA, CONTEXT) is True
    assert evaluate({"Or": [no, {"Not": yes}]}, DATA, CONTEXT) is False


def test_choose_takes_the_first_matching_rule_then_default():
    choices = (
        {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
        {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Medium"},
        {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Small"},
    )
    assert choose(choices, "Default", DATA, CONTEXT) == "Medium"
    assert choose(choices, "Default", {"n": 0}, CONTEXT) == "Default"


def test_no_match_without_default_is_no_choice_matched():
    with pytest.raises(StatesError) as info:
        choose(({"Variable": "$.n", "NumericEquals": 1, "Next": "X"},), None, DATA, CONTEXT)
    assert info.value.error == "States.NoChoiceMatched"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2016-03-14T01:59:00Z", True),
        ("2016-03-14T01:59:00.123456789-05:00", True),
        ("2016-03-14", False),
        ("2016-03-14 01:59:00Z", False),
        ("2016-03-14T01:59:00", False),
        ("2016-13-14T01:59:00Z", False),
        (17, False),
    ],
)
def test_parse_timestamp_accepts_rfc3339_with_zone_only(value, ok):
    assert (parse_timestamp(value) is not None) is ok


@pytest.mark.parametrize(
    ("rule", "top_level", "field", "fragment"),
    [
        ({"Variable": "$.a", "StringEquals": "x"}, True, "C.Next", "needs Next"),
        ({"Variable": "$.a", "StringEquals": "x", "Next": "N"}, False, "C.Next", "only top-level"),
        ({"Variable": "$.a", "Next": "N"}, True, "C", "exactly one comparison operator"),
        (
            {"Variable": "$.a", "StringEquals": "x", "IsNull": True, "Next": "N"},
            True,
            "C",
            "exactly one",
        ),
        ({"Variable": "a", "StringEquals": "x", "Next": "N"}, True, "C.Variable", "start with"),
        (
            {"Variable": "$.a", "NumericEquals": "1", "Next": "N"},
            True,
            "C.NumericEquals",
            "numeric",
        ),
        (
            {"Variable": "$.a", "TimestampEquals": "today", "Next": "N"},
            True,
            "C.TimestampEquals",
            "",
        ),
        ({"Variable": "$.a", "IsNull": "yes", "Next": "N"}, True, "C.IsNull", "true or false"),
        ({"Variable": "$.a", "StringEqualsPath": "x", "Next": "N"}, True, "C.StringEqualsPath", ""),
        ({"And": [], "Next": "N"}, True, "C.And", "non-empty list"),
        ({"Or": {"Variable": "$.a", "IsNull": True}, "Next": "N"}, True, "C.Or", "list"),
        ({"Not": [], "Next": "N"}, True, "C.Not", "must be an object"),
        ({"Not": {"Variable": "$.a"}, "Next": "N"}, True, "C.Not", "exactly one"),
        ({"Variable": "$.a", "IsNull": True, "Bogus": 1, "Next": "N"}, True, "C.Bogus", "unknown"),
    ],
)
def test_rule_errors(rule, top_level, field, fragment):
    problems = rule_errors(rule, "C", top_level=top_level)
    assert any(f == field and fragment in message for f, message in problems), problems


def test_valid_nested_rule_has_no_errors():
    rule = {
        "And": [
            {"Variable": "$.a", "IsPresent": True},
            {"Not": {"Variable": "$.a", "StringMatches": "x*"}},
            {"Or": [{"Variable": "$$.State.Name", "StringEquals": "S"}]},
        ],
        "Next": "N",
    }
    assert rule_errors(rule, "C", top_level=True) == []
