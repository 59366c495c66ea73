"""The retention purge: closed executions older than RETENTION_DAYS go, with their history,
tokens and events, in batches; running ones and recent ones stay, whatever their age."""

import re
from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order
from stepfunctions.models import CallbackToken, Event, Execution, HistoryEvent
from stepfunctions.services.retention import executions_purge
from stepfunctions.tasks import purge_closed_executions
from tests.stepfunctions import factories


def _closed(stopped_days_ago: float, status=Execution.Status.SUCCEEDED) -> Execution:
    now = timezone.now()
    execution = factories.execution(
        stage=Execution.Stage.DONE,
        status=status,
        start_date=now - timedelta(days=stopped_days_ago, minutes=5),
        stop_date=now - timedelta(days=stopped_days_ago),
    )
    _with_records(execution)
    return execution


def _with_records(execution: Execution) -> None:
    HistoryEvent.objects.create(
        execution=execution, event_id=1, type="ExecutionStarted", timestamp=execution.start_date
    )
    CallbackToken.objects.create(
        token=f"t-{execution.pk}", execution=execution, state_name="Wait",
        status=CallbackToken.Status.SUCCEEDED, created_at=execution.start_date,
    )  # fmt: skip
    Event.objects.create(
        bus="b", source="s", detail_type="OrderProcessor.x", time=execution.start_date,
        execution=execution,
    )  # fmt: skip


def _counts(execution: Execution) -> tuple[int, int, int, int]:
    return (
        Execution.objects.filter(pk=execution.pk).count(),
        HistoryEvent.objects.filter(execution_id=execution.pk).count(),
        CallbackToken.objects.filter(execution_id=execution.pk).count(),
        Event.objects.filter(execution_id=execution.pk).count(),
    )


def test_purge_removes_only_what_is_old_and_closed_in_batches(db):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        old = [_closed(120) for _ in range(4)] + [_closed(95, Execution.Status.ABORTED)]
        recent = _closed(30)
        # Started long ago and still waiting for the customer: never purged.
        running = factories.execution(start_date=timezone.now() - timedelta(days=200))
        _with_records(running)
        order = Order.objects.create(order_id="o-old", user_id="u", execution=old[0])

        with CaptureQueriesContext(connection) as queries:
            assert executions_purge(batch_size=2) == 5
        deletes = [
            q["sql"]
            for q in queries
            if re.match(r'DELETE FROM "stepfunctions_execution"', q["sql"])
        ]
        assert len(deletes) == 3, "5 executions in batches of 2"

        for execution in old:
            assert _counts(execution) == (0, 0, 0, 0)
        assert _counts(recent) == (1, 1, 1, 1)
        assert _counts(running) == (1, 1, 1, 1)
        order.refresh_from_db()
        assert order.execution is None, "the shop's order stays, without its execution"

        # Nothing left to do; then the recent one ages past 90 days as the clock moves.
        assert executions_purge() == 0
        clock.shift(timedelta(days=60, seconds=1))
        assert executions_purge() == 1
        assert _counts(recent) == (0, 0, 0, 0)
        assert _counts(running) == (1, 1, 1, 1)


def test_the_beat_task_keeps_the_configured_days(db, settings):
    settings.RETENTION_DAYS = 7
    eight_days = _closed(8)
    six_days = _closed(6)
    assert purge_closed_executions() == 1
    assert _counts(eight_days)[0] == 0 and _counts(six_days)[0] == 1
    assert settings.CELERY_BEAT_SCHEDULE["purge-closed-executions"]["task"] == (
        purge_closed_executions.name
    )
