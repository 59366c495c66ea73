"""The interpreter's side of Parallel and Map: the Branching outcome a stage saves, and how the
state goes on from its child runs' results (resume). The child runs themselves are the
engine's (tests/stepfunctions/test_children.py)."""

import pytest

from stepfunctions.workflow import (
    Branching,
    BranchResult,
    DefinitionError,
    Finished,
    Sleeping,
    cursor_of,
    load_definition,
    resume,
)

from .workflow_host import CONTEXT, Host, machine, run

BRANCH = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}


def parallel(**fields):
    return {"Type": "Parallel", "Branches": [BRANCH, BRANCH], "End": True} | fields


def map_state(**fields):
    return {"Type": "Map", "ItemProcessor": BRANCH, "End": True} | fields


def resumed(states, outcome, results, failure=None):
    host = Host()
    end = resume(
        machine(states),
        cursor_of(outcome),
        branch_results=results,
        branch_failure=failure,
        context=CONTEXT,
        host=host,
    )
    return end, host


def ok(*outputs):
    return [BranchResult("SUCCEEDED", output) for output in outputs]


def test_parallel_gives_each_branch_the_effective_input_and_records_started():
    states = {"P": parallel(InputPath="$.in", Parameters={"v.$": "$.x"})}
    outcome, host = run(states, {"in": {"x": 7}})
    assert isinstance(outcome, Branching)
    assert outcome.inputs == [{"v": 7}, {"v": 7}]
    assert outcome.tolerated_failures == 0
    assert host.types() == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]


def test_parallel_result_is_the_branch_outputs_in_order_through_selector_and_paths():
    states = {
        "P": parallel(
            ResultSelector={"first.$": "$[0]", "second.$": "$[1]"},
            ResultPath="$.r",
            OutputPath="$.r",
        )
    }
    outcome, _ = run(states, {"a": 1})
    end, host = resumed(states, outcome, ok("one", "two"))
    assert end == Finished("SUCCEEDED", {"first": "one", "second": "two"}, None, None)
    assert host.types() == [
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "ExecutionSucceeded",
    ]


def test_a_failed_branch_fails_the_parallel_state_with_its_error_and_cause():
    states = {"P": parallel()}
    outcome, _ = run(states, {})
    failure = BranchResult("FAILED", None, "Boom", "it broke")
    end, host = resumed(states, outcome, [failure, BranchResult("RUNNING")], failure)
    assert end == Finished("FAILED", None, "Boom", "it broke")
    assert host.types() == ["ParallelStateFailed", "ExecutionFailed"]


def test_a_failed_branch_is_caught_by_the_parallel_states_catch():
    states = {
        "P": parallel(
            Catch=[{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Done"}],
            End=None,
            Next="Done",
        ),
        "Done": {"Type": "Pass", "End": True},
    }
    states["P"].pop("End")
    outcome, _ = run(states, {"keep": 1}, start_at="P")
    failure = BranchResult("FAILED", None, "Boom", "it broke")
    end, _ = resumed(states, outcome, [failure, BranchResult("RUNNING")], failure)
    assert end.output == {"keep": 1, "err": {"Error": "Boom", "Cause": "it broke"}}


def test_a_failed_branch_is_retried_by_starting_every_branch_again():
    states = {"P": parallel(Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2}])}
    outcome, _ = run(states, {"a": 1})
    failure = BranchResult("FAILED", None, "Boom", "")
    sleeping, _ = resumed(states, outcome, [failure, failure], failure)
    assert isinstance(sleeping, Sleeping)
    assert sleeping.attempts == [1] and sleeping.delay_seconds == 2
    host = Host()
    again = resume(machine(states), cursor_of(sleeping), context=CONTEXT, host=host)
    assert isinstance(again, Branching) and again.inputs == [{"a": 1}, {"a": 1}]
    assert again.attempts == [1]
    assert host.types() == ["ParallelStateStarted"]


def test_map_iterates_over_items_path_with_item_selector_and_the_map_context():
    states = {
        "M": map_state(
            ItemsPath="$.items",
            ItemSelector={"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "c.$": "$.c"},
            MaxConcurrency=2,
        )
    }
    outcome, host = run(states, {"items": ["a", "b"], "c": 1})
    assert outcome.inputs == [{"i": 0, "v": "a", "c": 1}, {"i": 1, "v": "b", "c": 1}]
    assert outcome.max_concurrency == 2
    assert host.last("MapStateStarted") == {"length": 2}


def test_map_with_the_older_iterator_and_parameters_fields():
    states = {
        "M": {
            "Type": "Map",
            "Iterator": BRANCH,
            "Parameters": {"v.$": "$$.Map.Item.Value"},
            "End": True,
        }
    }
    outcome, _ = run(states, [1, 2, 3])
    assert outcome.inputs == [{"v": 1}, {"v": 2}, {"v": 3}]


def test_map_over_no_items_succeeds_at_once_with_an_empty_list():
    outcome, host = run({"M": map_state()}, [])
    assert outcome == Finished("SUCCEEDED", [], None, None)
    assert host.types()[-3:] == ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]


def test_map_items_path_to_a_non_array_fails_with_states_runtime():
    outcome, _ = run({"M": map_state(ItemsPath="$.x")}, {"x": 5})
    assert outcome.status == "FAILED" and outcome.error == "States.Runtime"
    assert "must be a JSON array" in outcome.cause


@pytest.mark.parametrize(
    ("fields", "length", "tolerated"),
    [
        ({}, 10, 0),
        ({"ToleratedFailureCount": 3}, 10, 3),
        ({"ToleratedFailurePercentage": 25}, 10, 2),
        ({"ToleratedFailureCount": 1, "ToleratedFailurePercentage": 50}, 10, 1),
    ],
)
def test_map_tolerated_failures(fields, length, tolerated):
    outcome, _ = run({"M": map_state(**fields)}, list(range(length)))
    assert outcome.tolerated_failures == tolerated


def test_map_past_its_tolerated_failures_fails_with_exceed_tolerated_failure_threshold():
    states = {"M": map_state(ToleratedFailureCount=1)}
    outcome, _ = run(states, [1, 2, 3])
    failure = BranchResult("FAILED", None, "Boom", "")
    end, host = resumed(states, outcome, [failure, failure, *ok(3)], failure)
    assert end.error == "States.ExceedToleratedFailureThreshold"
    assert host.types() == ["MapStateFailed", "ExecutionFailed"]


def test_map_within_its_tolerated_failures_succeeds_with_the_failures_error_output():
    states = {"M": map_state(ToleratedFailureCount=1)}
    outcome, _ = run(states, [1, 2])
    failure = BranchResult("FAILED", None, "Boom", "why")
    end, _ = resumed(states, outcome, [failure, *ok(2)], failure)
    assert end.output == [{"Error": "Boom", "Cause": "why"}, 2]


@pytest.mark.parametrize(
    ("state", "field", "fragment"),
    [
        (parallel(Branches=[]), "Branches", "non-empty list"),
        (parallel(Branches=[{"StartAt": "X", "States": {}}]), "Branches[0].States", "non-empty"),
        (
            parallel(Branches=[{"StartAt": "X", "States": BRANCH["States"]}]),
            "Branches[0].StartAt",
            "",
        ),
        (map_state(ItemReader={}), "ItemReader", "Distributed Map"),
        (
            map_state(ItemProcessor={**BRANCH, "ProcessorConfig": {"Mode": "SIDEWAYS"}}),
            "ItemProcessor.ProcessorConfig.Mode",
            "INLINE or DISTRIBUTED",
        ),
        (map_state(ResultWriter={}), "ResultWriter", "Amazon S3"),
        (map_state(ItemBatcher={"MaxItemsPerBatch": 2}), "ItemBatcher", "Mode DISTRIBUTED"),
        (map_state(MaxConcurrency=-1), "MaxConcurrency", "integer"),
        (map_state(ToleratedFailurePercentage=101), "ToleratedFailurePercentage", "between"),
        (map_state(Iterator=BRANCH), "ItemProcessor", "exactly one"),
        (map_state(ItemsPath=None), "ItemsPath", "JSONPath string"),
        (map_state(ItemSelector={"a": 1}, Parameters={"a": 1}), "ItemSelector", "together"),
    ],
)
def test_refused_parallel_and_map_definitions(state, field, fragment):
    with pytest.raises(DefinitionError) as refused:
        load_definition({"StartAt": "S", "States": {"S": state}})
    assert refused.value.field == field
    assert fragment in refused.value.message


def test_a_state_inside_a_branch_is_checked_and_named():
    inner = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "Nowhere"}}}
    with pytest.raises(DefinitionError) as refused:
        load_definition({"StartAt": "S", "States": {"S": parallel(Branches=[inner])}})
    assert refused.value.state == "B" and refused.value.field == "Next"


JSONATA_BRANCH = {
    "StartAt": "B",
    "States": {"B": {"Type": "Pass", "QueryLanguage": "JSONata", "End": True}},
}


def jsonata_machine(state):
    return {"S": {"QueryLanguage": "JSONata"} | state}


def test_jsonata_parallel_gives_its_branches_the_arguments_and_outputs_through_output():
    states = jsonata_machine(
        {
            "Type": "Parallel",
            "Branches": [JSONATA_BRANCH, JSONATA_BRANCH],
            "Arguments": {"v": "{% $states.input.x + 1 %}"},
            "Output": {"sum": "{% $states.result[0].v + $states.result[1].v %}"},
            "End": True,
        }
    )
    outcome, _ = run(states, {"x": 1})
    assert outcome.inputs == [{"v": 2}, {"v": 2}]
    end, _ = resumed(states, outcome, ok({"v": 2}, {"v": 3}))
    assert end == Finished("SUCCEEDED", {"sum": 5}, None, None)


def test_jsonata_map_iterates_over_items_with_item_selector_and_the_map_context():
    states = jsonata_machine(
        {
            "Type": "Map",
            "ItemProcessor": JSONATA_BRANCH,
            "Items": "{% $states.input.list %}",
            "ItemSelector": {
                "i": "{% $states.context.Map.Item.Index %}",
                "v": "{% $states.context.Map.Item.Value * 10 %}",
            },
            "End": True,
        }
    )
    outcome, _ = run(states, {"list": [1, 2]})
    assert outcome.inputs == [{"i": 0, "v": 10}, {"i": 1, "v": 20}]


def test_jsonata_map_items_that_are_not_an_array_is_a_query_evaluation_error():
    states = jsonata_machine(
        {"Type": "Map", "ItemProcessor": JSONATA_BRANCH, "Items": "{% 5 %}", "End": True}
    )
    outcome, _ = run(states, {})
    assert outcome.error == "States.QueryEvaluationError"


@pytest.mark.parametrize(
    ("state", "field"),
    [
        (
            {"Type": "Map", "ItemProcessor": JSONATA_BRANCH, "ItemsPath": "$", "End": True},
            "ItemsPath",
        ),
        (
            {"Type": "Parallel", "Branches": [JSONATA_BRANCH], "Parameters": {}, "End": True},
            "Parameters",
        ),
    ],
)
def test_jsonata_parallel_and_map_refuse_jsonpath_fields(state, field):
    with pytest.raises(DefinitionError) as refused:
        load_definition({"StartAt": "S", "States": jsonata_machine(state)})
    assert refused.value.field == field
