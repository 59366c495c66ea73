"""The issue's "differences from AWS" about the context object, through the real engine: the
definition created over boto3 (so the API loads it), run by the Celery worker with the context
object the engine builds (tests/stepfunctions/test_workflow_aws_differences.py runs the same
behaviour in the interpreter alone, with a context object of its own)."""

import json
import uuid

import pytest

from stepfunctions import resources
from stepfunctions.models import Execution
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/coffee-bar"


def _run(sfn, states, data):
    """Creates a machine of `states` and runs it on `data` to its end; returns (described
    execution, machine name, history events)."""
    name = f"m-{uuid.uuid4().hex[:12]}"
    definition = {"StartAt": next(iter(states)), "States": states}
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(data))[
        "executionArn"
    ]

    def finished():
        described = sfn.describe_execution(executionArn=arn)
        return described if described["status"] != "RUNNING" else None

    described = wait_for(finished, message=f"execution {arn} to finish")
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return described, machine["stateMachineArn"], name, events


def test_context_paths_in_input_path_and_output_path_are_accepted_and_run(live_stages, sfn):
    states = {
        "From the execution input": {
            "Type": "Pass",
            "InputPath": "$$.Execution.Input",
            "Next": "To the machine",
        },
        "To the machine": {"Type": "Pass", "OutputPath": "$$.StateMachine", "End": True},
    }
    described, machine_arn, name, events = _run(sfn, states, {"order": 5})
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"Id": machine_arn, "Name": name}
    first_exit = [e for e in events if e["type"] == "PassStateExited"][0]
    assert json.loads(first_exit["stateExitedEventDetails"]["output"]) == {"order": 5}


def test_a_fail_state_reads_the_state_and_machine_names_from_the_context_object(live_stages, sfn):
    states = {
        "Refuse the order": {
            "Type": "Fail",
            "ErrorPath": "$$.State.Name",
            "CausePath": "$$.StateMachine.Name",
        }
    }
    described, _, name, events = _run(sfn, states, {})
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Refuse the order",
        name,
    )
    failed = events[-1]["executionFailedEventDetails"]
    assert (failed["error"], failed["cause"]) == ("Refuse the order", name)


def test_the_context_object_has_redrive_count_the_role_and_retry_count_in_tasks_only(
    live_stages, sfn
):
    states = {
        "Look": {
            "Type": "Pass",
            "Parameters": {"execution.$": "$$.Execution", "state.$": "$$.State"},
            "Next": "Call",
        },
        "Call": {
            "Type": "Task",
            "Resource": resources.LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": "TestShopStatus",
                "Payload": {"retries.$": "$$.State.RetryCount"},
            },
            "ResultPath": None,
            "End": True,
        },
    }
    described, _, _, events = _run(sfn, states, {})
    assert described["status"] == "SUCCEEDED", described
    looked = json.loads(described["output"])
    assert looked["execution"]["RedriveCount"] == 0
    assert looked["execution"]["RoleArn"] == ROLE
    assert set(looked["state"]) == {"EnteredTime", "Name"}  # no RetryCount outside a Task
    scheduled = [e for e in events if e["type"] == "TaskScheduled"][0]
    parameters = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    assert parameters["Payload"] == {"retries": 0}


@pytest.mark.parametrize("text", ["", " ", "\t\n"])
def test_string_to_json_of_an_empty_or_blank_string_is_null(live_stages, sfn, text):
    states = {
        "Parse": {
            "Type": "Pass",
            "Parameters": {"parsed.$": "States.StringToJson($.text)"},
            "End": True,
        }
    }
    described, _, _, _ = _run(sfn, states, {"text": text})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"parsed": None}


def test_format_prints_objects_and_arrays_as_aws_java_runtime_prints_maps_and_lists(
    live_stages, sfn
):
    states = {
        "Say": {
            "Type": "Pass",
            "Parameters": {
                "args.$": "States.Format('{}', $.args)",
                "nested.$": "States.Format('<{}>', $.nested)",
                "machine.$": "States.Format('{}', $$.StateMachine)",
            },
            "End": True,
        }
    }
    data = {
        "args": {"Arg1": 1, "Arg2": []},
        "nested": [{"a": "text", "b": None, "c": True}, [2.5, {}], "x y"],
    }
    described, machine_arn, name, _ = _run(sfn, states, data)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {
        "args": "{Arg1=1, Arg2=[]}",
        "nested": "<[{a=text, b=null, c=true}, [2.5, {}], x y]>",
        "machine": f"{{Id={machine_arn}, Name={name}}}",
    }


def test_a_jsonata_sequence_of_one_item_is_that_item(live_stages, sfn):
    states = {
        "Count": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": {
                "one": "{% $range(1, 9, 9) %}",
                "two": "{% $range(1, 9, 8) %}",
                "none": "{% $range(3, 1, 1) %}",
                "chunks": "{% $partition([1, 2], 5) %}",
                "mapped": "{% $map([7], function($v) { $v }) %}",
            },
            "End": True,
        }
    }
    described, _, _, _ = _run(sfn, states, {})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {
        "one": 1,
        "two": [1, 9],
        "none": [],
        "chunks": [[1, 2]],  # an array of chunks, not a sequence
        "mapped": 7,
    }


def test_a_fail_state_without_error_or_cause_in_a_map_fails_the_execution_with_neither(
    live_stages, sfn
):
    states = {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Refuse", "States": {"Refuse": {"Type": "Fail"}}},
            "Catch": [{"ErrorEquals": ["Test.Other"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    }
    described, _, _, events = _run(sfn, states, [1, 2])
    assert described["status"] == "FAILED"
    assert "error" not in described and "cause" not in described
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["executionFailedEventDetails"] == {}


def test_a_fail_state_without_error_or_cause_in_a_parallel_branch_is_caught_by_states_all(
    live_stages, sfn
):
    states = {
        "Both": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "Refuse", "States": {"Refuse": {"Type": "Fail"}}}],
            "Catch": [
                {"ErrorEquals": ["States.TaskFailed"], "Next": "Caught", "ResultPath": "$.e"}
            ],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    }
    described, _, _, _ = _run(sfn, states, {"k": 1})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"k": 1, "e": {"Error": None, "Cause": None}}


ONE_PASS = {"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("max_concurrency", [0, 1])
def test_a_map_over_items_that_include_null_succeeds_with_the_same_array(
    live_stages, sfn, max_concurrency
):
    items = [1, "Hello", {}, None, 3.3]
    states = {
        "Items": {"Type": "Pass", "Result": items, "Next": "Each"},
        "Each": {
            "Type": "Map",
            "MaxConcurrency": max_concurrency,  # 1: the null item's run starts later
            "ItemProcessor": ONE_PASS,
            "End": True,
        },
    }
    described, _, _, _ = _run(sfn, states, None)  # the execution's own input null too
    assert described["status"] == "SUCCEEDED", described
    assert described["input"] == "null"
    assert json.loads(described["output"]) == items
    inputs = Execution.objects.filter(group__isnull=False).order_by("branch_index")
    assert [child.input for child in inputs] == items  # stored as JSON null, read back as None


def test_a_parallel_with_a_null_input_and_null_branch_outputs_succeeds(live_stages, sfn):
    null_out = {
        "StartAt": "Nothing",
        "States": {"Nothing": {"Type": "Pass", "Result": None, "End": True}},
    }
    states = {
        "Nothing": {"Type": "Pass", "Result": None, "Next": "Both"},
        "Both": {"Type": "Parallel", "Branches": [ONE_PASS, null_out], "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    }
    described, _, _, events = _run(sfn, states, {})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [None, None]
    entered = [e for e in events if e["type"] == "ParallelStateEntered"][0]
    assert entered["stateEnteredEventDetails"]["input"] == "null"


def _reads_x(name):
    """A branch whose one state reads the outer variable x, and assigns one of its own."""
    reads = {
        "Type": "Pass",
        "Parameters": {"innerX.$": "$x", "said.$": "States.Format('x is {}', $x)"},
        "Assign": {"own": name},
        "Next": "Own",
    }
    own = {"Type": "Pass", "Parameters": {"read.$": "$.innerX", "own.$": "$own"}, "End": True}
    return {"StartAt": name, "States": {name: reads, "Own": own}}


def test_parallel_branches_and_map_iterations_read_the_outer_variables(live_stages, sfn):
    states = {
        "Remember": {"Type": "Pass", "Assign": {"x": 42}, "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [_reads_x("Left"), _reads_x("Right")],
            "Assign": {"x": 43},  # the outer scope's, after the branches read 42
            "ResultPath": "$.both",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"innerX.$": "$x", "item.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "StartAt": "Say",
                "States": {
                    "Say": {
                        "Type": "Pass",
                        "Parameters": {
                            "said.$": "States.Format('{} of {}', $.item, $x)",
                            "selected.$": "$.innerX",
                        },
                        "End": True,
                    }
                },
            },
            "ResultPath": "$.each",
            "Next": "After",
        },
        # A branch's own variable is not visible here: only x is.
        "After": {"Type": "Pass", "Parameters": {"x.$": "$x", "seen.$": "$"}, "End": True},
    }
    described, _, _, _ = _run(sfn, states, {"items": [1, 2]})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["x"] == 43
    assert output["seen"]["both"] == [{"read": 42, "own": "Left"}, {"read": 42, "own": "Right"}]
    assert output["seen"]["each"] == [
        {"said": "1 of 43", "selected": 43},
        {"said": "2 of 43", "selected": 43},
    ]


def test_a_branch_reading_a_variable_no_scope_around_it_assigned_fails(live_stages, sfn):
    states = {
        "Both": {
            "Type": "Parallel",
            "Branches": [_reads_x("Left")],
            "End": True,
        },
    }
    described, _, _, _ = _run(sfn, states, {})
    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"
    assert "there is no variable 'x'" in described["cause"]


def test_an_inner_state_may_not_assign_a_variable_of_the_outer_scope(sfn):
    inner = {"StartAt": "Set", "States": {"Set": {"Type": "Pass", "Assign": {"x": 1}, "End": True}}}
    definition = {
        "StartAt": "Remember",
        "States": {
            "Remember": {"Type": "Pass", "Assign": {"x": 42}, "Next": "Each"},
            "Each": {"Type": "Map", "ItemProcessor": inner, "End": True},
        },
    }
    with pytest.raises(sfn.exceptions.InvalidDefinition) as refused:
        sfn.create_state_machine(name="m-outer", definition=json.dumps(definition), roleArn=ROLE)
    assert "assigns the variable 'x' of an outer scope" in str(refused.value)
