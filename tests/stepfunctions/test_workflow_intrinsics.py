"""Intrinsic functions: the examples of the Step Functions documentation, argument parsing,
argument checks (States.IntrinsicFailure) and refusal on load."""

import base64
import hashlib
import uuid

import pytest

from stepfunctions.workflow import DefinitionError, load_definition
from stepfunctions.workflow.intrinsics import (
    IntrinsicSyntaxError,
    evaluate_intrinsic,
    parse_intrinsic,
)
from tests.stepfunctions.workflow_host import CONTEXT, LAMBDA, run, run_pass


def value(text, data=None, context=CONTEXT):
    return evaluate_intrinsic(text, data if data is not None else {}, context)


def failure(text, data=None):
    """The (error, cause) an intrinsic call gives when run in a Pass state's Parameters."""
    done = run_pass(data or {}, Parameters={"v.$": text})
    assert done.status == "FAILED"
    return done.error, done.cause


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        # The documentation's examples, one per function (its SHA-1 example drops a digit).
        (
            "States.Format('Hello, my name is {}.', $.name)",
            {"name": "Arnav"},
            "Hello, my name is Arnav.",
        ),
        ("States.Format($.template, $.name)", {"name": "Arnav", "template": "Hi {}."}, "Hi Arnav."),
        ("States.StringToJson($.s)", {"s": '{"foo": "bar"}'}, {"foo": "bar"}),
        ("States.JsonToString($.j)", {"j": {"foo": "bar", "n": 1}}, '{"foo":"bar","n":1}'),
        ("States.Array($.Id)", {"Id": 123456}, [123456]),
        (
            "States.Array('Foo', 2020, $.o, null)",
            {"o": {"r": "a"}},
            ["Foo", 2020, {"r": "a"}, None],
        ),
        ("States.Array()", {}, []),
        (
            "States.ArrayPartition($.a, 4)",
            {"a": list(range(1, 10))},
            [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
        ),
        ("States.ArrayContains($.a, $.x)", {"a": list(range(1, 10)), "x": 5}, True),
        ("States.ArrayContains($.a, $.x)", {"a": [1, {"k": [2]}], "x": {"k": [2]}}, True),
        ("States.ArrayContains($.a, true)", {"a": [1, 0]}, False),
        ("States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9]),
        ("States.ArrayRange(5, 1, -2)", {}, [5, 3, 1]),
        ("States.ArrayRange(1, 5, -1)", {}, []),
        ("States.ArrayGetItem($.a, $.i)", {"a": list(range(1, 10)), "i": 5}, 6),
        ("States.ArrayLength($.a)", {"a": list(range(1, 10))}, 9),
        ("States.ArrayUnique($.a)", {"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
        (
            "States.ArrayUnique($.a)",
            {"a": [1, 1.0, True, "1", {"a": 1}, {"a": 1}]},
            [1, True, "1", {"a": 1}],
        ),
        ("States.Base64Encode($.s)", {"s": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode($.s)", {"s": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
        (
            "States.Hash($.d, $.a)",
            {"d": "input data", "a": "SHA-1"},
            "aaff4a450a104cd177d28d18d74485e8cae074b7",
        ),
        (
            "States.JsonMerge($.j1, $.j2, false)",
            {"j1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "j2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
            {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
        ),
        ("States.MathAdd($.v, $.step)", {"v": 111, "step": -1}, 110),
        ("States.MathAdd(1.5, 2.4)", {}, 4),  # AWS rounds each operand to the nearest integer
        ("States.StringSplit($.s, $.d)", {"s": "1,2,3,4,5", "d": ","}, ["1", "2", "3", "4", "5"]),
        (
            "States.StringSplit($.s, $.d)",
            {"s": "This.is+a,test=string", "d": ".+,="},
            ["This", "is", "a", "test", "string"],
        ),
        ("States.StringSplit('a,,b,', ',')", {}, ["a", "b"]),
    ],
)
def test_documented_behaviour(text, data, expected):
    assert value(text, data) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('{} {} {} {}', 1, 2.5, true, null)", "1 2.5 true null"),
        ("States.Format('{}', $.o)", "{a=[1, 2]}"),  # as AWS's Java runtime prints a map
        ("States.Format('it\\'s \\{\\} and \\\\ {}', 'x')", "it's {} and \\ x"),
        ("States.Format('{}', States.Format('<{}>', 'in'))", "<in>"),
        ("States.Format( '{}-{}' ,  $$.Execution.Name , -3 )", "exec-1--3"),
        ("States.Format('{}', $['odd, name'])", "odd"),
        ("States.Format('{}', 1e3)", "1000.0"),
    ],
)
def test_argument_parsing(text, expected):
    assert value(text, {"o": {"a": [1, 2]}, "odd, name": "odd"}) == expected


def test_format_with_a_template_from_a_path_counts_its_placeholders_at_run_time():
    error, cause = failure("States.Format($.t, 1)", {"t": "{} and {}"})
    assert error == "States.IntrinsicFailure"
    assert cause == (
        "The function 'States.Format($.t, 1)' had the following error: The template has 2 "
        "placeholders '{}' but 1 values"
    )


def test_hash_algorithms():
    for name, python in [
        ("MD5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA-256", "sha256"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
    ]:
        expected = hashlib.new(python, "café".encode()).hexdigest()
        assert value(f"States.Hash('café', '{name}')") == expected


def test_math_random_is_in_range_and_repeatable_with_a_seed():
    draws = {value("States.MathRandom(1, 4)") for _ in range(200)}
    assert draws == {1, 2, 3}  # start inclusive, end exclusive
    seeded = [value("States.MathRandom(0, 1000000, 42)") for _ in range(3)]
    assert len(set(seeded)) == 1


def test_uuid_is_a_fresh_version_4_uuid():
    first, second = value("States.UUID()"), value("States.UUID()")
    assert uuid.UUID(first).version == 4 and first != second


def test_array_range_allows_1000_items_and_no_more():
    assert len(value("States.ArrayRange(1, 1000, 1)")) == 1000
    error, cause = failure("States.ArrayRange(1, 1001, 1)")
    assert error == "States.IntrinsicFailure" and "at most 1000" in cause


@pytest.mark.parametrize(
    ("text", "data", "fragment"),
    [
        ("States.ArrayRange(1, 5, 0)", {}, "must not be 0"),
        ("States.ArrayPartition($.a, 0)", {"a": [1]}, "positive integer"),
        ("States.ArrayPartition($.a, 2)", {"a": "text"}, "must be an array"),
        ("States.ArrayGetItem($.a, 3)", {"a": [1, 2]}, "out of bounds"),
        ("States.ArrayGetItem($.a, -1)", {"a": [1, 2]}, "out of bounds"),
        ("States.ArrayLength($.a)", {"a": {"k": 1}}, "must be an array"),
        ("States.StringToJson($.s)", {"s": "{not json"}, "not valid JSON"),
        ("States.StringToJson($.s)", {"s": 5}, "must be a string"),
        ("States.Base64Encode($.s)", {"s": "x" * 10_001}, "at most 10000"),
        ("States.Base64Decode($.s)", {"s": "not base64!"}, "not Base64"),
        ("States.Hash($.s, 'SHA-3')", {"s": "x"}, "is not one of MD5, SHA-1"),
        ("States.Hash($.s, 'MD5')", {"s": "x" * 10_001}, "at most 10000"),
        ("States.JsonMerge($.a, $.b, true)", {"a": {}, "b": {}}, "Deep merging is not supported"),
        ("States.JsonMerge($.a, $.b, false)", {"a": {}, "b": [1]}, "must be an object"),
        ("States.MathAdd($.a, 1)", {"a": 2_147_483_648}, "outside the range"),
        ("States.MathAdd($.a, 1)", {"a": "1"}, "must be a number"),
        ("States.MathAdd($.a, 1)", {"a": True}, "must be a number"),
        ("States.MathRandom(5, 5)", {}, "must be smaller than"),
        ("States.StringSplit($.s, 1)", {"s": "a"}, "must be a string"),
        ("States.StringSplit($.s, ',')", {"s": ["a"]}, "first argument must be a string"),
        ("States.Format($.t, 1)", {"t": 5}, "first argument must be a string"),
        ("States.ArrayContains($.a, 1)", {"a": "1"}, "first argument must be an array"),
        ("States.ArrayUnique($.a)", {"a": {"k": 1}}, "argument must be an array"),
        ("States.ArrayGetItem($.a, $.i)", {"a": [1], "i": "0"}, "index must be a number"),
        ("States.ArrayRange($.a, 5, 1)", {"a": None}, "first argument must be a number"),
        ("States.ArrayPartition($.a, $.n)", {"a": [1], "n": True}, "chunk size must be a number"),
        ("States.Base64Encode($.s)", {"s": 5}, "argument must be a string"),
        ("States.Base64Decode($.s)", {"s": "QQ==" * 2_501}, "at most 10000"),
        ("States.Hash($.s, $.a)", {"s": "x", "a": None}, "The algorithm null is not one of"),
        ("States.MathRandom($.a, 5)", {"a": "1"}, "start must be a number"),
        ("States.MathRandom(1, 5, $.seed)", {"seed": "x"}, "seed must be a number"),
    ],
)
def test_argument_checks_fail_with_states_intrinsic_failure(text, data, fragment):
    error, cause = failure(text, data)
    assert error == "States.IntrinsicFailure"
    assert cause.startswith(f"The function '{text}' had the following error: ")
    assert fragment in cause


def test_a_path_argument_that_matches_nothing_is_states_runtime_as_on_aws():
    # The cause recorded on AWS (us-east-1), after the state prefix.
    error, cause = failure("States.Format('{}', States.Format('{}', $.nope))", {"other": 1})
    assert error == "States.Runtime"
    assert cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "The function 'States.Format('{}', States.Format('{}', $.nope))' had the following "
        "error: The JsonPath argument for the field '$.nope' could not be found in the input "
        """'{"other":1}'"""
    )


def test_a_present_null_argument_is_formatted_as_null():
    assert run_pass({"nul": None}, Parameters={"v.$": "States.Format('{}', $.nul)"}).output == {
        "v": "null"
    }


def test_intrinsic_failure_is_caught_by_states_all_in_a_task():
    task = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {"n.$": "States.MathAdd($.n, 'one')"},
        "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "Caught"}],
        "End": True,
    }
    done, host = run({"T": task, "Caught": {"Type": "Pass", "End": True}}, {"n": 1})
    assert done.status == "SUCCEEDED" and done.output["Error"] == "States.IntrinsicFailure"
    assert host.invocations == []


def test_result_selector_runs_intrinsics_on_the_task_result():
    task = {
        "Type": "Task",
        "Resource": LAMBDA,
        "ResultSelector": {"encoded.$": "States.Base64Encode($.Payload.text)"},
        "ResultPath": "$.r",
        "End": True,
    }
    done, _ = run({"T": task}, {"k": 1}, answers={"T": {"Payload": {"text": "hé"}}})
    assert done.output == {"k": 1, "r": {"encoded": base64.b64encode("hé".encode()).decode()}}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.Fromat('{}', 1)", "unknown intrinsic function States.Fromat"),
        ("States.UUID(1)", "takes 0 arguments, not 1"),
        ("States.ArrayLength()", "takes 1 arguments, not 0"),
        ("States.MathRandom(1)", "takes 2 to 3 arguments"),
        ("States.Format('{} {}', 1)", "2 placeholders"),
        ("States.Format('a\\b')", "open escape"),
        ("States.Format('open", "not closed"),
        ("States.Format('x') tail", "unexpected text"),
        ("States.Format('{}', $.a[*])", "not a supported JSONPath"),
        ("States.Format('{}', nope)", "expected a string, number"),
        ("States.Format('{}' 1)", "expected ',' or ')'"),
        ("States.Array(" * 11 + ")" * 11, "at most 10 deep"),
    ],
)
def test_malformed_calls_are_refused(text, fragment):
    with pytest.raises(IntrinsicSyntaxError, match=None) as info:
        parse_intrinsic(text)
    assert fragment in str(info.value)


def test_ten_nested_calls_are_allowed():
    assert value("States.Array(" * 10 + ")" * 10) == [[[[[[[[[[]]]]]]]]]]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"Parameters": {"deep": {"v.$": "States.Nope()"}}}, "Parameters.deep.v.$"),
        ({"Parameters": {"v.$": "States.UUID('x')"}}, "Parameters.v.$"),
    ],
)
def test_definition_with_a_bad_intrinsic_is_refused_naming_state_and_field(fields, field):
    doc = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True} | fields}}
    with pytest.raises(DefinitionError) as info:
        load_definition(doc)
    assert (info.value.state, info.value.field) == ("P", field)


def test_definition_refuses_a_bad_intrinsic_in_result_selector_and_fail_paths():
    task = {
        "Type": "Task",
        "Resource": LAMBDA,
        "ResultSelector": {"v.$": "States.X()"},
        "End": True,
    }
    with pytest.raises(DefinitionError, match="ResultSelector.v.\\$"):
        load_definition({"StartAt": "T", "States": {"T": task}})
    fail = {"Type": "Fail", "CausePath": "States.Format('{}')"}
    with pytest.raises(DefinitionError, match="CausePath"):
        load_definition({"StartAt": "F", "States": {"F": fail}})
