"""The functions Step Functions adds to JSONata ($partition, $range, $hash, $random, $uuid,
$parse), with the examples of the Step Functions guide, and `$eval`, which it takes away. An
argument one of them refuses fails the state with States.QueryEvaluationError."""

import hashlib
import re

import pytest

from stepfunctions.workflow import load_definition, start
from tests.stepfunctions.workflow_host import CONTEXT, LAMBDA, Host


def _start(states, data, answers=None):
    """Runs a JSONata machine of `states` (the first one starts) on `data`: (Outcome, Host)."""
    doc = {"QueryLanguage": "JSONata", "StartAt": next(iter(states)), "States": states}
    host = Host(answers)
    return start(load_definition(doc), data, context=CONTEXT, host=host), host


def _output(expression, data=None):
    """Runs a JSONata Pass state whose Output is `expression`; returns the Outcome."""
    return _start({"P": {"Type": "Pass", "Output": expression, "End": True}}, data or {})[0]


def _value(expression, data=None):
    done = _output(expression, data)
    assert done.status == "SUCCEEDED", done.cause
    return done.output


def test_partition_splits_an_array_into_chunks_the_last_one_shorter():
    assert _value("{% $partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3) %}") == [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
    ]
    data = {"items": [{"n": 1}, None, "x", [2], True]}
    assert _value("{% $partition($states.input.items, 2) %}", data) == [
        [{"n": 1}, None],
        ["x", [2]],
        [True],
    ]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{% $range(0, 10, 2) %}", [0, 2, 4, 6, 8, 10]),
        ("{% $range(1, 9, 2) %}", [1, 3, 5, 7, 9]),
        ("{% $range(10, 0, -5) %}", [10, 5, 0]),
        ("{% $range(3, 1, 1) %}", []),
        ("{% $count($range(1, 1000, 1)) %}", 1000),
    ],
)
def test_range_counts_from_start_to_end_by_step(expression, expected):
    assert _value(expression) == expected


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"])
def test_hash_gives_the_hex_digest_of_the_text_with_each_algorithm(algorithm):
    data = {"content": "input data"}
    name = algorithm.replace("-", "").lower()
    expected = hashlib.new(name, b"input data").hexdigest()
    assert _value(f"{{% $hash($states.input.content, '{algorithm}') %}}", data) == expected


def test_random_is_a_number_from_0_to_1_and_the_same_for_the_same_seed():
    values = _value(
        "{% [$random(), $random($states.input.seed), $random($states.input.seed), $random(8)] %}",
        {"seed": 7},
    )
    assert all(isinstance(v, float) and 0 <= v < 1 for v in values)
    assert values[1] == values[2] != values[3]
    # A seed is a repeatable sequence across executions, too.
    assert _value("{% $random(7) %}", {}) == values[1]


def test_uuid_is_a_fresh_version_4_uuid_at_every_call():
    first, second = _value("{% [$uuid(), $uuid()] %}")
    pattern = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert pattern.fullmatch(first) and pattern.fullmatch(second) and first != second


def test_parse_reads_json_text_into_its_value():
    data = {"text": '{"order": {"id": 7, "note": null, "items": ["a", "b"]}}'}
    assert _value("{% $parse($states.input.text).order %}", data) == {
        "id": 7,
        "note": None,
        "items": ["a", "b"],
    }
    assert _value("{% $parse('[1, 2.5, \"x\", true]') %}") == [1, 2.5, "x", True]


def test_the_functions_serve_in_arguments_and_assign_of_a_task():
    states = {
        "Call": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Arguments": {"batches": "{% $partition($states.input.ids, 2) %}"},
            "Assign": {"digest": "{% $hash($string($states.result), 'MD5') %}"},
            "Next": "Digest",
        },
        "Digest": {"Type": "Pass", "Output": "{% $digest %}", "End": True},
    }
    done, host = _start(states, {"ids": [1, 2, 3]}, answers={"Call": {"ok": True}})
    assert host.invocations == [("Call", {"batches": [[1, 2], [3]]})]
    assert done.output == hashlib.md5(b'{"ok":true}', usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("$partition([1, 2], 0)", "$partition: The chunk size must be a positive integer, not 0"),
        ("$partition('text', 2)", "$partition: The first argument must be an array"),
        ("$partition($states.input.none, 2)", "its array (argument 1) is missing or undefined"),
        ("$partition([1])", "its chunk size (argument 2) is missing or undefined"),
        ("$partition([1], 1, 2)", "$partition takes at most 2 arguments, not 3"),
        ("$range(0, 10, 0)", "$range: The step (third argument) must not be 0"),
        ("$range(0, 1000, 1)", "$range: The array would have 1001 items; at most 1000"),
        ("$range('a', 2, 1)", "$range: The first argument must be a number"),
        ("$hash('text', 'SHA-3')", '$hash: The algorithm "SHA-3" is not one of MD5, SHA-1'),
        ("$hash($pad('', 10001, 'x'), 'MD5')", "$hash: The data has 10001 characters"),
        ("$random('seed')", "$random: The seed must be a number"),
        ("$uuid(1)", "$uuid takes no arguments, not 1"),
        ("$parse('{not json')", "$parse: The argument is not valid JSON text"),
        ("$parse(1)", "$parse: The argument must be a string"),
        ("$eval('1 + 1')", "$eval is not available in Step Functions; use $parse"),
    ],
)
def test_an_argument_a_function_refuses_is_states_query_evaluation_error(expression, fragment):
    done = _output(f"{{% {expression} %}}")
    assert (done.status, done.error) == ("FAILED", "States.QueryEvaluationError")
    assert done.cause.startswith(
        f"The JSONata expression '{expression}' specified for the field 'Output' threw an error: "
    )
    assert fragment in done.cause


def test_a_refused_argument_can_be_caught():
    states = {
        "Call": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Arguments": {"range": "{% $range(0, $states.input.n, 0) %}"},
            "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": True},
    }
    done, host = _start(states, {"n": 3})
    assert done.output == "States.QueryEvaluationError" and host.invocations == []
