"""What the manager's report reads is recorded as orders go through the real workflow (inline
stages): when Make was pressed (and put back), when an order ended, who asked to cancel it and
why the shop refused it; and the report counts those orders as the day's outcomes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from orders.models import Order
from orders.reports import DayRange, report_compute
from orders.services import orders as order_services
from orders.services.shop_config import shop_config_update, shop_open_set

LATTE = {"drink": "Latte", "modifiers": {"Milk": "Oat", "Syrup": "Vanilla"}}
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(inline_stages):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def _order(user_id: str) -> Order:
    return Order.objects.get(execution=order_services.order_start(user_id=user_id))


def _later(clock, minutes: int) -> datetime:
    clock.shift(timedelta(minutes=minutes))
    return timezone.now()


def test_make_put_back_make_and_complete_are_timed(clock):
    order = _order("alice")
    order_services.order_submit(order=order, drink=LATTE)
    order_services.order_make(order=order, barista="bob")
    order.refresh_from_db()
    assert order.made_at == NOON and order.ended_at is None
    _later(clock, 1)
    order_services.order_unmake(order=order, barista="bob")
    order.refresh_from_db()
    assert order.made_at is None
    made = _later(clock, 2)
    order_services.order_make(order=order, barista="carol")
    ended = _later(clock, 4)
    order_services.order_complete(order=order, barista="carol")
    order.refresh_from_db()
    assert (order.status, order.made_at, order.ended_at) == (Order.Status.COMPLETED, made, ended)
    report = report_compute(days=DayRange(NOON.date(), NOON.date()))
    assert report.totals["completed"] == 1
    assert report.baristas["carol"].median == 240 and report.ready.median == 420


def test_who_cancelled_and_why_the_shop_refused(clock):
    mine = _order("alice")
    order_services.order_cancel(order=mine, by="alice")
    theirs = _order("dave")
    order_services.order_submit(order=theirs, drink=LATTE)
    ended = _later(clock, 3)
    order_services.order_cancel(order=theirs, by="bob")
    shop_config_update(changes={"max_orders_in_queue": 1}, by="test")
    _order("erin")  # takes the one place
    full = _order("frank")
    shop_open_set(store_open=False, by="bob")
    closed = _order("gina")
    for order in (mine, theirs, full, closed):
        order.refresh_from_db()
    assert (mine.reason, mine.cancelled_by) == ("Customer cancelled", "alice")
    assert (theirs.reason, theirs.cancelled_by, theirs.ended_at) == (
        "Order cancelled",
        "bob",
        ended,
    )
    assert (full.reason, full.refused_because) == ("Shop unavailable", "full")
    assert (closed.reason, closed.refused_because) == ("Shop unavailable", "closed")
    assert closed.ended_at == ended
    totals = report_compute(days=DayRange(NOON.date(), NOON.date())).totals
    assert {k: n for k, n in totals.items() if n} == {
        "cancelled_customer": 1,
        "cancelled_barista": 1,
        "refused_full": 1,
        "refused_closed": 1,
        "open": 1,  # erin's, still choosing
    }
