"""JSONPath subset, Parameters/ResultSelector templates, InputPath/ResultPath/OutputPath."""

import copy

import pytest

from stepfunctions.workflow.errors import StatesError
from stepfunctions.workflow.paths import (
    PathSyntaxError,
    apply_input_path,
    apply_output_path,
    apply_result_path,
    parse_path,
    parse_reference_path,
    resolve,
)

INPUT = {"detail": {"orderId": "1", "userId": "testuser"}, "items": [10, 20, 30], "a b": 5}
CONTEXT = {"Execution": {"Id": "exec-1"}, "Task": {"Token": "tok-1"}}


@pytest.mark.parametrize(
    ("text", "root", "steps"),
    [
        ("$", "$", ()),
        ("$$", "$$", ()),
        ("$.a.b", "$", ("a", "b")),
        ("$['a b']", "$", ("a b",)),
        ('$["a.b"].c', "$", ("a.b", "c")),
        ("$.a[0]", "$", ("a", 0)),
        ("$.a[-1]", "$", ("a", -1)),
        ("$$.Task.Token", "$$", ("Task", "Token")),
        ("$.detail-type", "$", ("detail-type",)),
    ],
)
def test_parse_path_accepts_the_subset(text, root, steps):
    path = parse_path(text)
    assert (path.root, path.steps) == (root, steps)


@pytest.mark.parametrize(
    "text", ["", "a.b", "$.", "$..a", "$.a[*]", "$.a[0:2]", "$.a[?(@.x)]", "$[a]", "$.*", 7]
)
def test_parse_path_refuses_other_syntax(text):
    with pytest.raises(PathSyntaxError):
        parse_path(text)


@pytest.mark.parametrize("text", ["$$.x", "$.a[0]"])
def test_reference_paths_are_object_fields_under_dollar(text):
    with pytest.raises(PathSyntaxError):
        parse_reference_path(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", INPUT),
        ("$.detail.userId", "testuser"),
        ("$['a b']", 5),
        ("$.items[0]", 10),
        ("$.items[-1]", 30),
        ("$$.Task.Token", "tok-1"),
    ],
)
def test_resolve(text, expected):
    assert resolve(text, INPUT, CONTEXT, field="x.$") == expected


@pytest.mark.parametrize("text", ["$.x", "$.items[3]", "$.items[-4]", "$.detail.orderId.z"])
def test_missing_path_is_states_runtime_with_the_aws_message(text):
    with pytest.raises(StatesError) as info:
        resolve(text, {"detail": {"orderId": "1"}, "items": [1, 2, 3]}, {}, field="orderId.$")
    assert info.value.error == "States.Runtime"
    assert info.value.cause == (
        f"The JSONPath '{text}' specified for the field 'orderId.$' could not be found in the "
        """input '{"detail":{"orderId":"1"},"items":[1,2,3]}'"""
    )


def test_missing_context_path_names_the_context_object():
    with pytest.raises(StatesError) as info:
        resolve("$$.Task.Token", INPUT, {"Execution": {}}, field="TaskToken.$")
    assert "in the context object" in info.value.cause


def test_input_and_output_path_null_give_empty_object():
    assert apply_input_path(None, INPUT) == {}
    assert apply_output_path(None, INPUT) == {}
    assert apply_input_path(parse_path("$.detail"), INPUT) == INPUT["detail"]
    assert apply_output_path(parse_path("$.items"), INPUT) == [10, 20, 30]


def test_result_path_null_keeps_the_input():
    assert apply_result_path(None, INPUT, {"ignored": True}) == INPUT


def test_result_path_dollar_replaces_the_input():
    assert apply_result_path(parse_path("$"), INPUT, {"r": 1}) == {"r": 1}


def test_result_path_sets_creating_parents_and_overwriting_without_mutating():
    raw = {"detail": {"orderId": "1"}, "Order": "old"}
    before = copy.deepcopy(raw)
    out = apply_result_path(parse_reference_path("$.x.y"), raw, 1)
    assert out == {"detail": {"orderId": "1"}, "Order": "old", "x": {"y": 1}}
    out = apply_result_path(parse_reference_path("$.detail"), raw, "new")
    assert out == {"detail": "new", "Order": "old"}
    out = apply_result_path(parse_reference_path("$.detail.orderId"), raw, 2)
    assert out == {"detail": {"orderId": 2}, "Order": "old"}
    assert raw == before


@pytest.mark.parametrize(
    ("raw", "path"), [("a string", "$.x"), ([1, 2], "$.x"), ({"Order": "old"}, "$.Order.Payload")]
)
def test_result_path_into_a_non_object_is_a_match_failure(raw, path):
    with pytest.raises(StatesError) as info:
        apply_result_path(parse_reference_path(path), raw, {"orderNumber": 7})
    assert info.value.error == "States.ResultPathMatchFailure"
