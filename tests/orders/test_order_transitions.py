"""Order's declared transitions (orders.models.orders.OrderQuerySet): each changes only an order
in the status it expects, of the execution that runs it, so a late or repeated one changes
nothing."""

import pytest
from django.db import transaction

from orders.models import Order
from tests.stepfunctions import factories

WAIT = "waiting"
Status = Order.Status


@pytest.fixture
def orders(db):
    """Two orders, each of an execution of its own (rows only: no workflow runs, no nudge)."""
    return [
        Order.objects.start(order_id=order_id, user_id="u", execution=factories.execution())
        for order_id in ("t-1", "t-2")
    ]


def _row(order: Order, **values) -> dict:
    return {"order_id": order.order_id, "execution": order.execution_id, **values}


def _state(order: Order) -> tuple:
    order.refresh_from_db()
    return order.status, order.workflow_state, order.reason, order.task_token


def test_start_keeps_the_row_already_there(orders):
    first = orders[0]
    again = Order.objects.start(order_id=first.order_id, user_id="v", execution=None)
    assert (again.pk, again.user_id, again.execution_id) == (first.pk, "u", first.execution_id)


def test_a_batch_completes_and_cancels_only_created_orders_of_their_execution(orders):
    one, two = orders
    Order.objects.wait_for_barista(
        [_row(one, order_number=7, task_token="a"), _row(two, order_number=8, task_token="b")],
        workflow_state=WAIT,
    )
    assert [_state(o) for o in orders] == [(Status.CREATED, WAIT, "", t) for t in "ab"]
    one.refresh_from_db()
    assert one.order_number == 7

    Order.objects.complete([_row(one)], workflow_state="done")
    # A row naming another execution's order, or an order already ended, is left alone.
    Order.objects.cancel(
        [{**_row(two), "execution": one.execution_id, "workflow_state": "x", "reason": "x"}]
    )
    Order.objects.cancel([_row(one, workflow_state="x", reason="x")])
    assert _state(one) == (Status.COMPLETED, "done", "", "")
    assert _state(two) == (Status.CREATED, WAIT, "", "b")

    Order.objects.cancel([_row(two, workflow_state="Order cancelled", reason="Order cancelled")])
    Order.objects.complete([_row(two)], workflow_state="done")
    assert _state(two) == (Status.CANCELLED, "Order cancelled", "Order cancelled", "")


def test_cancel_closed_ends_only_a_created_order(orders):
    one, two = orders
    Order.objects.complete([_row(one)], workflow_state="done")
    assert Order.objects.cancel_closed(execution=one.execution, reason="Stopped") == 0
    assert Order.objects.cancel_closed(execution=two.execution, reason="r" * 300) == 1
    assert _state(one)[0] == Status.COMPLETED
    assert _state(two) == (Status.CANCELLED, "", "r" * 256, "")


def test_one_barista_claims_and_only_the_claimant_gives_it_back(orders):
    one, _ = orders
    assert not Order.objects.claim(pk=one.pk, barista="bob", waiting_in=WAIT)  # not waiting yet
    Order.objects.wait_for_barista([_row(one, order_number=1, task_token="t")], workflow_state=WAIT)
    assert Order.objects.claim(pk=one.pk, barista="bob", waiting_in=WAIT)
    assert not Order.objects.claim(pk=one.pk, barista="carol", waiting_in=WAIT)
    assert not Order.objects.unclaim(pk=one.pk, barista="carol", waiting_in=WAIT)
    assert Order.objects.unclaim(pk=one.pk, barista="bob", waiting_in=WAIT)
    assert Order.objects.claim(pk=one.pk, barista="carol", waiting_in=WAIT)
    one.refresh_from_db()
    assert one.barista == "carol"


def test_a_callback_reads_the_order_locked_and_waiting(orders):
    one, _ = orders
    Order.objects.wait_for_barista([_row(one, order_number=1, task_token="t")], workflow_state=WAIT)
    with transaction.atomic():
        locked = Order.objects.lock_for_callback(one)
        assert locked.waits_in((WAIT,)) and not locked.waits_in(("elsewhere",))
    Order.objects.complete([_row(one)], workflow_state="done")
    with transaction.atomic():
        assert not Order.objects.lock_for_callback(one).waits_in((WAIT, "done"))
