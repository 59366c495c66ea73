"""A JSONata Task's `TimeoutSeconds` and `HeartbeatSeconds` as `{% %}` expressions: evaluated
when the task is scheduled (with `$states.input`, `$states.context` and the variables), an
integer from 1 to 99,999,999, else States.QueryEvaluationError, which Retry and Catch see."""

import pytest

from stepfunctions.workflow import DefinitionError, Waiting, jsonata_query, load_definition, start
from stepfunctions.workflow import definition as definition_module
from tests.stepfunctions.workflow_host import CALLBACK, CONTEXT, Host


def _machine(task, **states):
    return load_definition(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Wait for the barista",
            "States": {"Wait for the barista": {"Type": "Task", "Resource": CALLBACK} | task}
            | states,
        }
    )


def _start(task, data, **states):
    host = Host()
    return start(_machine(task, **states), data, context=CONTEXT, host=host), host


def test_timeout_and_heartbeat_expressions_give_the_task_its_deadlines():
    task = {
        "Assign": {"unused": 1},
        "TimeoutSeconds": "{% $states.input.minutes * 60 %}",
        "HeartbeatSeconds": "{% $states.input.heartbeat %}",
        "End": True,
    }
    waiting, host = _start(task, {"minutes": 15, "heartbeat": 30})
    assert isinstance(waiting, Waiting)
    assert (waiting.heartbeat_seconds, waiting.timeout_seconds) == (30, 900)
    scheduled = host.last("TaskScheduled")
    assert (scheduled["heartbeatInSeconds"], scheduled["timeoutInSeconds"]) == (30, 900)


def test_an_expression_reads_the_variables_and_the_context():
    states = {
        "Set": {"Type": "Pass", "Assign": {"limit": 120}, "Next": "Wait for the barista"},
    }
    doc = {
        "QueryLanguage": "JSONata",
        "StartAt": "Set",
        "States": states
        | {
            "Wait for the barista": {
                "Type": "Task",
                "Resource": CALLBACK,
                "TimeoutSeconds": "{% $limit %}",
                "HeartbeatSeconds": "{% $length($states.context.State.Name) %}",
                "End": True,
            }
        },
    }
    waiting = start(load_definition(doc), {}, context=CONTEXT, host=Host())
    assert (waiting.heartbeat_seconds, waiting.timeout_seconds) == (20, 120)


def test_a_whole_number_given_as_a_fraction_counts_and_a_static_value_still_serves():
    task = {"TimeoutSeconds": "{% $states.input.t / 2 %}", "HeartbeatSeconds": 10, "End": True}
    waiting, _ = _start(task, {"t": 300})
    assert (waiting.heartbeat_seconds, waiting.timeout_seconds) == (10, 150)
    assert type(waiting.timeout_seconds) is int


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (-5, "-5"), (1.5, "1.5"), ("60", '"60"'), (True, "true"), (100_000_000, None)],
)
def test_a_value_that_is_not_a_positive_integer_is_states_query_evaluation_error(value, shown):
    task = {"TimeoutSeconds": "{% $states.input.t %}", "End": True}
    done, host = _start(task, {"t": value})
    assert (done.status, done.error) == ("FAILED", "States.QueryEvaluationError")
    assert done.cause == (
        "The field 'TimeoutSeconds' must be an integer between 1 and 99999999, not "
        f"'{shown or value}'"
    )
    assert "TaskScheduled" not in host.types()


def test_an_undefined_heartbeat_is_states_query_evaluation_error():
    done, _ = _start({"HeartbeatSeconds": "{% $states.input.nope %}", "End": True}, {})
    assert done.error == "States.QueryEvaluationError"
    assert "specified for the field 'HeartbeatSeconds' returned nothing" in done.cause


def test_a_bad_timeout_can_be_caught_as_the_task_error_it_is():
    task = {
        "TimeoutSeconds": "{% $states.input.t %}",
        "Catch": [
            {
                "ErrorEquals": ["States.QueryEvaluationError"],
                "Output": "{% $states.errorOutput.Error %}",
                "Next": "Caught",
            }
        ],
        "End": True,
    }
    done, _ = _start(task, {"t": 0}, Caught={"Type": "Succeed"})
    assert (done.status, done.output) == ("SUCCEEDED", "States.QueryEvaluationError")


@pytest.mark.parametrize(
    ("task", "field", "fragment"),
    [
        ({"TimeoutSeconds": "{% $states.input. %}"}, "TimeoutSeconds", "JSONata expression"),
        ({"HeartbeatSeconds": "{% ( %}"}, "HeartbeatSeconds", "JSONata expression"),
        ({"TimeoutSeconds": "60"}, "TimeoutSeconds", "integer between 1 and 99999999"),
        ({"TimeoutSeconds": 0}, "TimeoutSeconds", "integer between 1 and 99999999"),
        ({"HeartbeatSeconds": 60, "TimeoutSeconds": 60}, "HeartbeatSeconds", "smaller than"),
        ({"TimeoutSecondsPath": "$.t"}, "TimeoutSecondsPath", "QueryLanguage JSONata"),
    ],
)
def test_a_definition_with_a_bad_timeout_is_refused_on_load(task, field, fragment):
    with pytest.raises(DefinitionError) as info:
        _machine(task | {"End": True})
    assert (info.value.state, info.value.field) == ("Wait for the barista", field)
    assert fragment in info.value.message


def test_the_bound_is_the_one_the_definition_checks():
    assert jsonata_query.MAX_SECONDS == definition_module.MAX_SECONDS
