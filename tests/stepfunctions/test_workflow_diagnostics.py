"""The definition's diagnostics (workflow.diagnostics): each error's code and JSON-pointer
location, and the warnings of a definition that loads."""

import json

import pytest

from stepfunctions.workflow.diagnostics import definition_check, field_segments, pointer
from tests.stepfunctions.conftest import machine_document

CUSTOMER_WAIT = "Emit - Workflow Started TT"


def _only(doc) -> tuple[str, str, str | None]:
    definition, found = definition_check(doc)
    assert definition is None
    first = found[0]
    return first.severity, first.code, first.location


def test_a_missing_transition_target_is_located_by_its_json_pointer():
    doc = machine_document()
    doc["States"][CUSTOMER_WAIT]["Next"] = "Nowhere"
    assert _only(doc) == ("ERROR", "MISSING_TRANSITION_TARGET", f"/States/{CUSTOMER_WAIT}/Next")


@pytest.mark.parametrize(
    ("change", "code", "location"),
    [
        (lambda d: d["States"]["P"].update(Bogus=1), "SCHEMA_VALIDATION_FAILED", "/States/P/Bogus"),
        (lambda d: d.update(StartAt="Q"), "MISSING_TRANSITION_TARGET", "/StartAt"),
        (
            lambda d: d["States"].update(T={"Type": "Task", "Resource": "arn:nope", "End": True}),
            "INVALID_RESOURCE",
            "/States/T/Resource",
        ),
        (
            lambda d: d["States"]["P"].update(Parameters={"a.$": "$..["}),
            "SCHEMA_VALIDATION_FAILED",
            "/States/P/Parameters/a.$",
        ),
    ],
    ids=["unknown-field", "start-at", "resource", "template-key"],
)
def test_error_codes_and_locations(change, code, location):
    doc = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    change(doc)
    _, found = definition_check(doc, resource_known=lambda resource: resource != "arn:nope")
    assert (found[0].severity, found[0].code, found[0].location) == ("ERROR", code, location)


def test_not_json_and_no_end_state():
    assert _only("{not json") == ("ERROR", "INVALID_JSON_DESCRIPTION", None)
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    assert _only(loop) == ("ERROR", "MISSING_END_STATE", "/States")


def test_an_error_inside_a_parallel_branch_names_the_whole_path():
    inner = {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Gone"}}}
    doc = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Y", "States": {"Y": {"Type": "Succeed"}}}, inner],
                "End": True,
            }
        },
    }
    assert _only(doc)[2] == "/States/Fan/Branches/1/States/X/Next"


def test_warnings_for_unreachable_states_catchers_and_paths_without_dollar():
    doc = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload": {"id": "$.id"}},
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Done"},
                    {"ErrorEquals": ["Custom.Error"], "Next": "Done"},
                    {"ErrorEquals": ["States.Timeout"], "Next": "Done"},
                    {"ErrorEquals": ["States.ALL"], "Next": "Done"},
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Orphan": {"Type": "Pass", "Result": "$.x", "End": True},
        },
    }
    definition, found = definition_check(doc)
    assert definition is not None  # warnings do not refuse it
    got = {(d.severity, d.code, d.location) for d in found}
    assert got == {
        ("WARNING", "UNREACHABLE_STATE", "/States/Orphan"),
        ("WARNING", "PASS_RESULT_IS_STATIC", "/States/Orphan/Result"),
        ("WARNING", "UNREACHABLE_CATCHER", "/States/Work/Catch/1"),  # TaskFailed took it
        ("WARNING", "NO_DOLLAR", "/States/Work/Parameters/Payload/id"),
    }


def test_the_seed_workflow_has_no_diagnostics():
    definition, found = definition_check(json.dumps(machine_document()))
    assert definition is not None and found == []


def test_pointer_escapes_and_field_segments():
    assert pointer(["States", "a/b~c"]) == "/States/a~1b~0c"
    assert pointer([]) is None
    assert field_segments("Choices[0].Next") == ["Choices", "0", "Next"]
    assert field_segments("Catch[2].ResultPath") == ["Catch", "2", "ResultPath"]
    assert field_segments("Parameters.id.$") == ["Parameters", "id.$"]
