"""Poison executions end; runaway definitions stop at Step Functions' limits.

A stage that fails for a reason that would fail it again ends its execution FAILED with
States.Runtime (in a transaction of its own, once the stage's rolled back), so it neither runs for
ever nor holds what its app gives it; a lost connection is left for another try.
"""

import pytest
from django.db import OperationalError
from django.utils import timezone

from stepfunctions import hooks, services
from stepfunctions.errors import InvalidDefinition
from stepfunctions.models import Execution
from stepfunctions.workflow.interpreter import MAX_HISTORY_EVENTS
from stepfunctions.workflow.interpreter.tasks import _retry_delay
from tests.conftest import wait_for

PUT = "arn:aws:states:::events:putEvents"
EMIT = {"Type": "Task", "Resource": PUT, "Parameters": {"Entries": [
    {"Source": "poison.test", "DetailType": "Poison.Started", "Detail.$": "$"}
]}}  # fmt: skip


@pytest.fixture
def closed_calls():
    """Records the engine's execution-closed hook, as an app (the coffee bar) hears it."""
    calls = []

    def record(execution, how):
        calls.append((execution.pk, how))

    hooks.on_execution_closed(record)
    yield calls
    hooks._closed_handlers.remove(record)


@pytest.fixture
def events_raise():
    """An app's event handler that fails for the events it is told to, with the error given."""
    failing: dict[str, BaseException] = {}

    def handler(events):
        for event in events:
            if isinstance(event.detail, dict) and event.detail.get("poison") in failing:
                raise failing[event.detail["poison"]]

    hooks.on_events(handler)
    yield failing
    hooks._events_handlers.remove(handler)


@pytest.fixture
def by_hand(monkeypatch):
    """Stages run only when the test calls execution_advance (no nudge reaches a worker)."""
    for module in ("executions", "stages"):
        monkeypatch.setattr(
            f"stepfunctions.services.{module}.execution_nudge", lambda *a, **k: None
        )


def _machine(name="Poison", **task):
    definition = {
        "StartAt": "Emit",
        "States": {"Emit": {**EMIT, **task, "Next": "Wait"}, "Wait": {
            "Type": "Task", "Resource": PUT + ".waitForTaskToken", "HeartbeatSeconds": 60,
            "Parameters": {"Entries": [{"Source": "poison.test", "DetailType": "Poison.Wait",
                                        "Detail": {"TaskToken.$": "$$.Task.Token"}}]},
            "End": True,
        }},
    }  # fmt: skip
    return services.state_machine_create(name=name, definition=definition)


@pytest.mark.integration
def test_a_stage_failing_for_good_ends_its_execution_as_step_functions_does(
    live_stages, events_raise, closed_calls
):
    events_raise["bad"] = ValueError("this stage cannot be stored")
    machine = _machine()
    poisoned, _ = services.execution_start(state_machine=machine, input={"poison": "bad"})
    healthy, _ = services.execution_start(state_machine=machine, input={"poison": "no"})

    def ended():
        poisoned.refresh_from_db()
        return poisoned.status != Execution.Status.RUNNING

    wait_for(ended, timeout=20, message="the poisoned execution ends")
    assert (poisoned.status, poisoned.stage, poisoned.error) == ("FAILED", "DONE", "States.Runtime")
    assert "ValueError: this stage cannot be stored" in poisoned.cause
    # The stage rolled back: only the end is in the history, written after it.
    assert list(poisoned.history.values_list("type", flat=True)) == ["ExecutionFailed"]
    failed = poisoned.history.get()
    assert failed.details["error"] == "States.Runtime" and failed.details["cause"] == poisoned.cause
    assert closed_calls == [(poisoned.pk, "FAILED")]
    # The other execution of the same machine goes on to its wait.
    wait_for(lambda: Execution.objects.get(pk=healthy.pk).stage == "WAITING", timeout=20)
    # A nudge the poisoned execution still gets (a redelivery, the stall sweep) changes nothing.
    assert services.execution_advance(execution_id=poisoned.pk) is False
    assert poisoned.history.count() == 1


def test_bad_cursor_data_fails_the_execution(inline_stages, closed_calls):
    execution, _ = services.execution_start(state_machine=_machine(), input={})
    Execution.objects.filter(pk=execution.pk).update(
        stage=Execution.Stage.READY, due_at=timezone.now(), cursor={"kind": "bogus"}
    )
    assert services.execution_advance(execution_id=execution.pk) is True
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert "Unknown cursor" in execution.cause
    assert closed_calls[-1] == (execution.pk, "FAILED")


def test_a_transient_error_is_raised_and_the_stage_stays_due(
    transactional_db, by_hand, events_raise
):
    events_raise["flaky"] = OperationalError("server closed the connection unexpectedly")
    machine = _machine()
    execution, _ = services.execution_start(state_machine=machine, input={"poison": "flaky"})
    with pytest.raises(OperationalError):
        services.execution_advance(execution_id=execution.pk)
    execution.refresh_from_db()
    assert (execution.status, execution.stage, execution.event_count) == ("RUNNING", "READY", 0)
    # Once the cause is gone the same stage runs.
    del events_raise["flaky"]
    assert services.execution_advance(execution_id=execution.pk) is True
    execution.refresh_from_db()
    assert execution.stage == "WAITING"


@pytest.mark.parametrize(
    ("retrier", "field"),
    [
        ({"IntervalSeconds": 10**12}, "IntervalSeconds"),
        ({"IntervalSeconds": 100_000_000}, "IntervalSeconds"),
        ({"MaxAttempts": 100_000_000}, "MaxAttempts"),
        ({"MaxDelaySeconds": 31_622_401}, "MaxDelaySeconds"),
        ({"BackoffRate": 0.5}, "BackoffRate"),
    ],
)
def test_retry_bounds_are_checked_at_load(transactional_db, retrier, field):
    with pytest.raises(InvalidDefinition, match=field):
        _machine(Retry=[{"ErrorEquals": ["States.ALL"], **retrier}])


def test_the_largest_retry_values_load_and_their_delay_never_overflows(transactional_db):
    _machine(Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 99_999_999,
                     "MaxAttempts": 99_999_999, "BackoffRate": 1e300}])  # fmt: skip
    # 1e300 ** 2 overflows a float: the delay is capped at a year instead.
    assert _retry_delay(99_999_999, 1e300, 2) == 31_622_400
    assert _retry_delay(3, 2.0, 2) == 12


def test_timeouts_beyond_step_functions_bounds_are_refused(transactional_db):
    with pytest.raises(InvalidDefinition, match="HeartbeatSeconds"):
        _machine(name="Heartbeat", HeartbeatSeconds=10**12)
    definition = {"StartAt": "Done", "TimeoutSeconds": 10**12,
                  "States": {"Done": {"Type": "Succeed"}}}  # fmt: skip
    with pytest.raises(InvalidDefinition, match="TimeoutSeconds"):
        services.state_machine_create(name="Timeout", definition=definition)


def test_a_pass_loop_fails_at_the_history_limit_a_stage_at_a_time(transactional_db, by_hand):
    # A loop with a way out it never takes (a definition with no terminal state is refused
    # with MISSING_END_STATE, as AWS refuses it).
    never = {"Variable": "$.never", "IsPresent": True, "Next": "Done"}
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                             "B": {"Type": "Choice", "Choices": [never],
                                                   "Default": "A"},
                                             "Done": {"Type": "Succeed"}}}  # fmt: skip
    machine = services.state_machine_create(name="Loop", definition=definition)
    execution, _ = services.execution_start(state_machine=machine, input={})
    stages = 0
    while services.execution_advance(execution_id=execution.pk):
        stages += 1
        execution.refresh_from_db()
        # A stage yields after a bounded number of states: one execution cannot hog a worker.
        assert execution.event_count <= stages * 501
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert "maximum number of history events (25000)" in execution.cause
    assert MAX_HISTORY_EVENTS - 50 < execution.event_count <= MAX_HISTORY_EVENTS
    assert execution.history.count() == execution.event_count
    assert execution.history.order_by("-event_id").first().type == "ExecutionFailed"
    assert stages >= 50


def test_oversized_execution_input_is_refused(transactional_db):
    with pytest.raises(Exception, match="262144 bytes"):
        services.execution_start(state_machine=_machine(), input={"x": "y" * 262_144})
    assert Execution.objects.count() == 0
