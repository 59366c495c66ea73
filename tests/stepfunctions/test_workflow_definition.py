"""Loading and validating definitions: what is accepted, and errors naming state and field."""

import copy
import json

import pytest

from stepfunctions.workflow import DefinitionError, load_definition

CALLBACK = "arn:aws:states:::events:putEvents.waitForTaskToken"


def machine(**task_fields):
    """A two-state machine whose Task "Emit - X" takes `task_fields` on top of a valid base."""
    task = {"Type": "Task", "Resource": CALLBACK, "Next": "Done"} | task_fields
    task = {key: value for key, value in task.items() if value is not ...}
    return {"StartAt": "Emit - X", "States": {"Emit - X": task, "Done": {"Type": "Succeed"}}}


def refused(doc, **kwargs) -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        load_definition(doc, **kwargs)
    return info.value


def test_loads_json_text_and_exposes_parsed_states():
    doc = machine(
        HeartbeatSeconds=900,
        TimeoutSeconds=3600,
        ResultPath="$.order",
        Retry=[{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "MaxAttempts": 0}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Done", "ResultPath": None}],
    )
    defn = load_definition(json.dumps(doc))
    state = defn.state("Emit - X")
    assert defn.start_at == "Emit - X"
    assert set(defn.states) == {"Emit - X", "Done"}
    assert (state.heartbeat_seconds, state.timeout_seconds) == (900, 3600)
    assert state.result_path.steps == ("order",)
    assert state.is_callback is True
    assert state.retry[0].interval_seconds == 2 and state.retry[0].max_attempts == 0
    assert state.retry[0].backoff_rate == 2.0
    assert state.catch[0].next == "Done" and state.catch[0].result_path is None
    assert defn.raw == doc


def test_definition_is_a_copy_and_immutable():
    doc = machine()
    defn = load_definition(doc)
    doc["States"]["Emit - X"]["Next"] = "Elsewhere"
    assert defn.state("Emit - X").next == "Done"
    with pytest.raises(AttributeError):
        defn.start_at = "Done"
    with pytest.raises(TypeError):
        defn.states["New"] = defn.state("Done")
    with pytest.raises(KeyError, match="no state named"):
        defn.state("Nope")


def test_error_message_names_state_and_field():
    error = refused(machine(HeartbeatSeconds=0))
    assert (error.state, error.field) == ("Emit - X", "HeartbeatSeconds")
    assert str(error) == (
        'State "Emit - X": field "HeartbeatSeconds": must be an integer between 1 and 99999999'
    )
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("doc", "field", "fragment"),
    [
        ("{not json", "", "not valid JSON"),
        ("[1, 2]", "", "JSON object"),
        ({"States": {"A": {"Type": "Succeed"}}}, "StartAt", "is required"),
        ({"StartAt": "A"}, "States", "is required"),
        ({"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}, "StartAt", "does not exist"),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "QueryLanguage": "XPath"},
            "QueryLanguage",
            "must be JSONPath or JSONata",
        ),
        ({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": 1}, "Extra", "unknown"),
    ],
)
def test_top_level_errors(doc, field, fragment):
    error = refused(doc)
    assert error.state is None
    assert error.field == field
    assert fragment in str(error)


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"Next": "Nowhere"}, "Next", "does not exist"),
        ({"End": True}, "Next", "exactly one of Next and End"),
        ({"Next": ...}, "Next", "exactly one of Next and End"),
        ({"Next": ..., "End": False}, "End", "must be true"),
        ({"Type": "Map", "Resource": ..., "ItemReader": {}}, "ItemReader", "Distributed Map"),
        ({"Type": "Parallel", "Resource": ...}, "Branches", "non-empty list"),
        ({"Type": "Teleport"}, "Type", "unsupported state type"),
        ({"Seconds": 5}, "Seconds", "unknown field for a Task state"),
        ({"QueryLanguage": "XPath"}, "QueryLanguage", "must be JSONPath or JSONata"),
        ({"QueryLanguage": "JSONata", "Parameters": {}}, "Parameters", "QueryLanguage JSONata"),
        ({"Resource": 5}, "Resource", "must be a string"),
        ({"Resource": ...}, "Resource", "must be a string"),
        ({"HeartbeatSeconds": 1.5}, "HeartbeatSeconds", "integer between 1 and"),
        ({"HeartbeatSeconds": True}, "HeartbeatSeconds", "integer between 1 and"),
        ({"TimeoutSeconds": -1}, "TimeoutSeconds", "integer between 1 and"),
        ({"HeartbeatSeconds": 60, "TimeoutSeconds": 60}, "HeartbeatSeconds", "smaller than"),
        ({"HeartbeatSecondsPath": "hb"}, "HeartbeatSecondsPath", "start with '$'"),
        ({"TimeoutSecondsPath": None}, "TimeoutSecondsPath", "JSONPath string"),
        (
            {"HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.hb"},
            "HeartbeatSecondsPath",
            "together",
        ),
        ({"InputPath": "$.a[*]"}, "InputPath", "not a supported JSONPath"),
        ({"ResultPath": "$$.x"}, "ResultPath", "reference path"),
        ({"Parameters": {"a.$": "a"}}, "Parameters.a.$", "start with '$'"),
        ({"Parameters": {"e": [{"x.$": "$..x"}]}}, "Parameters.e[0].x.$", "not a supported"),
        ({"Parameters": {"m.$": "States.Frmat('{}', $.a)"}}, "Parameters.m.$", "unknown intrinsic"),
        ({"ResultSelector": "$.a"}, "ResultSelector", "must be an object"),
        ({"ResultSelector": {"p.$": "Payload"}}, "ResultSelector.p.$", "start with '$'"),
        ({"Retry": {}}, "Retry", "must be a list"),
        ({"Retry": [{}]}, "Retry[0].ErrorEquals", "non-empty list"),
        ({"Retry": [{"ErrorEquals": []}]}, "Retry[0].ErrorEquals", "non-empty list"),
        ({"Retry": [{"ErrorEquals": [1]}]}, "Retry[0].ErrorEquals", "non-empty list"),
        (
            {"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]},
            "Retry[0].ErrorEquals",
            "alone and in the last",
        ),
        (
            {"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]},
            "Retry[0].ErrorEquals",
            "alone and in the last",
        ),
        ({"Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]}, "Retry[0].IntervalSeconds", ""),
        (
            {"Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]},
            "Retry[0].MaxAttempts",
            "between 0 and",
        ),
        ({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}, "Retry[0].BackoffRate", "1.0"),
        ({"Retry": [{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}]}, "Retry[0].MaxDelaySeconds", ""),
        (
            {"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]},
            "Retry[0].JitterStrategy",
            "",
        ),
        ({"Retry": [{"ErrorEquals": ["X"], "Next": "Done"}]}, "Retry[0].Next", "unknown field"),
        ({"Catch": [{"ErrorEquals": ["X"]}]}, "Catch[0].Next", "needs Next"),
        ({"Catch": [{"ErrorEquals": ["X"], "Next": "Gone"}]}, "Catch[0].Next", "does not exist"),
        (
            {"Catch": [{"ErrorEquals": ["X"], "Next": "Done", "ResultPath": "x"}]},
            "Catch[0].ResultPath",
            "start with '$'",
        ),
        (
            {"Catch": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"], "Next": "Done"}]},
            "Catch[0].ErrorEquals",
            "alone and in the last",
        ),
    ],
)
def test_task_state_errors(fields, field, fragment):
    error = refused(machine(**fields))
    assert error.state == "Emit - X"
    assert error.field == field
    assert fragment in error.message


def test_resource_known_is_consulted():
    seen = []

    def known(resource):
        seen.append(resource)
        return resource != CALLBACK

    error = refused(machine(), resource_known=known)
    assert (error.state, error.field) == ("Emit - X", "Resource")
    assert seen == [CALLBACK]


def states_doc(**states):
    return {"StartAt": next(iter(states)), "States": states | {"Done": {"Type": "Succeed"}}}


@pytest.mark.parametrize(
    ("state", "field", "fragment"),
    [
        ({"Type": "Pass", "Result": 1, "Resource": "x", "Next": "Done"}, "Resource", "unknown"),
        ({"Type": "Pass", "Next": "Done", "Parameters": None}, "Parameters", "not be null"),
        ({"Type": "Choice", "Default": "Done"}, "Choices", "non-empty list"),
        ({"Type": "Choice", "Choices": [], "Default": "Done"}, "Choices", "non-empty list"),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "Nope"}]},
            "Choices[0].Next",
            "does not exist",
        ),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True}]},
            "Choices[0].Next",
            "needs Next",
        ),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "Done"}]},
            "Choices[0]",
            "exactly one comparison operator",
        ),
        (
            {
                "Type": "Choice",
                "Choices": [{"And": [{"Variable": "$.a", "IsNull": 1}], "Next": "Done"}],
            },
            "Choices[0].And[0].IsNull",
            "true or false",
        ),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a[", "IsNull": True, "Next": "Done"}]},
            "Choices[0].Variable",
            "not a supported JSONPath",
        ),
        (
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "Done"}],
                "Default": "Nope",
            },
            "Default",
            "does not exist",
        ),
        (
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "Done"}],
                "End": True,
            },
            "End",
            "unknown field",
        ),
        ({"Type": "Succeed", "Next": "Done"}, "Next", "unknown field"),
        ({"Type": "Fail", "Error": 1}, "Error", "must be a string"),
        ({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}, "ErrorPath", "together"),
        ({"Type": "Fail", "CausePath": "cause"}, "CausePath", "start with '$'"),
    ],
)
def test_other_state_errors(state, field, fragment):
    error = refused(states_doc(S=state))
    assert (error.state, error.field) == ("S", field)
    assert fragment in error.message


def test_a_full_valid_definition_loads():
    doc = states_doc(
        P={"Type": "Pass", "Parameters": {"x.$": "$$.Execution.Id"}, "Next": "C"},
        C={
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.x", "StringMatches": "exec*", "Next": "T"},
                {"Not": {"Variable": "$.x", "IsPresent": True}, "Next": "F"},
            ],
            "Default": "Done",
        },
        T={
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "HeartbeatSecondsPath": "$.hb",
            "ResultSelector": {"n.$": "$.Payload.orderNumber"},
            "End": True,
        },
        F={"Type": "Fail", "ErrorPath": "$.e", "Cause": "because"},
    )
    before = copy.deepcopy(doc)
    defn = load_definition(doc)
    assert defn.state("T").heartbeat_seconds_path.text == "$.hb"
    assert defn.state("T").is_callback is False
    assert defn.state("C").default == "Done"
    assert doc == before


def _assigns(name, *, inner=None):
    """A branch whose one state assigns `name` (and runs `inner`'s branch in a Map, if given)."""
    state = {"Type": "Pass", "Assign": {f"{name}.$": "$"}, "End": True}
    if inner is not None:
        state = {"Type": "Map", "ItemProcessor": inner, "Assign": {name: 1}, "End": True}
    return {"StartAt": "S", "States": {"S": state}}


def test_an_inner_scope_may_not_assign_a_variable_any_scope_around_it_assigns():
    doc = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Both"},
            "Both": {
                "Type": "Parallel",
                "Branches": [_assigns("y", inner=_assigns("x"))],
                "End": True,
            },
        },
    }
    error = refused(doc)
    assert (error.state, error.field) == ("S", "Assign")
    assert "assigns the variable 'x' of an outer scope" in error.message
    # the Map's own Assign is its scope's (y, in the branch): its iterations may not assign y
    doc["States"]["Both"]["Branches"] = [_assigns("y", inner=_assigns("y"))]
    assert "'y' of an outer scope" in refused(doc).message


def test_sibling_branches_may_assign_the_same_variable_each_their_own():
    doc = {
        "StartAt": "Both",
        "States": {
            "Both": {"Type": "Parallel", "Branches": [_assigns("y"), _assigns("y")], "End": True}
        },
    }
    assert load_definition(doc).state("Both").branches[1].state("S").raw["Assign"] == {"y.$": "$"}
