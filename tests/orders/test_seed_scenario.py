"""The seed's testing section, end to end through the real Celery worker and Redis.

The clock is moved with time-machine (the whole process, worker thread included) to pass the
900-second heartbeats; beat's sweep task is sent through the broker like beat sends it.
"""

import json
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from orders.models import Order
from orders.services.bus import user_topic
from stepfunctions.models import Event, Execution
from stepfunctions.services import tokens_expire
from stepfunctions.tasks import expire_tokens
from tests.conftest import SEED_INPUT, token_from_history, wait_for

pytestmark = pytest.mark.integration
CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
SHOP = {"storeOpen": True, "isCapacityAvailable": True}


def _start(capsys) -> Execution:
    call_command("start-execution", "--input", json.dumps(SEED_INPUT))
    arn = json.loads(capsys.readouterr().out)["executionArn"]
    return Execution.objects.get(name=arn.rsplit(":", 1)[1])


def _waiting_in(execution: Execution, state_name: str) -> Execution:
    def arrived():
        execution.refresh_from_db()
        return (
            execution.stage == Execution.Stage.WAITING and execution.cursor["state"] == state_name
        )

    wait_for(arrived, message=f"the execution to wait in {state_name}")
    return execution


def _done(execution: Execution) -> Execution:
    wait_for(
        lambda: Execution.objects.filter(pk=execution.pk, stage=Execution.Stage.DONE).exists(),
        message="the execution to finish",
    )
    execution.refresh_from_db()
    return execution


def test_happy_path_as_in_the_seed(live_stages, capsys):
    subscriber = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    subscriber.subscribe(user_topic("testuser"))
    execution = _waiting_in(_start(capsys), CUSTOMER_WAIT)

    token = token_from_history(execution, CUSTOMER_WAIT)
    call_command("send-task-success", "--task-output", '{"orderId":1}', "--task-token", token)
    execution = _waiting_in(execution, BARISTA_WAIT)
    order = Order.objects.get(order_id="1")
    assert order.order_number is not None and order.status == Order.Status.CREATED

    second = token_from_history(execution, BARISTA_WAIT)
    assert second != token
    call_command("send-task-success", "--task-output", '{"orderId":1}', "--task-token", second)
    execution = _done(execution)

    call_command("describe-execution", "--execution-arn", execution.arn)
    described = json.loads(capsys.readouterr().out)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {
        "detail": {"orderId": "1", "userId": "testuser"},
        "GetStore": SHOP,
        "Order": {"Payload": {"orderNumber": order.order_number}},
        "order": {"orderId": 1},
    }
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED
    detail_types = list(
        Event.objects.filter(execution=execution).values_list("detail_type", flat=True)
    )
    assert detail_types == [
        "OrderProcessor.WorkflowStarted",
        "OrderProcessor.WaitingCompletion",
        "OrderProcessor.orderFinished",
    ]
    published = _messages(subscriber, 3)
    assert [m["detail-type"] for m in published] == detail_types
    assert published[0]["detail"]["TaskToken"] == token


def _messages(subscriber, count: int) -> list[dict]:
    received: list[dict] = []

    def three_arrived() -> bool:
        message = subscriber.get_message(timeout=0.1)
        if message and message["type"] == "message":
            received.append(json.loads(message["data"]))
        return len(received) >= count

    wait_for(three_arrived, message=f"{count} live messages")
    return received


def _expire_after(seconds: int) -> None:
    """Moves the clock past the heartbeat and lets beat's sweep run in the worker."""
    with time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True):
        expire_tokens.delay()
        # The stage the sweep enqueues must also run while the clock is moved.
        wait_for(
            lambda: Execution.objects.filter(stage=Execution.Stage.DONE).exists(),
            message="the timed-out execution to finish",
        )


def test_customer_times_out_after_the_heartbeat(live_stages, capsys):
    execution = _waiting_in(_start(capsys), CUSTOMER_WAIT)
    # 899 s: nothing is due yet.
    with time_machine.travel(timezone.now() + timedelta(seconds=899), tick=False):
        assert tokens_expire() == 0
    _expire_after(901)
    execution = _done(execution)
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output == {
        **SEED_INPUT,
        "GetStore": SHOP,
        "comment": {"Error": "States.Timeout", "Cause": ""},
        "cause": "Customer timedout",
    }
    timed_out = execution.history.get(type="TaskTimedOut")
    assert timed_out.details["error"] == "States.Timeout"
    following = execution.history.get(event_id=timed_out.event_id + 1)
    assert (following.type, following.details["name"]) == ("PassStateEntered", "Customer timedout")
    order = Order.objects.get(order_id="1")
    assert (order.status, order.reason, order.order_number) == (
        Order.Status.CANCELLED,
        "Customer timedout",
        None,
    )
    timed_out = Event.objects.get(execution=execution, detail_type="OrderProcessor.OrderTimeOut")
    assert timed_out.detail["cause"] == "Customer timedout"


def test_barista_times_out_after_the_heartbeat(live_stages, capsys):
    execution = _waiting_in(_start(capsys), CUSTOMER_WAIT)
    token = token_from_history(execution, CUSTOMER_WAIT)
    call_command("send-task-success", "--task-output", '{"orderId":1}', "--task-token", token)
    execution = _waiting_in(execution, BARISTA_WAIT)
    number = Order.objects.get(order_id="1").order_number
    _expire_after(901)
    execution = _done(execution)
    assert execution.output == {
        **SEED_INPUT,
        "GetStore": SHOP,
        "Order": {"Payload": {"orderNumber": number}},
        "comment": {"Error": "States.Timeout", "Cause": ""},
        "cause": "Barista timedout",
    }
    assert Order.objects.get(order_id="1").reason == "Barista timedout"
    # The first token is spent: the seed's command answered again gets Step Functions' error.
    with pytest.raises(Exception, match="TaskTimedOut"):
        call_command("send-task-success", "--task-output", '{"orderId":1}', "--task-token", token)
