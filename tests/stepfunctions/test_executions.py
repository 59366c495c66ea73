"""Executions: start (name idempotency, input checks), stop, recovery, versions."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stepfunctions import services
from stepfunctions.errors import (
    ExecutionAlreadyExists,
    InvalidExecutionInput,
    InvalidName,
    TaskTimedOut,
)
from stepfunctions.models import CallbackToken, Execution, StateMachineVersion
from tests.conftest import SEED_INPUT, open_token
from tests.stepfunctions import factories

CUSTOMER_WAIT = "Emit - Workflow Started TT"


def test_same_name_same_input_while_running_returns_the_same_execution(inline_stages, machine):
    first, created = services.execution_start(
        state_machine=machine, input=SEED_INPUT, name="seed-1"
    )
    again, created_again = services.execution_start(
        state_machine=machine, input=json.dumps(SEED_INPUT), name="seed-1"
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert Execution.objects.count() == 1
    with pytest.raises(ExecutionAlreadyExists):
        services.execution_start(
            state_machine=machine, input={"detail": {"orderId": "2"}}, name="seed-1"
        )


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"input": "{not json"}, InvalidExecutionInput),
        ({"input": json.dumps({"x": "y" * 262_144})}, InvalidExecutionInput),
        ({"input": "{}", "name": "has space"}, InvalidName),
        ({"input": "{}", "name": "n" * 81}, InvalidName),
    ],
)
def test_bad_start_is_refused_and_creates_nothing(machine, arguments, error):
    with pytest.raises(error):
        services.execution_start(state_machine=machine, **arguments)
    assert Execution.objects.count() == 0


def test_stop_aborts_and_closes_the_open_token(inline_stages, machine):
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    token = open_token(execution, CUSTOMER_WAIT)
    stopped = services.execution_stop(execution=execution, error="Closing", cause="end of day")
    assert (stopped.status, stopped.stage) == ("ABORTED", "DONE")
    assert CallbackToken.objects.get(token=token).status == CallbackToken.Status.CLOSED
    assert execution.history.last().type == "ExecutionAborted"
    with pytest.raises(TaskTimedOut):
        services.task_success(task_token=token, output="{}")
    # Stopping again changes nothing.
    assert services.execution_stop(execution=execution).stop_date == stopped.stop_date


def test_redelivered_stage_after_it_ran_does_nothing(inline_stages, machine):
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    events = execution.history.count()
    assert services.execution_advance(execution_id=execution.pk) is False
    assert execution.history.count() == events


def test_recovery_re_drives_only_stalled_stages(machine, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "stepfunctions.tasks.advance_execution.delay",
        lambda execution_id: sent.append(execution_id),
    )
    now = timezone.now()
    # Rows due to start whose message was lost: made directly, so no worker hears of them.
    ready = {"stage": Execution.Stage.READY, "cursor": {"kind": "start"}, "input": SEED_INPUT}
    stalled = factories.execution(**ready, due_at=now - timedelta(minutes=5))
    factories.execution(**ready, due_at=now)
    factories.execution(stage=Execution.Stage.WAITING, due_at=None)
    settings.WORKFLOW_STALL_SECONDS = 30
    assert services.executions_recover(now=now) == 1
    assert sent == [str(stalled.pk)]
    # The re-driven stage runs once; running it again finds nothing due.
    assert services.execution_advance(execution_id=stalled.pk) is True
    assert services.execution_advance(execution_id=stalled.pk) is False


def test_an_execution_keeps_the_version_it_started_with(inline_stages, machine):
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    document = services.state_machine_get(arn_or_name="CallbackWorkflow").latest_version
    changed = json.loads(json.dumps(document.definition))
    changed["States"]["Customer timedout"]["Result"] = "Customer left"
    new_version = services.state_machine_update(state_machine=machine, definition=changed)
    assert new_version.number == document.number + 1
    services.task_failure(task_token=open_token(execution, CUSTOMER_WAIT), error="OrderCancelled")
    execution.refresh_from_db()
    assert execution.version_id == document.pk
    assert execution.output["cause"] == "Customer cancelled"


def test_a_start_after_an_update_runs_the_new_version(machine, django_assert_num_queries):
    first, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    changed = json.loads(json.dumps(first.version.definition))
    changed["Comment"] = "v2"
    new_version = services.state_machine_update(state_machine=machine, definition=changed)
    second, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    assert first.version_id != second.version_id == new_version.pk
    assert Execution.objects.get(pk=second.pk).version.definition == changed
    # Once a version was read, a start reads only the latest version's id, then inserts.
    with django_assert_num_queries(1):
        version = machine.version_to_start()
    assert (version.pk, version.number, version.definition) == (
        new_version.pk,
        new_version.number,
        changed,
    )
    assert version.state_machine is machine


def test_a_version_id_given_to_another_row_runs_that_rows_definition(transactional_db):
    # Parsed definitions are kept per process; a row that takes a deleted version's id (SQLite
    # gives a deleted last row's id again after a table rebuild) must not run the old one.
    def passing(value: str) -> dict:
        return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": value, "End": True}}}

    first = services.state_machine_create(name="First", definition=passing("first"))
    ran, _ = services.execution_start(state_machine=first, input={})
    services.stages_run_due()  # whether or not a nudge ran it (a flag another test left)
    ran.refresh_from_db()
    assert ran.output == "first"
    reused = first.latest_version.pk
    services.state_machine_delete(state_machine=first)
    second = services.state_machine_create(name="Second", definition=passing("second"))
    StateMachineVersion.objects.filter(pk=second.latest_version.pk).update(id=reused)
    execution, _ = services.execution_start(state_machine=second, input={})
    services.stages_run_due()
    execution.refresh_from_db()
    assert (execution.version_id, execution.output) == (reused, "second")
