"""The coffee bar's rules, run through the workflow with inline stages."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from orders.errors import DailyLimitReached, OrderClaimed, OrderNotWaiting, QRCodeInvalid
from orders.models import Drink, Order, QRCode
from orders.services import orders as order_services
from orders.services.barista import age_colour, queue_open
from orders.services.menu import drink_validate
from orders.services.qr_codes import qr_code_current, qr_code_spend
from orders.services.shop_config import shop_config_update, shop_open_set
from stepfunctions.errors import ValidationException
from stepfunctions.models import Event

CUSTOMER_WAIT = order_services.CUSTOMER_WAIT
BARISTA_WAIT = order_services.BARISTA_WAIT
LATTE = {"drink": "Latte", "modifiers": {"Milk": "Oat", "Syrup": "Vanilla"}}


@pytest.fixture
def no_qr(inline_stages):
    shop_config_update(changes={"qr_code_required": False}, by="test")


def _order(user_id: str = "alice", **kwargs) -> Order:
    execution = order_services.order_start(user_id=user_id, **kwargs)
    return Order.objects.get(execution=execution)


def _detail_types(order: Order) -> list[str]:
    return list(
        Event.objects.filter(detail__orderId=order.order_id)
        .order_by("time", "detail_type")
        .values_list("detail_type", flat=True)
    )


def test_the_menu_is_there_after_migrate(db):
    names = list(Drink.objects.values_list("name", flat=True))
    assert names == [
        "Espresso",
        "Cappuccino",
        "Latte",
        "Flat White",
        "Americano",
        "Coffee of the day",
    ]
    assert Drink.objects.get(name="Latte").modifiers.get(name="Milk").options == [
        "Regular",
        "Oat",
        "Soy",
    ]


def test_a_drink_is_checked_against_the_menu(db):
    assert drink_validate(drink=LATTE) == {**LATTE, "icon": "☕"}
    assert drink_validate(drink={"drink": "Espresso"})["modifiers"] == {"Shots": "Single"}
    with pytest.raises(ValidationException, match="not a Milk option"):
        drink_validate(drink={"drink": "Latte", "modifiers": {"Milk": "Whisky"}})
    with pytest.raises(ValidationException, match="no modifier Sprinkles"):
        drink_validate(drink={"drink": "Latte", "modifiers": {"Sprinkles": "Yes"}})
    with pytest.raises(ValidationException, match="not on the menu"):
        drink_validate(drink={"drink": "Mocha"})
    Drink.objects.filter(name="Latte").update(available=False)
    with pytest.raises(ValidationException, match="not on the menu"):
        drink_validate(drink=LATTE)


def test_an_order_from_start_to_pickup(no_qr):
    order = _order()
    assert (order.status, order.workflow_state) == (Order.Status.CREATED, CUSTOMER_WAIT)

    with pytest.raises(ValidationException):
        order_services.order_submit(
            order=order, drink={"drink": "Latte", "modifiers": {"Milk": "Whisky"}}
        )
    order.refresh_from_db()
    assert (order.workflow_state, order.drink) == (CUSTOMER_WAIT, None)

    order_services.order_submit(order=order, drink=LATTE)
    order.refresh_from_db()
    assert order.workflow_state == BARISTA_WAIT and order.order_number
    assert order.drink["modifiers"] == LATTE["modifiers"]
    assert list(queue_open()) == [order]

    order_services.order_make(order=order, barista="bob")
    order_services.order_make(order=order, barista="bob")  # again: nothing more
    with pytest.raises(OrderClaimed, match="being made by bob"):
        order_services.order_make(order=order, barista="carol")
    with pytest.raises(OrderClaimed):
        order_services.order_complete(order=order, barista="carol")
    with pytest.raises(OrderClaimed):
        order_services.order_unmake(order=order, barista="carol")
    order_services.order_unmake(order=order, barista="bob")
    order_services.order_make(order=order, barista="carol")
    order_services.order_complete(order=order, barista="carol")

    order.refresh_from_db()
    assert (order.status, order.barista) == (Order.Status.COMPLETED, "carol")
    assert _detail_types(order) == [
        "OrderProcessor.WorkflowStarted",
        "OrderProcessor.WaitingCompletion",
        "OrderManager.MakeOrder",
        "OrderManager.MakeOrder",
        "OrderManager.MakeOrder",
        "OrderManager.OrderCompleted",
        "OrderProcessor.orderFinished",
    ]
    with pytest.raises(OrderNotWaiting):
        order_services.order_make(order=order, barista="bob")


def test_a_customer_cancelling_before_submitting_gets_no_number(no_qr):
    order = _order()
    order_services.order_cancel(order=order, by="alice")
    order.refresh_from_db()
    assert (order.status, order.reason, order.order_number) == (
        Order.Status.CANCELLED,
        "Customer cancelled",
        None,
    )


def test_cancelling_while_the_barista_has_it(no_qr):
    order = _order()
    order_services.order_submit(order=order, drink=LATTE)
    order_services.order_cancel(order=order, by="alice")
    order.refresh_from_db()
    assert (order.status, order.reason) == (Order.Status.CANCELLED, "Order cancelled")
    assert order.order_number


def test_one_order_per_customer_per_day_unless_cancelled(no_qr):
    shop_config_update(changes={"max_orders_per_user": 1}, by="test")
    first = _order()
    with pytest.raises(DailyLimitReached):
        _order()
    assert Order.objects.filter(user_id="alice").count() == 1
    order_services.order_cancel(order=first, by="alice")
    _order()
    _order("bob")
    shop_config_update(changes={"max_orders_per_user": 3}, by="test")
    _order()


def test_the_shop_closed_refuses_in_the_workflow(no_qr):
    shop_open_set(store_open=False, by="bob")
    order = _order()
    assert (order.status, order.reason) == (Order.Status.CANCELLED, "Shop unavailable")
    assert order.execution.output["GetStore"]["storeOpen"] is False


def test_a_config_change_emits_config_changed(inline_stages):
    shop_open_set(store_open=False, by="bob")
    event = Event.objects.get(detail_type="ConfigService.ConfigChanged")
    assert event.detail["storeOpen"] is False and event.detail["changedBy"] == "bob"


def test_an_order_needs_a_live_qr_code_while_the_shop_requires_one(inline_stages):
    with pytest.raises(QRCodeInvalid, match="Scan the QR code"):
        _order()
    shop_config_update(changes={"drinks_per_barcode": 1}, by="test")
    code = qr_code_current()
    assert qr_code_current() == code and code.remaining == 1
    order = _order(qr_code=code.code)
    assert order.workflow_state == CUSTOMER_WAIT
    assert Event.objects.filter(detail_type="Validator.NewOrder", detail__drinksLeft=0).exists()
    with pytest.raises(QRCodeInvalid, match="used for all its drinks"):
        _order("bob", qr_code=code.code)
    with pytest.raises(QRCodeInvalid, match="not one of ours"):
        _order("bob", qr_code="nope")
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        fresh = qr_code_current()
        assert fresh != code
        QRCode.objects.filter(pk=code.pk).update(remaining=5)
        with pytest.raises(QRCodeInvalid, match="expired"):
            _order("bob", qr_code=code.code)
    # A refused start leaves no order and spends nothing.
    assert Order.objects.filter(user_id="bob").count() == 0


def test_concurrent_scans_never_spend_below_zero(transactional_db):
    code = qr_code_current()
    QRCode.objects.filter(pk=code.pk).update(remaining=3)
    results: list[str] = []

    def scan() -> None:
        try:
            qr_code_spend(code=code.code)
            results.append("spent")
        except QRCodeInvalid:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("spent") == 3 and results.count("refused") == 9
    assert QRCode.objects.get(pk=code.pk).remaining == 0


@pytest.mark.parametrize(
    ("seconds", "colour"), [(0, "green"), (119, "green"), (120, "amber"), (300, "red")]
)
def test_age_colours(seconds, colour):
    assert age_colour(seconds=seconds) == colour


def test_add_barista_gives_exactly_the_baristas_permissions(db):
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("add-barista", "--username", "bob", "--password", "pw-bob-123")
    bob = User.objects.get(username="bob")
    assert bob.is_staff and not bob.is_superuser
    assert bob.get_all_permissions() == {
        "orders.act_as_barista",
        "orders.view_display_board",
        "orders.view_order",
        "stepfunctions.view_execution",
    }
