"""Where the interpreter used to differ from AWS: each test is named after AWS's behaviour."""

import logging

import pytest

from stepfunctions.workflow import Finished, TaskSuccess, Waiting, cursor_of, resume, start
from stepfunctions.workflow.errors import error_matches
from tests.stepfunctions.workflow_host import (
    CALLBACK,
    CONTEXT,
    LAMBDA,
    Host,
    StatesError,
    machine,
    run,
    run_pass,
)

PREFIX = "An error occurred while executing the state '{}' (entered at the event id #{}). "


def test_input_path_may_select_the_context_object():
    done = run_pass({"a": 1}, InputPath="$$")
    assert done.status == "SUCCEEDED"
    assert done.output == CONTEXT | {
        "State": {"EnteredTime": "2024-05-01T12:00:05.000Z", "Name": "P"}
    }


def test_input_path_and_output_path_may_name_the_execution_input():
    assert run_pass({"a": 1}, InputPath="$$.Execution.Input").output == {"order": 1}
    task = {"Type": "Task", "Resource": LAMBDA, "OutputPath": "$$.Execution.Input", "End": True}
    done, host = run({"T": task}, {"a": 1}, answers={"T": {"r": 2}})
    assert done.output == {"order": 1}
    assert host.last("TaskStateExited")["output"] == '{"order":1}'


def test_fail_state_reads_error_and_cause_from_the_context_object():
    states = {
        "F": {"Type": "Fail", "ErrorPath": "$$.State.Name", "CausePath": "$$.StateMachine.Name"}
    }
    done, host = run(states, {})
    assert done == Finished("FAILED", None, "F", "Machine")
    assert host.last("ExecutionFailed") == {"error": "F", "cause": "Machine"}


def test_fail_state_cause_path_may_be_an_intrinsic_function():
    states = {
        "F": {
            "Type": "Fail",
            "Error": "OrderFailed",
            "CausePath": "States.Format('order {} of {} failed', $.id, $$.Execution.Name)",
        }
    }
    done, _ = run(states, {"id": 7})
    assert (done.error, done.cause) == ("OrderFailed", "order 7 of exec-1 failed")


def test_fail_state_error_path_must_name_a_string():
    done, _ = run({"F": {"Type": "Fail", "ErrorPath": "$.e"}}, {"e": {"code": 1}})
    assert done.error == "States.Runtime"
    assert done.cause == PREFIX.format("F", 2) + (
        """The value of the field 'ErrorPath' must be a string, not '{"code":1}'"""
    )


def test_fail_state_error_named_states_runtime_keeps_its_own_cause():
    done, _ = run({"F": {"Type": "Fail", "Error": "States.Runtime", "Cause": "mine"}}, {})
    assert (done.error, done.cause) == ("States.Runtime", "mine")


def test_context_object_has_redrive_count_and_task_states_have_retry_count():
    task = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {
            "redrives.$": "$$.Execution.RedriveCount",
            "retries.$": "$$.State.RetryCount",
        },
        "End": True,
    }
    _, host = run({"T": task}, {})
    assert host.invocations == [("T", {"redrives": 0, "retries": 0})]


def test_pass_states_have_no_retry_count_in_the_context_object():
    done = run_pass({}, Parameters={"n.$": "$$.State.RetryCount"})
    assert done.status == "FAILED" and done.error == "States.Runtime"
    assert "'$$.State.RetryCount'" in done.cause
    assert run_pass({}, Parameters={"s.$": "$$.State"}).output == {
        "s": {"EnteredTime": "2024-05-01T12:00:05.000Z", "Name": "P"}
    }


def test_bracket_notation_reads_a_quoted_name_literally_backslash_included():
    data = {'Test\\""Name"': "found", 'Test""Name"': "stripped"}
    assert run_pass(data, InputPath='$[\'Test\\""Name"\']').output == "found"
    assert run_pass({"a'b": 1, "a\\'b": 2}, InputPath="$['a\\'b']").output == 2


def test_unexpected_exception_in_a_resource_is_states_task_failed_and_logged(caplog):
    task = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
        "End": True,
    }
    states = {"T": task, "Caught": {"Type": "Pass", "End": True}}
    with caplog.at_level(logging.ERROR, logger="stepfunctions.workflow.interpreter"):
        done, host = run(states, {}, answers={"T": KeyError("Source")})
    failed = host.last("TaskFailed")
    assert failed["error"] == "States.TaskFailed"
    assert "KeyError" not in failed["cause"]
    assert done.output == {"Error": "States.TaskFailed", "Cause": failed["cause"]}
    assert "KeyError: 'Source'" in caplog.text  # the traceback goes to the log


def test_uncaught_unexpected_exception_fails_the_execution_with_states_task_failed():
    task = {"Type": "Task", "Resource": LAMBDA, "End": True}
    done, _ = run({"T": task}, {}, answers={"T": TypeError("boom")})
    assert done.status == "FAILED" and done.error == "States.TaskFailed"


def _padding(total_bytes):
    """An object whose compact JSON text is exactly `total_bytes` long."""
    return {"a": "x" * (total_bytes - len('{"a":""}'))}


def test_pass_output_over_256_kib_is_data_limit_exceeded():
    assert run_pass(_padding(262_144)).status == "SUCCEEDED"
    done = run_pass(_padding(262_145))
    assert done.status == "FAILED" and done.error == "States.DataLimitExceeded"
    assert done.cause == (
        "The state/task 'P' returned a result with a size exceeding the maximum number of bytes "
        "service limit."
    )


def test_payload_size_counts_utf8_bytes_not_characters():
    text = "\u00e9" * 131_070  # two bytes each in UTF-8
    done = run_pass({}, Result={"a": text})
    assert done.status == "FAILED" and done.error == "States.DataLimitExceeded"


def _task(**fields):
    return {"Type": "Task", "Resource": LAMBDA, "End": True} | fields


def test_task_result_over_the_limit_is_a_task_failure_caught_by_states_all():
    states = {
        "T": _task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught", "ResultPath": "$.e"}]),
        "Caught": {"Type": "Pass", "End": True},
    }
    done, host = run(states, {"k": 1}, answers={"T": _padding(300_000)})
    assert host.last("TaskFailed")["error"] == "States.DataLimitExceeded"
    assert "TaskSucceeded" not in host.types()
    assert done.status == "SUCCEEDED"
    assert done.output["k"] == 1 and done.output["e"]["Error"] == "States.DataLimitExceeded"


def test_task_output_over_the_limit_after_result_path_is_caught_by_states_all():
    states = {
        "T": _task(
            ResultPath="$.result",
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        ),
        "Caught": {"Type": "Pass", "End": True},
    }
    done, host = run(states, _padding(200_000), answers={"T": _padding(100_000)})
    assert host.types().count("TaskSucceeded") == 1  # the result alone was within the limit
    assert done.status == "SUCCEEDED"
    assert done.output["Error"] == "States.DataLimitExceeded"


def test_data_limit_exceeded_is_matched_by_the_wildcards_as_aws_runs_them():
    assert error_matches(["States.ALL"], "States.DataLimitExceeded")
    assert error_matches(["States.TaskFailed"], "States.DataLimitExceeded")
    assert not error_matches(["States.ALL"], "States.Runtime")


def test_runtime_error_cause_names_the_state_and_its_entered_event():
    states = {
        "First": {"Type": "Pass", "Next": "Second"},
        "Second": {"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": True},
    }
    done, host = run(states, {"a": 1})
    assert host.types()[3] == "PassStateEntered"  # event #4
    assert done.cause == PREFIX.format("Second", 4) + (
        "The JSONPath '$.missing' specified for the field 'x.$' could not be found in the "
        """input '{"a":1}'"""
    )
    assert host.last("ExecutionFailed") == {"error": "States.Runtime", "cause": done.cause}


@pytest.mark.parametrize(
    ("field", "path", "normalized"),
    [
        ("InputPath", "$.x", "$['x']"),
        ("OutputPath", "$.a[1].b", "$['a'][1]['b']"),
        ("InputPath", "$['odd name'][0]", "$['odd name'][0]"),
    ],
)
def test_input_and_output_path_misses_are_worded_as_aws_words_them(field, path, normalized):
    done = run_pass({"a": [{"b": 1}]}, **{field: path})
    assert done.error == "States.Runtime"
    assert done.cause == PREFIX.format("P", 2) + (
        f"Invalid path '{path}' : No results for path: {normalized}"
    )


def test_choice_variable_miss_is_worded_as_aws_words_it():
    rule = {"Variable": "$.jobs[0].done", "BooleanEquals": True, "Next": "End"}
    states = {
        "AllDone": {"Type": "Choice", "Choices": [rule], "Default": "End"},
        "End": {"Type": "Succeed"},
    }
    done, _ = run(states, {"jobs": [{}]})
    assert done.cause == PREFIX.format("AllDone", 2) + (
        "Invalid path '$.jobs[0].done': The choice state's condition path references an invalid "
        "value."
    )


def test_runtime_error_after_a_callback_names_the_event_that_entered_the_task():
    defn = machine(
        {
            "Wait": {
                "Type": "Task",
                "Resource": CALLBACK,
                "ResultSelector": {"id.$": "$.x"},
                "End": True,
            }
        }
    )
    waiting = start(defn, {}, context=CONTEXT, host=Host())
    assert isinstance(waiting, Waiting) and waiting.entered_event_id == 2
    done = resume(  # a later stage, with a new host, as the engine runs it
        defn,
        cursor_of(waiting),
        task_result=TaskSuccess({"other": 1}),
        context=CONTEXT,
        host=Host(),
    )
    assert done.error == "States.Runtime"
    assert done.cause.startswith(PREFIX.format("Wait", 2) + "The JSONPath '$.x'")


def test_states_error_from_a_resource_keeps_its_name():
    done, host = run({"T": _task()}, {}, answers={"T": StatesError("Lambda.Unknown", "crash")})
    assert (done.error, done.cause) == ("Lambda.Unknown", "crash")
