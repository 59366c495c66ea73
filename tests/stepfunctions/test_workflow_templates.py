"""Payload templates: `.$` fields built from paths and intrinsic functions, and their checks."""

import pytest

from stepfunctions.workflow.errors import StatesError
from stepfunctions.workflow.templates import resolve_template, template_errors
from tests.stepfunctions.test_workflow_paths import CONTEXT, INPUT


def test_template_resolves_dollar_keys_recursively_and_strips_the_suffix():
    template = {
        "Entries": [
            {
                "Detail": {
                    "Message": "static",
                    "TaskToken.$": "$$.Task.Token",
                    "orderId.$": "$.detail.orderId",
                },
                "Source": "awsserverlessda.serverlesspresso",
            }
        ],
        "whole.$": "$",
    }
    assert resolve_template(template, INPUT, CONTEXT, field="Parameters") == {
        "Entries": [
            {
                "Detail": {"Message": "static", "TaskToken": "tok-1", "orderId": "1"},
                "Source": "awsserverlessda.serverlesspresso",
            }
        ],
        "whole": INPUT,
    }
    assert "TaskToken.$" in template["Entries"][0]["Detail"]  # the template itself is untouched


def test_template_missing_path_names_the_key():
    with pytest.raises(StatesError) as info:
        resolve_template({"a": {"userId.$": "$.nope"}}, INPUT, CONTEXT, field="Parameters")
    assert info.value.error == "States.Runtime"
    assert "'userId.$'" in info.value.cause


def test_template_errors_finds_bad_paths_and_intrinsics():
    problems = template_errors(
        {
            "ok.$": "$.a",
            "list": [{"bad.$": "a.b"}],
            "fmt.$": "States.Format('{}', $.a)",
            "typo.$": "States.Fromat('{}', $.a)",
        },
        "Parameters",
    )
    fields = [field for field, _ in problems]
    assert fields == ["Parameters.list[0].bad.$", "Parameters.typo.$"]
    assert "unknown intrinsic function States.Fromat" in problems[1][1]
