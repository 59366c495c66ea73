"""The order rows follow a batch of stages (orders.services.order_events): one statement per kind
of event for the whole batch, and each order gets its own values."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, ShopConfig
from orders.services.order_processor import (
    BARISTA_WAIT,
    CANCELLED_ERROR,
    CUSTOMER_WAIT,
    FINISHED,
    ORDER_CANCELLED,
)
from orders.services.shop_config import shop_config_get
from stepfunctions import services
from stepfunctions.models import CallbackToken
from stepfunctions.tasks import advance_execution

ORDERS = ["o-1", "o-2", "o-3", "o-4"]


def _batch() -> list[str]:
    """Runs the due stages as one worker's batch; returns the statements that wrote orders."""
    with CaptureQueriesContext(connection) as queries:
        assert services.stages_run_due() == len(ORDERS)
    return [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "orders_order" ')
    ]


def _open_tokens(state_name: str) -> dict[str, str]:
    return {
        order.order_id: CallbackToken.objects.get(
            execution_id=order.execution_id, state_name=state_name, status="OPEN"
        ).token
        for order in Order.objects.all()
    }


def test_a_batch_updates_each_order_with_its_own_values(order_processor, monkeypatch):
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(max_orders_in_queue=10)
    monkeypatch.setattr(advance_execution, "apply_async", lambda *args, **kwargs: None)
    for order_id in ORDERS:
        services.execution_start(
            state_machine=order_processor,
            input={"detail": {"orderId": order_id, "userId": f"user-{order_id}"}},
        )
    _batch()
    assert set(Order.objects.values_list("workflow_state", flat=True)) == {CUSTOMER_WAIT}
    tokens = _open_tokens(CUSTOMER_WAIT)
    assert dict(Order.objects.values_list("order_id", "task_token")) == tokens

    for token in tokens.values():
        services.task_success(task_token=token, output="{}")
    assert len(_batch()) == 1  # the four WaitingCompletion events
    orders = {o.order_id: o for o in Order.objects.all()}
    assert {o.workflow_state for o in orders.values()} == {BARISTA_WAIT}
    assert sorted(o.order_number for o in orders.values()) == [1, 2, 3, 4]
    barista_tokens = _open_tokens(BARISTA_WAIT)
    assert {k: o.task_token for k, o in orders.items()} == barista_tokens

    services.task_success(task_token=barista_tokens["o-1"], output="{}")
    services.task_success(task_token=barista_tokens["o-2"], output="{}")
    services.task_failure(task_token=barista_tokens["o-3"], error=CANCELLED_ERROR, cause="x")
    services.task_failure(task_token=barista_tokens["o-4"], error=CANCELLED_ERROR, cause="x")
    assert len(_batch()) == 2  # orderFinished for two, OrderCancelled for two
    ended = {o.order_id: (o.status, o.workflow_state, o.task_token) for o in Order.objects.all()}
    assert ended == {
        "o-1": (Order.Status.COMPLETED, FINISHED, ""),
        "o-2": (Order.Status.COMPLETED, FINISHED, ""),
        "o-3": (Order.Status.CANCELLED, ORDER_CANCELLED, ""),
        "o-4": (Order.Status.CANCELLED, ORDER_CANCELLED, ""),
    }
    # Their numbers were kept.
    assert sorted(Order.objects.values_list("order_number", flat=True)) == [1, 2, 3, 4]


def test_an_order_started_again_starts_afresh(order_processor, monkeypatch):
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(max_orders_in_queue=10)
    monkeypatch.setattr(advance_execution, "apply_async", lambda *args, **kwargs: None)
    seed = {"detail": {"orderId": "again", "userId": "u"}}
    first, _ = services.execution_start(state_machine=order_processor, input=seed)
    services.stages_run_due()
    services.task_success(task_token=_open_tokens(CUSTOMER_WAIT)["again"], output="{}")
    services.stages_run_due()
    assert Order.objects.get().order_number == 1
    services.execution_stop(execution=first)
    second, _ = services.execution_start(state_machine=order_processor, input=seed)
    services.stages_run_due()
    order = Order.objects.get()
    assert (order.execution_id, order.status, order.workflow_state, order.order_number) == (
        second.pk,
        Order.Status.CREATED,
        CUSTOMER_WAIT,
        None,
    )
    assert order.task_token == _open_tokens(CUSTOMER_WAIT)["again"]
    assert order.updated_at > order.created_at
