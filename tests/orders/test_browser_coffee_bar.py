"""The coffee bar in headless Chromium against the real web server (pytest-django's live
server), the real Celery worker on real Redis, and beat's sweep sent like beat sends it.

Pages must change without a reload: each page gets a marker in its window before the change, and
the marker must still be there after it.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from orders.models import Order
from orders.services import orders as order_services
from orders.services.shop_config import shop_config_update
from stepfunctions.models import Execution
from stepfunctions.tasks import expire_tokens
from tests.browser import (
    LIVE,
    assert_accessible,
    choose_latte,
    live,
    mark,
    not_reloaded,
    order_of,
    shot,
    wait_until,
)
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration]


def test_a_customer_orders_and_a_barista_makes_it(bar, fresh_qr_window):
    display = bar.barista("display")
    display.goto(f"{bar.url}/display/")
    live(display)
    link = display.get_attribute("#qr-link", "href")
    assert "10 drinks left" in display.inner_text("#display-panel")
    # The countdown follows the server's clock (moved here), not the browser's: at most 5:00.
    minutes, seconds = display.inner_text("#display-panel [data-deadline]").split(":")
    assert 0 < int(minutes) * 60 + int(seconds) <= 300
    assert_accessible(display, "the display board with its QR code")

    customer = bar.customer("alice")
    customer.goto(link)
    assert_accessible(customer, "the QR code's page")
    customer.click("#start-order")
    customer.wait_for_url(re.compile(r"/orders/\w+/$"))
    live(customer)
    # The display's drinks count follows the scan live.
    display.wait_for_selector("#drinks-left:text('9')", timeout=LIVE)
    choose_latte(customer)
    customer.wait_for_selector("#order-status:text('Waiting for a barista')")
    order = order_of("alice")
    assert order.drink == {
        "drink": "Latte",
        "icon": "☕",
        "modifiers": {"Milk": "Oat", "Syrup": "None"},
    }
    live(customer)
    mark(customer)
    mark(display)
    display.wait_for_selector(f"#upcoming li:text('{order.order_number}')", timeout=LIVE)

    barista = bar.barista("bob")
    row = barista.locator(f"[data-order='{order.order_id}']")
    assert "Oat" in row.inner_text() and row.locator(".age-green").count() == 1
    row.locator("button[name=make]").click()
    barista.wait_for_selector(f"[data-order='{order.order_id}'] button[name=complete]")
    customer.wait_for_selector("#order-status:text('Being made by bob')", timeout=LIVE)
    assert_accessible(customer, "being made")
    assert_accessible(barista, "the barista's own claim")

    barista.locator(f"[data-order='{order.order_id}'] button[name=complete]").click()
    customer.wait_for_selector("#order-status:text('Ready for pickup')", timeout=LIVE)
    display.wait_for_selector(f"#ready li:text('{order.order_number}')", timeout=LIVE)
    assert_accessible(customer, "ready for pickup")
    assert_accessible(display, "the display board with a drink ready")
    not_reloaded(customer)
    not_reloaded(display)
    assert Order.objects.get(pk=order.pk).status == Order.Status.COMPLETED
    shot(customer, "customer-order")

    barista.goto(f"{bar.url}/admin/stepfunctions/execution/{order.execution_id}/change/")
    barista.wait_for_selector("#execution-diagram")
    barista.locator("#execution-diagram").scroll_into_view_if_needed()
    barista.evaluate("document.querySelector('#execution-diagram').scrollIntoView()")
    assert barista.locator("g.state.visited").count() >= 6
    shot(barista, "execution-diagram")


def test_the_shop_closed(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    barista = bar.barista()
    display = bar.barista("display")
    display.goto(f"{bar.url}/display/")
    live(display)
    mark(display)
    barista.click("#shop-toggle")
    barista.wait_for_selector("#shop-state:text('closed')")
    display.wait_for_selector("#board-closed:has-text('Not taking orders')", timeout=LIVE)
    not_reloaded(display)
    assert_accessible(barista, "the queue with the shop closed")

    customer = bar.customer()
    assert "The shop is closed" in customer.inner_text("main")
    # Even a start that gets past the page is refused by the workflow, and said so plainly.
    shop_config_update(changes={"store_open": True}, by="test")
    customer.reload()
    shop_config_update(changes={"store_open": False}, by="test")
    customer.click("#start-order")
    customer.wait_for_selector("#order-status:text('The shop is closed right now')")
    assert_accessible(customer, "refused: the shop closed")


def test_the_shop_at_capacity(bar):
    shop_config_update(changes={"qr_code_required": False, "max_orders_in_queue": 1}, by="test")
    order_services.order_start(user_id="carol")
    wait_for(lambda: order_of("carol").workflow_state == order_services.CUSTOMER_WAIT)
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#order-status:text('The shop is at capacity')")
    assert_accessible(customer, "refused: the shop full")


def test_an_invalid_modifier_posted_by_hand(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#drink-form")
    action = customer.get_attribute("#drink-form", "action")
    token = customer.get_attribute("#drink-form input[name=csrfmiddlewaretoken]", "value")
    latte = customer.get_attribute("input[name=drink][value=Latte]", "value")
    milk = customer.locator("#drink-form select").nth(2).get_attribute("name")  # Latte's Milk
    assert milk.endswith("-Milk")
    response = customer.request.post(
        f"{bar.url}{action}",
        form={"csrfmiddlewaretoken": token, "drink": latte, milk: "Whisky"},
        headers={"Referer": customer.url},
    )
    assert response.ok and "Sorry, Whisky is not available right now" in response.text()
    customer.reload()
    customer.wait_for_selector("#drink-form")  # the wait goes on
    order = order_of("alice")
    assert (order.workflow_state, order.drink) == (order_services.CUSTOMER_WAIT, None)


def test_a_customer_cancels_at_either_wait(bar):
    shop_config_update(changes={"qr_code_required": False, "max_orders_per_user": 2}, by="test")
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#drink-form")
    customer.click("#cancel-order")
    customer.wait_for_selector("#order-status:text('Cancelled before it was made')")
    first = order_of("alice")
    assert (first.reason, first.order_number) == ("Customer cancelled", None)

    customer.goto(f"{bar.url}/")
    customer.click("#start-order")
    choose_latte(customer)
    customer.wait_for_selector("#order-status:text('Waiting for a barista')")
    customer.click("#cancel-order")
    customer.wait_for_selector("#order-status:text('Cancelled.')")
    second = order_of("alice")
    assert second.reason == "Order cancelled" and second.order_number
    assert second.execution.output["cause"] == "Order cancelled"
    customer.goto(f"{bar.url}/")
    assert customer.locator("#past-orders tbody tr").count() == 2


def test_a_customer_times_out_and_is_told_why(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#drink-form")
    live(customer)
    mark(customer)
    with time_machine.travel(timezone.now() + timedelta(seconds=901), tick=True):
        expire_tokens.delay()
        wait_for(lambda: Execution.objects.filter(stage=Execution.Stage.DONE).exists())
    customer.wait_for_selector("#order-status:text('Timed out')", timeout=LIVE)
    not_reloaded(customer)
    assert_accessible(customer, "timed out")


def test_a_customer_cannot_open_another_customers_order(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    order_services.order_start(user_id="carol")
    order = order_of("carol")
    customer = bar.customer()
    response = customer.goto(f"{bar.url}/orders/{order.order_id}/")
    assert response.status == 404
    assert customer.request.get(f"{bar.url}/orders/{order.order_id}/panel").status == 404


def test_a_customer_without_the_baristas_group_cannot_use_the_admin_actions(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    order_services.order_start(user_id="carol")
    order = order_of("carol")
    wait_for(lambda: Order.objects.get(pk=order.pk).workflow_state == order_services.CUSTOMER_WAIT)
    order_services.order_submit(order=order, drink={"drink": "Espresso"})
    customer = bar.customer()
    token = customer.context.cookies()[0]["value"] if customer.context.cookies() else ""
    for action in ("make", "complete", "cancel"):
        response = customer.request.post(
            f"{bar.url}/admin/orders/queuedorder/{order.pk}/{action}/",
            form={"csrfmiddlewaretoken": token},
            max_redirects=0,
        )
        assert response.status == 302 and "/admin/login/" in response.headers["location"]
    customer.goto(f"{bar.url}/admin/orders/queuedorder/")
    assert "/admin/login/" in customer.url
    staff = User.objects.get(username="alice")
    staff.is_staff = True
    staff.save()
    customer.goto(f"{bar.url}/admin/login/")
    customer.goto(f"{bar.url}/admin/orders/queuedorder/")
    assert "403" in customer.title() or customer.locator("#barista-queue").count() == 0
    order.refresh_from_db()
    assert (order.status, order.barista) == (Order.Status.CREATED, "")


def test_a_live_refresh_keeps_the_drink_being_chosen(bar):
    # The panel re-renders on every event and stream (re)connect; a half-made choice survives it.
    shop_config_update(changes={"qr_code_required": False}, by="test")
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#drink-form")
    live(customer)
    customer.check("input[name=drink][value=Latte]")
    customer.locator(".drink-choice.chosen select").first.select_option("Oat")
    before = customer.inner_html("#drink-form")
    customer.evaluate("document.dispatchEvent(new Event('live:refresh'))")
    wait_until(customer, f"document.querySelector('#drink-form').innerHTML !== {before!r}")
    assert customer.is_checked("input[name=drink][value=Latte]")
    assert customer.locator(".drink-choice.chosen select").first.input_value() == "Oat"
