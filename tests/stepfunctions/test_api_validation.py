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


def test_validate_lists_every_error_it_finds(sfn):
    doc = machine_document()
    doc["States"][CUSTOMER_WAIT]["Next"] = "Nowhere"
    doc["States"]["Shop Open?"]["Default"] = "Gone"
    doc["States"]["Generate Order Number"]["Resource"] = 7
    answer = sfn.validate_state_machine_definition(definition=json.dumps(doc))
    assert answer["result"] == "FAIL" and answer["truncated"] is False
    found = {(d["code"], d["location"]) for d in answer["diagnostics"]}
    assert found == {
        ("MISSING_TRANSITION_TARGET", f"/States/{CUSTOMER_WAIT}/Next"),
        ("MISSING_TRANSITION_TARGET", "/States/Shop Open?/Default"),
        ("INVALID_RESOURCE", "/States/Generate Order Number/Resource"),
    }
    assert all(d["severity"] == "ERROR" and d["message"] for d in answer["diagnostics"])
    # The first is what CreateStateMachine answers; maxResults cuts the list.
    first = sfn.validate_state_machine_definition(definition=json.dumps(doc), maxResults=1)
    assert first["truncated"] is True and first["diagnostics"] == answer["diagnostics"][:1]
    with pytest.raises(sfn.exceptions.InvalidDefinition) as refused:
        sfn.create_state_machine(name="Broken", definition=json.dumps(doc), roleArn=ROLE)
    assert answer["diagnostics"][0]["location"] in refused.value.response["Error"]["Message"]
