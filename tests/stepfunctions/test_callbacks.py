"""Callbacks by token: every bad input answered with Step Functions' error and nothing changed;
once-only tokens; heartbeats and the expiry sweep with a moved clock."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from stepfunctions import services
from stepfunctions.errors import InvalidOutput, InvalidToken, TaskTimedOut, ValidationException
from stepfunctions.models import CallbackToken, Execution, HistoryEvent
from stepfunctions.services.stage import token_new
from tests.conftest import SEED_INPUT, open_token

CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"


@pytest.fixture
def waiting(inline_stages, machine) -> Execution:
    """An execution paused at the customer's wait (stages run inline)."""
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    execution.refresh_from_db()
    assert execution.stage == Execution.Stage.WAITING
    return execution


def _snapshot(execution: Execution) -> tuple:
    execution.refresh_from_db()
    tokens = list(execution.tokens.order_by("pk").values_list("status", "deadline", "outcome"))
    return execution.stage, execution.status, execution.cursor, tokens, execution.history.count()


BAD_SUCCESS = [
    ({"task_token": "", "output": "{}"}, ValidationException),
    ({"task_token": "x" * 2049, "output": "{}"}, ValidationException),
    ({"task_token": "not a token", "output": "{}"}, InvalidToken),
    ({"task_token": "A" * 64, "output": "{}"}, InvalidToken),  # well-formed, never issued
    ({"task_token": None, "output": "{not json"}, InvalidOutput),
    ({"task_token": None, "output": json.dumps("x" * 262_144)}, ValidationException),
]


@pytest.mark.parametrize(("arguments", "error"), BAD_SUCCESS)
def test_bad_success_is_refused_and_changes_nothing(waiting, arguments, error):
    before = _snapshot(waiting)
    arguments = {**arguments}
    if arguments["task_token"] is None:
        arguments["task_token"] = open_token(waiting, CUSTOMER_WAIT)
    with pytest.raises(error):
        services.task_success(**arguments)
    assert _snapshot(waiting) == before


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"error": "e" * 257}, ValidationException),
        ({"cause": "c" * 32_769}, ValidationException),
        ({"task_token": "bad/token"}, InvalidToken),
    ],
)
def test_bad_failure_is_refused_and_changes_nothing(waiting, arguments, error):
    before = _snapshot(waiting)
    arguments = {"task_token": open_token(waiting, CUSTOMER_WAIT), **arguments}
    with pytest.raises(error):
        services.task_failure(**arguments)
    assert _snapshot(waiting) == before


def test_limits_are_inclusive(waiting):
    token = open_token(waiting, CUSTOMER_WAIT)
    services.task_failure(task_token=token, error="e" * 256, cause="c" * 32_768)
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.FAILED
    assert (len(waiting.error), len(waiting.cause)) == (256, 32_768)


def test_duplicate_success_gets_task_timed_out_and_runs_the_stage_once(waiting):
    token = open_token(waiting, CUSTOMER_WAIT)
    services.task_success(task_token=token, output='{"orderId": 1}')
    after_first = _snapshot(waiting)
    with pytest.raises(TaskTimedOut, match="Provided task does not exist anymore"):
        services.task_success(task_token=token, output='{"orderId": 1}')
    with pytest.raises(TaskTimedOut):
        services.task_failure(task_token=token, error="Late")
    with pytest.raises(TaskTimedOut):
        services.task_heartbeat(task_token=token)
    assert _snapshot(waiting) == after_first
    assert (
        waiting.history.filter(type="TaskSucceeded", details__resource__endswith="Token").count()
        == 1
    )


def test_failure_without_catch_fails_the_execution(waiting):
    services.task_failure(
        task_token=open_token(waiting, CUSTOMER_WAIT), error="Boom", cause="bad beans"
    )
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error, waiting.cause) == ("FAILED", "Boom", "bad beans")
    assert waiting.history.last().type == "ExecutionFailed"


def test_cancel_error_is_caught_at_the_customer_wait_without_an_order_number(waiting):
    services.task_failure(
        task_token=open_token(waiting, CUSTOMER_WAIT), error="OrderCancelled", cause="by me"
    )
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.SUCCEEDED
    assert waiting.output["cause"] == "Customer cancelled"
    assert waiting.output["comment"] == {"Error": "OrderCancelled", "Cause": "by me"}
    assert "Order" not in waiting.output


def test_late_success_after_the_heartbeat_passed_loses_even_before_the_sweep(waiting):
    token = open_token(waiting, CUSTOMER_WAIT)
    with time_machine.travel(timezone.now() + timedelta(seconds=901)):
        with pytest.raises(TaskTimedOut):
            services.task_success(task_token=token, output="{}")
        assert CallbackToken.objects.get(token=token).status == CallbackToken.Status.OPEN
        assert services.tokens_expire() == 1
    assert CallbackToken.objects.get(token=token).status == CallbackToken.Status.TIMED_OUT
    with pytest.raises(TaskTimedOut):
        services.task_success(task_token=token, output="{}")
    waiting.refresh_from_db()
    assert waiting.output["cause"] == "Customer timedout"


def test_heartbeat_pushes_the_deadline_on(waiting):
    token = open_token(waiting, CUSTOMER_WAIT)
    start = timezone.now()
    with time_machine.travel(start + timedelta(seconds=800), tick=False):
        services.task_heartbeat(task_token=token)
    with time_machine.travel(start + timedelta(seconds=1500), tick=False):
        assert services.tokens_expire() == 0  # 700 s after the heartbeat
    with time_machine.travel(start + timedelta(seconds=1701), tick=False):
        assert services.tokens_expire() == 1
    waiting.refresh_from_db()
    assert waiting.output["cause"] == "Customer timedout"


def test_sweep_expires_only_what_is_due(inline_stages, machine):
    early = [services.execution_start(state_machine=machine, input=SEED_INPUT)[0] for _ in range(3)]
    with time_machine.travel(timezone.now() + timedelta(seconds=600), tick=False):
        late = services.execution_start(state_machine=machine, input=SEED_INPUT)[0]
    with time_machine.travel(timezone.now() + timedelta(seconds=1000), tick=False):
        assert services.tokens_expire(batch_size=2) == 3
        assert services.tokens_expire() == 0
    statuses = dict(CallbackToken.objects.values_list("execution_id", "status"))
    assert [statuses[e.pk] for e in early] == ["TIMED_OUT"] * 3
    assert statuses[late.pk] == "OPEN"


def test_sweep_cost_does_not_grow_with_what_is_waiting(
    inline_stages, machine, django_assert_max_num_queries
):
    for _ in range(30):
        services.execution_start(state_machine=machine, input=SEED_INPUT)
    assert CallbackToken.objects.filter(status="OPEN").count() == 30
    # Nothing due: one SELECT on the partial index (plus the transaction's own statements).
    with django_assert_max_num_queries(3):
        assert services.tokens_expire() == 0


def test_heartbeat_on_a_task_without_heartbeat_seconds_is_accepted(db):
    # A token of a task with only TimeoutSeconds: a heartbeat changes nothing and is no error.
    from tests.stepfunctions.factories import waiting_token

    token = waiting_token(heartbeat_seconds=None, timeout_seconds=60)
    services.task_heartbeat(task_token=token.token)
    token.refresh_from_db()
    assert token.heartbeat_deadline is None and token.status == CallbackToken.Status.OPEN


def test_issued_tokens_are_long_and_unique():
    tokens = {token_new() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) == 64 for t in tokens)


def test_history_ids_are_consecutive(waiting):
    services.task_success(task_token=open_token(waiting, CUSTOMER_WAIT), output="{}")
    ids = list(
        HistoryEvent.objects.filter(execution=waiting).values_list("event_id", "previous_event_id")
    )
    assert [i for i, _ in ids] == list(range(1, len(ids) + 1))
    assert all(previous == i - 1 for i, previous in ids)
