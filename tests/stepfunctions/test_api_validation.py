"""ValidateStateMachineDefinition through boto3 and the aws CLI on the live server, and
CreateStateMachine's InvalidDefinition from the same checks."""

import json

import pytest

from tests.conftest import aws_cli
from tests.stepfunctions.conftest import machine_document

pytestmark = pytest.mark.integration
CUSTOMER_WAIT = "Emit - Workflow Started TT"
ROLE = "arn:aws:iam::123456789012:role/unused"


def _broken() -> str:
    doc = machine_document()
    doc["States"][CUSTOMER_WAIT]["Next"] = "Nowhere"
    return json.dumps(doc)


def _with_warnings(count: int) -> str:
    states = {"Start": {"Type": "Succeed"}}
    states.update({f"Orphan {i}": {"Type": "Pass", "End": True} for i in range(count)})
    return json.dumps({"StartAt": "Start", "States": states})


def test_validate_answers_errors_warnings_and_truncates(sfn):
    ok = sfn.validate_state_machine_definition(definition=json.dumps(machine_document()))
    assert (ok["result"], ok["diagnostics"]) == ("OK", [])

    failed = sfn.validate_state_machine_definition(definition=_broken())
    assert failed["result"] == "FAIL"
    (diagnostic,) = failed["diagnostics"]
    assert diagnostic["severity"] == "ERROR"
    assert diagnostic["code"] == "MISSING_TRANSITION_TARGET"
    assert diagnostic["location"] == f"/States/{CUSTOMER_WAIT}/Next"
    assert failed["truncated"] is False

    # Warnings only when asked for (severity WARNING), and they do not fail the definition.
    quiet = sfn.validate_state_machine_definition(definition=_with_warnings(3))
    assert (quiet["result"], quiet["diagnostics"]) == ("OK", [])
    warned = sfn.validate_state_machine_definition(
        definition=_with_warnings(3), severity="WARNING", maxResults=2
    )
    assert warned["result"] == "OK" and warned["truncated"] is True
    assert [d["code"] for d in warned["diagnostics"]] == ["UNREACHABLE_STATE"] * 2
    assert warned["diagnostics"][0]["location"] == "/States/Orphan 0"

    # CreateStateMachine refuses what validation fails, saying the same.
    with pytest.raises(sfn.exceptions.InvalidDefinition) as refused:
        sfn.create_state_machine(name="Broken", definition=_broken(), roleArn=ROLE)
    message = refused.value.response["Error"]["Message"]
    assert "MISSING_TRANSITION_TARGET" in message
    assert f"/States/{CUSTOMER_WAIT}/Next" in message


def test_validate_with_the_aws_cli(live_server, sfn_key):
    done = aws_cli(
        live_server, sfn_key, "validate-state-machine-definition", "--definition", _broken()
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["result"] == "FAIL"
    assert answer["diagnostics"][0]["location"] == f"/States/{CUSTOMER_WAIT}/Next"
