"""The engine's extension points: every way an execution ends reaches on_execution_closed, inside
the transaction that ended it; on_events sees the rows a stage wrote."""

import pytest
from django.db import transaction

from stepfunctions import hooks, services
from stepfunctions.models import Execution
from stepfunctions.services.state_machines import state_machine_delete
from tests.conftest import SEED_INPUT, open_token

CUSTOMER_WAIT = "Emit - Workflow Started TT"


@pytest.fixture
def closed(monkeypatch):
    """Records (execution name, how, whether inside a transaction) for each closed execution."""
    calls = []

    def record(execution, how):
        calls.append((execution.name, how, transaction.get_connection().in_atomic_block))

    monkeypatch.setattr(hooks, "_closed_handlers", [record])
    return calls


@pytest.fixture
def waiting(inline_stages, machine):
    return services.execution_start(state_machine=machine, input=SEED_INPUT, name="w")[0]


def test_stop_closes_the_execution_as_aborted(waiting, closed):
    services.execution_stop(execution=waiting)
    assert closed == [("w", Execution.Status.ABORTED, True)]
    services.execution_stop(execution=waiting)
    assert len(closed) == 1


def test_an_uncaught_failure_closes_it_as_failed(waiting, closed):
    token = open_token(waiting, CUSTOMER_WAIT)
    services.task_failure(task_token=token, error="Boom")
    assert closed == [("w", Execution.Status.FAILED, True)]


def test_success_closes_it_as_succeeded(waiting, closed):
    token = open_token(waiting, CUSTOMER_WAIT)
    services.task_failure(task_token=token, error="OrderCancelled")
    assert closed == [("w", Execution.Status.SUCCEEDED, True)]


def test_deleting_the_machine_closes_only_running_executions(waiting, machine, closed):
    finished = services.execution_start(state_machine=machine, input=SEED_INPUT, name="f")[0]
    services.execution_stop(execution=finished)
    closed.clear()
    state_machine_delete(state_machine=machine)
    assert closed == [("w", hooks.DELETED, True)]
    assert not Execution.objects.exists()


def test_events_handlers_see_each_stage_s_rows(inline_stages, machine, monkeypatch):
    seen = []
    monkeypatch.setattr(hooks, "_events_handlers", [lambda events: seen.extend(events)])
    execution = services.execution_start(state_machine=machine, input=SEED_INPUT)[0]
    assert [(e.detail_type, e.execution_id) for e in seen] == [
        ("OrderProcessor.WorkflowStarted", execution.pk)
    ]


def test_log_fields_name_the_execution_and_add_what_the_apps_give(
    inline_stages, machine, monkeypatch, caplog
):
    """A stage's and a callback's lines carry the execution's id and name, and the fields an app
    adds for that name (the engine reads nothing of the input for them)."""
    monkeypatch.setattr(
        hooks, "_log_fields_functions", [lambda name: {"ticket": name.removeprefix("t-")}]
    )
    caplog.set_level("INFO")
    execution = services.execution_start(state_machine=machine, input=SEED_INPUT, name="t-9")[0]
    services.task_heartbeat(task_token=open_token(execution, CUSTOMER_WAIT))
    stage = next(r for r in caplog.records if r.getMessage().startswith("Stage ran"))
    callback = next(r for r in caplog.records if r.name == "stepfunctions.callbacks")
    for record in (stage, callback):
        assert record.execution_id == str(execution.pk)
        assert (record.execution_name, record.ticket) == ("t-9", "9")
