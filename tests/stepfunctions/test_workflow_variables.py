"""Workflow variables in the interpreter: Assign, `$name` references, their scope and order.

These drive the interpreter through a fake host; test_variables_engine.py runs them through the
engine, across stages.
"""

import pytest

from stepfunctions.workflow import (
    Continue,
    DefinitionError,
    StatesError,
    TaskSuccess,
    Waiting,
    cursor_of,
    load_definition,
    resume,
    start,
)
from tests.stepfunctions.workflow_host import CALLBACK, CONTEXT, LAMBDA, Host


def machine(states):
    return load_definition({"StartAt": next(iter(states)), "States": states})


def run(states, data=None, answers=None):
    host = Host(answers)
    return start(machine(states), data or {}, context=CONTEXT, host=host), host


def test_assigned_variables_are_visible_to_later_states():
    states = {
        "Set": {
            "Type": "Pass",
            "Assign": {"literal": {"k": [1, 2]}, "name.$": "$.customer.name", "n": 3},
            "Next": "Use",
        },
        "Use": {
            "Type": "Pass",
            "Parameters": {
                "name.$": "$name",
                "second.$": "$literal.k[1]",
                "sum.$": "States.MathAdd($n, 4)",
            },
            "End": True,
        },
    }
    done, _ = run(states, {"customer": {"name": "Ana"}})
    assert done.output == {"name": "Ana", "second": 2, "sum": 7}


def test_all_values_of_an_assign_see_the_variables_as_they_were_before_the_state():
    states = {
        "Init": {"Type": "Pass", "Assign": {"a": 1, "b": 2}, "Next": "Swap"},
        "Swap": {
            "Type": "Pass",
            "Assign": {"a.$": "$b", "b.$": "$a"},
            "Parameters": {"a.$": "$a"},  # the same state's other fields see the old value
            "ResultPath": "$.during",
            "Next": "Read",
        },
        "Read": {
            "Type": "Pass",
            "Parameters": {"a.$": "$a", "b.$": "$b"},
            "ResultPath": "$.after",
            "End": True,
        },
    }
    done, _ = run(states)
    assert done.output == {"during": {"a": 1}, "after": {"a": 2, "b": 1}}


def test_pass_assign_reads_the_result():
    states = {
        "P": {
            "Type": "Pass",
            "Parameters": {"doubled.$": "States.Array($.v, $.v)"},
            "Assign": {"kept.$": "$.doubled"},
            "Next": "Read",
        },
        "Read": {"Type": "Pass", "Parameters": {"kept.$": "$kept"}, "End": True},
    }
    assert run(states, {"v": 5})[0].output == {"kept": [5, 5]}


def test_task_assign_reads_the_result_after_result_selector():
    task = {
        "Type": "Task",
        "Resource": LAMBDA,
        "ResultSelector": {"number.$": "$.Payload.orderNumber"},
        "Assign": {"orderNumber.$": "$.number", "input.$": "$$.Execution.Input"},
        "ResultPath": None,
        "Next": "Read",
    }
    states = {
        "T": task,
        "Read": {
            "Type": "Pass",
            "Parameters": {"n.$": "$orderNumber", "i.$": "$input"},
            "End": True,
        },
    }
    done, _ = run(states, {}, {"T": {"Payload": {"orderNumber": 42}}})
    assert done.output == {"n": 42, "i": {"order": 1}}


def test_catch_assign_reads_the_error_output_and_the_states_own_assign_is_not_run():
    task = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Assign": {"outcome": "succeeded"},
        "Catch": [
            {
                "ErrorEquals": ["States.ALL"],
                "Assign": {"outcome": "failed", "why.$": "$.Cause"},
                "Next": "Read",
            }
        ],
        "End": True,
    }
    states = {
        "T": task,
        "Read": {"Type": "Pass", "Parameters": {"o.$": "$outcome", "w.$": "$why"}, "End": True},
    }
    done, _ = run(states, {}, {"T": StatesError("Boom", "it broke")})
    assert done.output == {"o": "failed", "w": "it broke"}


def test_choice_reads_variables_and_assigns_on_its_input():
    states = {
        "Init": {"Type": "Pass", "Assign": {"limit": 10}, "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThanPath": "$limit", "Next": "Big"}],
            "Default": "Small",
            "Assign": {"seen.$": "$.n"},
        },
        "Big": {"Type": "Pass", "Parameters": {"size": "big", "seen.$": "$seen"}, "End": True},
        "Small": {"Type": "Pass", "Parameters": {"size": "small", "seen.$": "$seen"}, "End": True},
    }
    assert run(states, {"n": 11})[0].output == {"size": "big", "seen": 11}
    assert run(states, {"n": 3})[0].output == {"size": "small", "seen": 3}


def test_variables_survive_a_callback_wait_and_a_transition_budget_pause():
    states = {
        "Set": {"Type": "Pass", "Assign": {"x": "kept"}, "Next": "Wait"},
        "Wait": {"Type": "Task", "Resource": CALLBACK, "ResultPath": None, "Next": "Again"},
        "Again": {"Type": "Pass", "Assign": {"y": 2}, "Next": "Read"},
        "Read": {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}, "End": True},
    }
    defn = machine(states)
    waiting = start(defn, {}, context=CONTEXT, host=Host())
    assert isinstance(waiting, Waiting) and waiting.variables == {"x": "kept"}
    paused = resume(
        defn,
        cursor_of(waiting),
        task_result=TaskSuccess({}),
        context=CONTEXT,
        host=Host(),
        max_transitions=1,
    )
    assert paused == Continue("Read", {}, {"x": "kept", "y": 2})
    done = resume(defn, cursor_of(paused), context=CONTEXT, host=Host())
    assert done.output == {"x": "kept", "y": 2}


def test_an_unassigned_variable_is_a_runtime_error():
    done, _ = run({"P": {"Type": "Pass", "Parameters": {"v.$": "$nope.a"}, "End": True}})
    assert done.error == "States.Runtime"
    assert done.cause.endswith(
        "The JSONPath '$nope.a' specified for the field 'v.$' could not be found in the "
        "variables (there is no variable 'nope')"
    )


def test_assign_over_256_kib_is_data_limit_exceeded():
    states = {"P": {"Type": "Pass", "Assign": {"big.$": "$.text"}, "End": True}}
    done, _ = run(states, {"text": "x" * 262_144})
    assert done.error == "States.DataLimitExceeded"


@pytest.mark.parametrize(
    ("assign", "field", "fragment"),
    [
        ({"1x": 1}, "Assign.1x", "not a variable name"),
        ({"a-b": 1}, "Assign.a-b", "not a variable name"),
        ({"x": 1, "x.$": "$.x"}, "Assign.x", "twice"),
        ({"x.$": "$..y"}, "Assign.x.$", "not a supported JSONPath"),
        ({"x.$": "States.Nope()"}, "Assign.x.$", "unknown intrinsic"),
        ([1], "Assign", "must be an object"),
    ],
)
def test_bad_assign_is_refused_naming_the_field(assign, field, fragment):
    with pytest.raises(DefinitionError) as info:
        machine({"P": {"Type": "Pass", "Assign": assign, "End": True}})
    assert (info.value.state, info.value.field) == ("P", field)
    assert fragment in info.value.message


@pytest.mark.parametrize("field", ["InputPath", "OutputPath", "ResultPath"])
def test_variables_are_not_paths_for_input_output_and_result_path(field):
    with pytest.raises(DefinitionError) as info:
        machine({"P": {"Type": "Pass", field: "$x", "End": True}})
    assert info.value.field == field
