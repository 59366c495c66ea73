"""Fuzz every Step Functions operation through signed requests: generated bodies (deep nesting,
NaN, NUL, surrogates, huge numbers, wrong types, missing and extra members) are answered 2xx or
4xx, never 5xx, and a refused request changes nothing in the database."""

import json

import pytest
from django.apps import apps
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from stepfunctions import services
from stepfunctions.api.encoding import operation_model
from stepfunctions.api.protocol import OPERATIONS
from stepfunctions.models import CallbackToken, Execution
from tests.conftest import SEED_INPUT, open_token
from tests.fuzzing import FUZZ, bodies, hostile_text, json_text, json_values
from tests.stepfunctions.conftest import MACHINE_NAME
from tests.stepfunctions.signed import signed_post

MACHINE_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{MACHINE_NAME}"
PASS_DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def _snapshot() -> tuple:
    # Every engine table's row count in one statement: the test takes this twice per example.
    tables = sorted({m._meta.db_table for m in apps.get_app_config("stepfunctions").get_models()})
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables))
        counts = cursor.fetchone()
    runs = tuple(Execution.objects.order_by("pk").values_list("pk", "status", "due_at"))
    tokens = tuple(CallbackToken.objects.order_by("pk").values_list("pk", "status", "deadline"))
    return counts, runs, tokens


@pytest.fixture
def waiting(machine, inline_stages):
    """An execution waiting on its first callback: its ARN and its open token."""
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT, name="fuzzed")
    execution.refresh_from_db()
    return execution.arn, open_token(execution, "Emit - Workflow Started TT")


def _plausible(name: str, shape, waiting: tuple[str, str]) -> st.SearchStrategy:
    """Values a real client would send for the member, mixed with near misses."""
    execution_arn, token = waiting
    by_name = {
        "stateMachineArn": st.sampled_from(
            [MACHINE_ARN, MACHINE_ARN.replace("us-east-1", "eu-west-1"), MACHINE_ARN + "x"]
        ),
        "executionArn": st.sampled_from(
            [execution_arn, execution_arn.replace("123456789012", "000000000000")]
        ),
        "taskToken": st.sampled_from([token, "A" * 64, token[:-1]]),
        "input": st.sampled_from([json.dumps(SEED_INPUT), "{}"]) | json_values.map(json_text),
        "output": st.sampled_from(['{"ok": true}', "[]"]) | json_values.map(json_text),
        "definition": st.just(PASS_DEFINITION),
        "name": st.sampled_from(["Fuzzed", "n" * 81]) | hostile_text,
        "roleArn": st.just("arn:aws:iam::123456789012:role/r"),
    }
    if name in by_name:
        return by_name[name]
    if shape.type_name in ("integer", "long"):
        return st.integers(min_value=-(2**70), max_value=2**70)
    if shape.type_name == "boolean":
        return st.booleans()
    if shape.type_name == "string":
        return hostile_text
    return json_values


def _members(operation: str, waiting) -> dict[str, st.SearchStrategy]:
    shape = operation_model(operation).input_shape
    members = shape.members if shape is not None else {}
    return {name: _plausible(name, member, waiting) for name, member in members.items()}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_operation_answers_fuzzed_bodies_with_2xx_or_4xx(client, sfn_key, waiting, operation):
    answered: set[int] = set()

    @FUZZ
    @given(body=bodies(_members(operation, waiting)))
    def check(body: bytes) -> None:
        before = _snapshot()
        response = signed_post(client, sfn_key, operation, body)
        answered.add(response.status_code)
        assert response.status_code < 500, (body[:200], response.content[:300])
        if response.status_code >= 400:
            assert json.loads(response.content)["__type"]
            assert _snapshot() == before, body[:200]

    check()
    assert any(400 <= status < 500 for status in answered), answered
