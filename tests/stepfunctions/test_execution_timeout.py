"""The definition's top-level TimeoutSeconds: past it the execution ends TIMED_OUT with
States.Timeout, as Step Functions does, and no Catch can stop that. Tested by moving the clock."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from stepfunctions import services, tasks
from stepfunctions.errors import TaskTimedOut
from stepfunctions.models import CallbackToken, Execution
from tests.conftest import open_token
from tests.stepfunctions.test_timeouts import WAIT, wait_state

DEFINITION = {
    "TimeoutSeconds": 60,
    "StartAt": WAIT,
    "States": {
        # The whole execution's timeout, not the task's, must end it: catch everything here.
        WAIT: wait_state(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], Next="Done"),
        "Caught": {"Type": "Pass", "End": True},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture
def waiting(inline_stages) -> Execution:
    machine = services.state_machine_create(name="Timed", definition=DEFINITION)
    execution, _ = services.execution_start(state_machine=machine, input={"n": 1})
    assert execution.timeout_at == execution.start_date + timedelta(seconds=60)
    return execution


def _assert_timed_out(execution: Execution) -> None:
    execution.refresh_from_db()
    assert (execution.status, execution.stage, execution.error) == (
        Execution.Status.TIMED_OUT,
        Execution.Stage.DONE,
        "States.Timeout",
    )
    last = execution.history.last()
    assert (last.type, last.details["error"]) == ("ExecutionTimedOut", "States.Timeout")
    assert not execution.history.filter(details__name="Caught").exists()


def test_the_sweep_times_out_a_waiting_execution(waiting):
    token = open_token(waiting, WAIT)
    with time_machine.travel(timezone.now() + timedelta(seconds=59), tick=False):
        assert tasks.time_out_executions() == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert tasks.time_out_executions() == 1
        assert tasks.time_out_executions() == 0
    _assert_timed_out(waiting)
    assert CallbackToken.objects.get(token=token).status == CallbackToken.Status.CLOSED
    with pytest.raises(TaskTimedOut):
        services.task_success(task_token=token, output="{}")


def test_a_stage_due_after_the_timeout_ends_it_instead_of_running(waiting):
    token = open_token(waiting, WAIT)
    # The callback lands after the execution's deadline, before any sweep ran: the token has no
    # deadline of its own, so it is accepted, but the stage it makes due finds the time up.
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        services.task_success(task_token=token, output="{}")
    _assert_timed_out(waiting)


def test_an_execution_within_its_timeout_finishes(waiting):
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        services.task_success(task_token=open_token(waiting, WAIT), output="{}")
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.SUCCEEDED
