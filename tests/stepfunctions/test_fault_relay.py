"""The outbox's relay and the nudge that never fails a committed operation.

(tests/orders/test_fault_broker.py stops a real Redis under runsystem; these pin the rules.)
"""

import threading
import time
from datetime import timedelta

import kombu.exceptions
import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from stepfunctions import services
from stepfunctions.models import CallbackToken, Execution
from stepfunctions.services import messages, sweeps
from stepfunctions.tasks import advance_execution
from tests.conftest import SEED_INPUT, open_token
from tests.stepfunctions import factories

CUSTOMER_WAIT = "Emit - Workflow Started TT"


@pytest.fixture
def sent(monkeypatch):
    """The nudges sent to the broker, instead of sending them."""
    calls = []
    monkeypatch.setattr(
        advance_execution, "apply_async", lambda args, **options: calls.append((args, options))
    )
    return calls


@pytest.fixture
def queue(monkeypatch):
    """Sets how many messages the broker's queue holds."""
    length = {"now": 0}
    monkeypatch.setattr(sweeps, "queue_length", lambda: length["now"])
    return length


def test_the_relay_sends_stages_due_for_seconds_while_the_queue_is_empty(
    transactional_db, sent, queue
):
    now = timezone.now()
    lost = factories.execution(stage="READY", due_at=now - timedelta(seconds=5))
    factories.execution(stage="READY", due_at=now)  # its nudge may still be on its way
    factories.execution(stage="READY", due_at=now + timedelta(seconds=60))  # a retry's delay
    factories.execution(stage="WAITING")
    queue["now"] = 4
    assert services.executions_relay(now=now) == 0 and sent == []
    queue["now"] = 0
    assert services.executions_relay(now=now) == 1
    assert sent == [([str(lost.pk)], {"kwargs": {"relayed": True}})]


def test_the_queue_length_is_read_from_the_real_broker(transactional_db, redis_url):
    assert messages.queue_length() >= 0


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no row locks: its IMMEDIATE transactions serialise whole writers",
)
def test_a_relayed_nudge_skips_a_stage_another_worker_holds(transactional_db):
    due = factories.execution(stage="READY", due_at=timezone.now() - timedelta(seconds=5))
    held, release = threading.Event(), threading.Event()

    def other_worker():
        with transaction.atomic():
            Execution.objects.select_for_update().get(pk=due.pk)
            held.set()
            release.wait(10)
        connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with transaction.atomic():
            found = Execution.objects.due_locked(due.pk, now=timezone.now(), skip_locked=True)
        # At once, not after the other transaction: PostgreSQL skips the held row.
        assert time.monotonic() - started < 1
        assert found is None
    finally:
        release.set()
        thread.join(10)


def test_a_callback_answers_success_when_the_broker_is_down(
    inline_stages, machine, monkeypatch, caplog
):
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    token = open_token(execution, CUSTOMER_WAIT)

    def broker_down(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(advance_execution, "apply_async", broker_down)
    services.task_success(task_token=token, output='{"orderId": 1}')
    assert CallbackToken.objects.get(token=token).status == "SUCCEEDED"
    execution.refresh_from_db()
    # Committed and due: the relay's to send once the broker is back.
    assert execution.stage == "READY" and execution.due_at is not None
    assert "Error 111" in caplog.text
