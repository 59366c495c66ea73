"""QueryLanguage JSONata, as the Step Functions guide describes it (Transforming data with JSONata):
`{% %}` expressions in Arguments, Output, Assign, Condition, a Wait's Seconds / Timestamp and a
Fail's Error / Cause; the state's data as `$states.input`, `$states.result`,
`$states.errorOutput`, `$states.context`; variables as `$name`; the JSONPath fields refused."""

import pytest

from stepfunctions.workflow import DefinitionError, Delayed, load_definition, start
from tests.stepfunctions.workflow_host import CONTEXT, LAMBDA, Host


def _machine(states, **top):
    return load_definition(
        {"QueryLanguage": "JSONata", "StartAt": next(iter(states)), "States": states} | top
    )


def _run(states, data, answers=None):
    host = Host(answers)
    return start(_machine(states), data, context=CONTEXT, host=host), host


def test_pass_output_is_what_its_expressions_give():
    states = {
        "Sum": {
            "Type": "Pass",
            "Output": {
                "total": "{% $states.input.a + $states.input.b %}",
                "names": "{% $states.input.items.name %}",
                "run": "{% $states.context.Execution.Name & '/' & $states.context.State.Name %}",
                "kept": "plain text, not an expression",
            },
            "End": True,
        }
    }
    done, host = _run(states, {"a": 1, "b": 2, "items": [{"name": "x"}, {"name": "y"}]})
    assert done.status == "SUCCEEDED"
    assert done.output == {
        "total": 3,
        "names": ["x", "y"],
        "run": "exec-1/Sum",
        "kept": "plain text, not an expression",
    }
    assert host.last("PassStateExited")["output"] == (
        '{"total":3,"names":["x","y"],"run":"exec-1/Sum","kept":"plain text, not an expression"}'
    )


def test_a_state_without_output_passes_its_input_on():
    done, _ = _run({"P": {"Type": "Pass", "End": True}}, {"a": [1]})
    assert done.output == {"a": [1]}


def test_task_arguments_output_and_assign_read_the_input_and_the_result():
    states = {
        "Call": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Arguments": {"FunctionName": "f", "Payload": {"id": "{% $states.input.id %}"}},
            "Assign": {"price": "{% $states.result.Payload.price %}"},
            "Output": {
                "id": "{% $states.input.id %}",
                "paid": "{% $states.result.Payload.price %}",
            },
            "Next": "Receipt",
        },
        "Receipt": {
            "Type": "Pass",
            "Output": "{% 'Total: ' & $string($price * 2) %}",
            "End": True,
        },
    }
    done, host = _run(states, {"id": 7}, answers={"Call": {"Payload": {"price": 2.5}}})
    assert host.invocations == [("Call", {"FunctionName": "f", "Payload": {"id": 7}})]
    assert done.output == "Total: 5"
    exited = [d for kind, d in host.events if kind == "TaskStateExited"][0]
    assert exited["output"] == '{"id":7,"paid":2.5}'


def test_assign_and_output_of_one_state_see_the_variables_as_they_were_before_it():
    states = {
        "First": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Second"},
        "Second": {
            "Type": "Pass",
            "Assign": {"x": "{% $x + 1 %}", "y": "{% $x %}"},
            "Output": {"x": "{% $x %}"},
            "Next": "Third",
        },
        "Third": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}"}, "End": True},
    }
    done, host = _run(states, {})
    assert host.last("PassStateExited") == {"name": "Third", "output": '{"x":2,"y":1}'}
    assert [d["output"] for k, d in host.events if k == "PassStateExited"][1] == '{"x":1}'


@pytest.mark.parametrize(("size", "branch"), [(1, "Small"), (5, "Large"), (3, "Other")])
def test_choice_goes_to_the_first_rule_whose_condition_is_true(size, branch):
    states = {
        "Pick": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $states.input.size < 2 %}", "Next": "Small"},
                {"Condition": "{% $states.input.size > 4 %}", "Next": "Large"},
            ],
            "Default": "Other",
        },
        "Small": {"Type": "Succeed"},
        "Large": {"Type": "Succeed"},
        "Other": {"Type": "Succeed", "Output": "{% $states.input.size %}"},
    }
    done, host = _run(states, {"size": size})
    assert host.last("SucceedStateEntered")["name"] == branch
    assert done.output == (3 if branch == "Other" else {"size": size})


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1, {"path": "small", "seen": 1, "n": 0}),
        (5, {"path": "large", "seen": 5, "n": 0}),
        (3, {"path": "none", "seen": 3, "n": 1}),
    ],
)
def test_the_matched_choice_rules_assign_applies_with_the_states(size, expected):
    # AWS: each rule may have its own Assign, set when that rule matches; the state's Assign
    # applies whichever rule matches (and on the Default). Both see the variables as they were
    # ($n is 0 for both); where both name one (n), the matched rule's value is kept.
    states = {
        "Start": {"Type": "Pass", "Assign": {"path": "none", "n": 0}, "Next": "Pick"},
        "Pick": {
            "Type": "Choice",
            "Assign": {"seen": "{% $states.input.size %}", "n": "{% $n + 1 %}"},
            "Choices": [
                {
                    "Condition": "{% $states.input.size < 2 %}",
                    "Assign": {"path": "small", "n": "{% $n %}"},
                    "Next": "Done",
                },
                {
                    "Condition": "{% $states.input.size > 4 %}",
                    "Assign": {"path": "large", "n": "{% $n %}"},
                    "Next": "Done",
                },
            ],
            "Default": "Done",
        },
        "Done": {
            "Type": "Pass",
            "Output": {"path": "{% $path %}", "seen": "{% $seen %}", "n": "{% $n %}"},
            "End": True,
        },
    }
    done, _ = _run(states, {"size": size})
    assert done.status == "SUCCEEDED"
    assert done.output == expected


def test_a_choice_rules_assign_is_checked_on_load():
    states = {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Condition": "{% true %}", "Assign": {"a-b": 1}, "Next": "S"}],
        },
        "S": {"Type": "Succeed"},
    }
    with pytest.raises(DefinitionError) as raised:
        _machine(states)
    assert "Choices[0].Assign.a-b" in str(raised.value)


def test_catch_output_and_assign_read_the_error_output():
    states = {
        "Call": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Assign": {"failed": "{% $states.errorOutput.Error %}"},
                    "Output": {
                        "why": "{% $states.errorOutput.Cause %}",
                        "in": "{% $states.input %}",
                    },
                    "Next": "Report",
                }
            ],
            "End": True,
        },
        "Report": {
            "Type": "Pass",
            "Output": {"error": "{% $failed %}", "was": "{% $states.input %}"},
            "End": True,
        },
    }
    from stepfunctions.workflow import StatesError

    done, _ = _run(states, {"n": 1}, answers={"Call": StatesError("Shop.Closed", "after 5pm")})
    assert done.output == {"error": "Shop.Closed", "was": {"why": "after 5pm", "in": {"n": 1}}}


def test_fail_error_and_cause_may_be_expressions():
    states = {
        "Stop": {
            "Type": "Fail",
            "Error": "{% 'Order.' & $states.input.kind %}",
            "Cause": "{% $states.context.State.Name %}",
        }
    }
    done, _ = _run(states, {"kind": "Refused"})
    assert (done.status, done.error, done.cause) == ("FAILED", "Order.Refused", "Stop")


def test_wait_seconds_and_timestamp_may_be_expressions():
    seconds = {"W": {"Type": "Wait", "Seconds": "{% $states.input.s * 60 %}", "End": True}}
    assert _run(seconds, {"s": 2})[0] == Delayed("W", {"s": 2}, 120.0)
    stamp = {"W": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "End": True}}
    assert _run(stamp, {"at": "2024-05-01T12:01:05Z"})[0].delay_seconds == 60.0


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ("{% $states.input.missing %}", "returned nothing (undefined)"),
        ("{% $error('refused') %}", "threw an error: refused"),
        ("{% 1 / 0 %}", "threw an error"),
        ("{% function($x) { $x } %}", "which is not a JSON value"),
        ("{% ($f := function($x) { $f($x) }; $f(1)) %}", "threw an error"),
    ],
)
def test_an_expression_that_fails_is_states_query_evaluation_error(output, fragment):
    done, _ = _run({"P": {"Type": "Pass", "Output": output, "End": True}}, {})
    assert (done.status, done.error) == ("FAILED", "States.QueryEvaluationError")
    assert fragment in done.cause and "specified for the field 'Output'" in done.cause


def test_query_evaluation_error_in_arguments_can_be_caught():
    states = {
        "Call": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Arguments": {"x": "{% $states.input.nope %}"},
            "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": True},
    }
    done, host = _run(states, {})
    assert done.output == "States.QueryEvaluationError" and host.invocations == []


def test_a_jsonata_state_in_a_jsonpath_machine_shares_its_variables():
    doc = {
        "StartAt": "Path",
        "States": {
            "Path": {"Type": "Pass", "Assign": {"who.$": "$.name"}, "Next": "Nata"},
            "Nata": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% 'Hello, ' & $who %}",
                "End": True,
            },
        },
    }
    done = start(load_definition(doc), {"name": "Arnav"}, context=CONTEXT, host=Host())
    assert done.output == "Hello, Arnav"


@pytest.mark.parametrize(
    ("state", "field", "fragment"),
    [
        ({"Type": "Pass", "InputPath": "$.a", "End": True}, "InputPath", "QueryLanguage JSONata"),
        ({"Type": "Pass", "Parameters": {}, "End": True}, "Parameters", "QueryLanguage JSONata"),
        ({"Type": "Pass", "Result": 1, "End": True}, "Result", "QueryLanguage JSONata"),
        ({"Type": "Task", "Resource": LAMBDA, "ResultPath": "$.r", "End": True}, "ResultPath", ""),
        ({"Type": "Wait", "SecondsPath": "$.s", "End": True}, "SecondsPath", ""),
        ({"Type": "Fail", "ErrorPath": "$.e"}, "ErrorPath", ""),
        ({"Type": "Pass", "Output": "{% $states.input. %}", "End": True}, "Output", "JSONata"),
        ({"Type": "Pass", "Output": {"a": ["{% ( %}"]}, "End": True}, "Output.a[0]", "JSONata"),
        ({"Type": "Pass", "Assign": {"x.$": "$.a"}, "End": True}, "Assign.x.$", "variable name"),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "S"}]},
            "Choices[0].Variable",
            "JSONata Choice rule",
        ),
        (
            {"Type": "Choice", "Choices": [{"Condition": "$.a", "Next": "S"}]},
            "Choices[0].Condition",
            "JSONata expression",
        ),
        ({"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}, "QueryLanguage", "all"),
    ],
)
def test_a_jsonata_state_refuses_jsonpath_fields_and_bad_expressions_on_load(
    state, field, fragment
):
    with pytest.raises(DefinitionError) as info:
        _machine({"X": state, "S": {"Type": "Succeed"}})
    assert (info.value.state, info.value.field) == ("X", field)
    assert fragment in info.value.message


def test_an_array_input_is_read_as_one_value_and_left_unchanged():
    data = [{"n": 3}, {"n": 1}, {"n": 2}]
    states = {
        "P": {
            "Type": "Pass",
            "Output": {
                "first": "{% $states.input[0].n %}",
                "sorted": "{% $sort($states.input, function($a, $b) { $a.n > $b.n }).n %}",
                "count": "{% $count($states.input) %}",
            },
            "End": True,
        }
    }
    done, host = _run(states, data)
    assert done.output == {"first": 3, "sorted": [1, 2, 3], "count": 3}
    assert data == [{"n": 3}, {"n": 1}, {"n": 2}]


def test_json_null_in_the_input_is_kept_by_an_expression():
    data = {"note": None, "items": [1, None, 2], "nested": {"gone": None}}
    states = {
        "P": {
            "Type": "Pass",
            "Output": {
                "all": "{% $states.input %}",
                "note": "{% $states.input.note %}",
                "count": "{% $count($states.input.items) %}",
                "null_is_falsy": "{% $states.input.nested.gone ? 'null is there' : 'no' %}",
                "dropped": {"undefined": "{% {'x': $states.input.nope, 'y': 1} %}"},
            },
            "End": True,
        }
    }
    done, _ = _run(states, data)
    assert done.output == {
        "all": data,
        "note": None,
        "count": 3,
        "null_is_falsy": "no",
        "dropped": {"undefined": {"y": 1}},
    }


def test_a_jsonata_output_over_256_kib_is_data_limit_exceeded():
    # A string of n characters is n + 2 bytes of JSON.
    fits = {"P": {"Type": "Pass", "Output": "{% $pad('', 262142, 'x') %}", "End": True}}
    assert _run(fits, {})[0].status == "SUCCEEDED"
    over = {"P": {"Type": "Pass", "Output": "{% $pad('', 262143, 'x') %}", "End": True}}
    done, _ = _run(over, {})
    assert (done.status, done.error) == ("FAILED", "States.DataLimitExceeded")
