"""Wait states through the engine: a durable timer. The execution is READY with due_at when the
wait ends; nothing runs it before then, and the relay (or, under load, the stall sweep) runs it
once due_at has come, however far ahead that is. Short waits also get a Celery countdown, so they
end on time; a long one gets none (a countdown past the broker's visibility timeout would be
delivered again every hour).
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from stepfunctions import services
from stepfunctions.models import Cursor, Execution
from stepfunctions.services.stages import COUNTDOWN_MAX_SECONDS
from stepfunctions.tasks import advance_execution

YEAR = 365 * 24 * 3600


@pytest.fixture
def nudges(monkeypatch):
    """The countdowns of the nudges sent (eager stages still run as they are sent)."""
    sent = []
    original = advance_execution.apply_async

    def recorded(*args, **kwargs):
        sent.append(kwargs.get("countdown"))
        return original(*args, **kwargs)

    monkeypatch.setattr(advance_execution, "apply_async", recorded)
    return sent


def _start(seconds, *, name):
    states = {
        "Prepare": {"Type": "Pass", "Assign": {"table": 4}, "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": seconds, "Next": "Serve"},
        "Serve": {"Type": "Pass", "Parameters": {"table.$": "$table"}, "End": True},
    }
    machine = services.state_machine_create(
        name=name, definition={"StartAt": "Prepare", "States": states}
    )
    execution, _ = services.execution_start(state_machine=machine, input={"order": 1})
    execution.refresh_from_db()
    return execution


def _types(execution):
    return list(execution.history.values_list("type", flat=True))


def test_an_hour_long_wait_is_ready_with_due_at_and_fired_by_the_relay_once_due(
    inline_stages, nudges
):
    execution = _start(3600, name="HourWait")
    entered = execution.history.get(type="WaitStateEntered").timestamp
    assert (execution.status, execution.stage) == ("RUNNING", Execution.Stage.READY)
    assert execution.due_at == entered + dt.timedelta(seconds=3600)
    assert execution.position == Cursor(
        Cursor.WAIT, state="Wait", input={"order": 1}, variables={"table": 4}
    )
    assert _types(execution)[-1] == "WaitStateEntered"
    # The start's nudge only: the wait's own is left to the sweeps.
    assert nudges == [None]

    # Not fired early: a nudge, the relay and the stall sweep a second before due do nothing.
    with time_machine.travel(execution.due_at - dt.timedelta(seconds=1), tick=False):
        assert services.execution_advance(execution_id=execution.pk) is False
        assert services.executions_relay() == 0
        assert services.executions_recover() == 0
    assert "WaitStateExited" not in _types(execution)

    with time_machine.travel(execution.due_at + dt.timedelta(seconds=3), tick=False):
        assert services.executions_relay() == 1
        assert services.executions_relay() == 0  # a second sweep finds nothing due
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output == {"table": 4}
    exited = execution.history.get(type="WaitStateExited")
    assert exited.details == {"name": "Wait", "output": '{"order":1}'}
    assert exited.timestamp >= entered + dt.timedelta(seconds=3600)
    assert _types(execution)[-4:] == [
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_a_year_long_wait_is_fired_by_the_stall_sweep_a_year_on(inline_stages, settings):
    execution = _start(YEAR, name="YearWait")
    entered = execution.history.get(type="WaitStateEntered").timestamp
    assert execution.due_at == entered + dt.timedelta(seconds=YEAR)
    with time_machine.travel(execution.due_at - dt.timedelta(days=1), tick=False):
        assert services.executions_recover() == 0
    with time_machine.travel(
        execution.due_at + dt.timedelta(seconds=settings.WORKFLOW_STALL_SECONDS + 1), tick=False
    ):
        assert services.executions_recover() == 1
    execution.refresh_from_db()
    assert (execution.status, execution.output) == ("SUCCEEDED", {"table": 4})


def test_a_short_wait_also_gets_a_countdown_so_it_ends_on_time(inline_stages, nudges):
    execution = _start(COUNTDOWN_MAX_SECONDS, name="ShortWait")
    assert nudges == [None, COUNTDOWN_MAX_SECONDS]
    # Eager Celery ran the countdown's stage at once: too early, so it did nothing.
    execution.refresh_from_db()
    assert execution.stage == Execution.Stage.READY and execution.status == "RUNNING"
    with time_machine.travel(execution.due_at, tick=False):
        assert services.execution_advance(execution_id=execution.pk) is True
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED


def test_an_execution_timeout_ends_a_wait_longer_than_it(inline_stages):
    states = {"Wait": {"Type": "Wait", "Seconds": 7200, "End": True}}
    machine = services.state_machine_create(
        name="TimedWait", definition={"StartAt": "Wait", "States": states, "TimeoutSeconds": 60}
    )
    execution, _ = services.execution_start(state_machine=machine, input={})
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61), tick=False):
        assert services.executions_time_out() == 1
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("TIMED_OUT", "States.Timeout")
