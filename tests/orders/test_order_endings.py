"""An order whose execution ends outside the coffee bar's own path (a stop, an uncaught failure, the
execution's TimeoutSeconds, the machine's deletion) leaves "Created" with a reason and no token,
through the engine's execution-closed hook, in the transaction that ended the execution; an
OrderClosed event tells the open screens, on the order's topics, once that transaction commits."""

import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import Order
from orders.services.bus import admin_topic, user_topic
from orders.services.order_events import ORDER_CLOSED
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT
from stepfunctions import services
from stepfunctions.models import Event, Execution
from stepfunctions.services.state_machines import state_machine_delete
from tests.conftest import open_token, wait_for


@pytest.fixture
def waiting_order(inline_stages, order_processor):
    execution, _ = services.execution_start(
        state_machine=order_processor, input={"detail": {"orderId": "7", "userId": "ana"}}
    )
    order = Order.objects.get(order_id="7")
    assert (order.status, order.workflow_state, bool(order.task_token)) == (
        Order.Status.CREATED,
        CUSTOMER_WAIT,
        True,
    )
    return execution, order


def _ended(order: Order) -> tuple:
    order.refresh_from_db()
    return order.status, order.reason, order.task_token


def test_stop_execution_cancels_the_order(waiting_order):
    execution, order = waiting_order
    services.execution_stop(execution=execution, error="Stopped", cause="by the manager")
    assert _ended(order) == (Order.Status.CANCELLED, "Stopped by the shop", "")


def test_an_uncaught_failure_cancels_the_order_with_its_error(waiting_order):
    execution, order = waiting_order
    services.task_success(task_token=open_token(execution, CUSTOMER_WAIT), output="{}")
    order.refresh_from_db()
    assert order.workflow_state == BARISTA_WAIT
    services.task_failure(
        task_token=open_token(execution, BARISTA_WAIT), error="Grinder.Jammed", cause="beans"
    )
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FAILED
    assert _ended(order) == (Order.Status.CANCELLED, "The order failed: Grinder.Jammed", "")


def test_deleting_the_machine_cancels_its_running_orders(waiting_order):
    execution, order = waiting_order
    state_machine_delete(state_machine=execution.state_machine)
    order.refresh_from_db()
    assert (order.status, order.reason, order.task_token, order.execution_id) == (
        Order.Status.CANCELLED,
        "Removed",
        "",
        None,
    )


def test_a_finished_order_keeps_its_status_when_its_execution_is_stopped_later(waiting_order):
    execution, order = waiting_order
    token = open_token(execution, CUSTOMER_WAIT)
    services.task_failure(task_token=token, error="OrderCancelled", cause="by ana")
    reason = _ended(order)[1]
    services.execution_stop(execution=execution)
    assert _ended(order) == (Order.Status.CANCELLED, reason, "")


@pytest.fixture
def heard():
    """What the admin topic and ana's topic hear: [(topic, envelope)], read when called."""
    subscriber = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    subscriber.subscribe(admin_topic(), user_topic("ana"))
    # Subscribed once Redis confirms both (a PUBLISH before that would go unheard).
    for _ in range(2):
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"
    messages: list[tuple[str, dict]] = []

    def read() -> list[tuple[str, dict]]:
        while (message := subscriber.get_message(timeout=0.2)) is not None:
            if message["type"] == "message":
                messages.append((message["channel"].decode(), json.loads(message["data"])))
        return [(topic, m) for topic, m in messages if m["detail-type"] == ORDER_CLOSED]

    yield read
    subscriber.close()


def _closed_events(order: Order) -> list[dict]:
    return list(
        Event.objects.filter(detail_type=ORDER_CLOSED, detail__orderId=order.order_id).values_list(
            "detail", flat=True
        )
    )


@pytest.mark.parametrize(
    ("end", "how", "reason"),
    [
        ("stop", Execution.Status.ABORTED, "Stopped by the shop"),
        ("fail", Execution.Status.FAILED, "The order failed: Grinder.Jammed"),
        ("time out", Execution.Status.TIMED_OUT, "The order took too long"),
    ],
)
def test_each_ending_tells_the_orders_screens_once(waiting_order, heard, end, how, reason):
    execution, order = waiting_order
    if end == "stop":
        services.execution_stop(execution=execution)
    elif end == "fail":
        services.task_failure(
            task_token=open_token(execution, CUSTOMER_WAIT), error="Grinder.Jammed", cause="beans"
        )
    else:
        Execution.objects.filter(pk=execution.pk).update(timeout_at=timezone.now())
        assert services.executions_time_out(now=timezone.now() + timedelta(seconds=1)) == 1
    services.execution_stop(execution=execution)  # ended already: no second event
    detail = {"orderId": "7", "userId": "ana", "orderNumber": None}
    assert _closed_events(order) == [{**detail, "reason": reason, "executionStatus": how}]
    published = wait_for(lambda: len(heard()) == 2 and heard(), message="the event published")
    assert sorted(topic for topic, _ in published) == sorted([admin_topic(), user_topic("ana")])
    assert published[0][1]["detail"] == {**detail, "reason": reason, "executionStatus": how}


def test_an_order_ended_by_the_workflow_gets_no_closed_event(waiting_order):
    execution, order = waiting_order
    services.task_failure(
        task_token=open_token(execution, CUSTOMER_WAIT), error="OrderCancelled", cause="by ana"
    )
    services.execution_stop(execution=execution)
    assert _closed_events(order) == []


def test_a_stop_rolled_back_tells_no_screen(waiting_order, heard):
    execution, order = waiting_order
    with pytest.raises(RuntimeError), transaction.atomic():
        services.execution_stop(execution=execution)
        raise RuntimeError("the caller's transaction fails")
    assert heard() == [] and _closed_events(order) == []
    order.refresh_from_db()
    assert order.status == Order.Status.CREATED


def test_deleting_the_machine_tells_the_screens(waiting_order, heard):
    execution, order = waiting_order
    state_machine_delete(state_machine=execution.state_machine)
    assert _closed_events(order) == [
        {
            "orderId": "7",
            "userId": "ana",
            "orderNumber": None,
            "reason": "Removed",
            "executionStatus": "DELETED",
        }
    ]
    wait_for(lambda: len(heard()) == 2, message="the event published")
