"""The customer's pages on a phone (375x812) in headless chromium, against the live server and
the real worker: nothing wider than the screen, and every end of an order told in plain words."""

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services.shop_config import shop_config_update
from stepfunctions.services import execution_stop
from tests.browser import (
    LIVE,
    PHONE,
    assert_accessible,
    assert_inside_viewport,
    assert_no_horizontal_scroll,
    choose_latte,
    live,
    order_of,
    shot,
)

pytestmark = [pytest.mark.integration]


def _history(user_id: str) -> None:
    """A day of orders in every final state, as rows."""
    ends = [
        (Order.Status.COMPLETED, "", "bob", 7),
        (Order.Status.COMPLETED, "", "", 8),  # finished from the command line
        (Order.Status.CANCELLED, "Customer timedout", "", None),
        (Order.Status.CANCELLED, "Stopped by the shop", "", None),
        (Order.Status.CANCELLED, "Shop unavailable", "", None),
    ]
    for index, (status, reason, barista, number) in enumerate(ends):
        Order.objects.create(
            order_id=f"{user_id}-{index}",
            user_id=user_id,
            status=status,
            reason=reason,
            barista=barista,
            order_number=number,
            drink={"drink": "Flat White", "icon": "☕", "modifiers": {}} if number else None,
            created_at=timezone.now(),
        )


def _choosing(bar):
    """Alice's phone on a new order's page, waiting for her drink, its live stream connected."""
    shop_config_update(changes={"qr_code_required": False}, by="test")
    page = bar.customer("alice", size=PHONE)
    page.click("#start-order")
    page.wait_for_selector("#drink-form")
    live(page)
    return page


def _header_on_one_line(page) -> None:
    brand = page.locator(".brand").bounding_box()
    for index in range(page.locator(".bar-header nav > *").count()):
        item = page.locator(".bar-header nav > *").nth(index).bounding_box()
        assert item["height"] <= brand["height"] * 1.5, ("the header wraps", item, brand)
    assert page.locator(".bar-header").bounding_box()["height"] <= 64


def test_the_visitors_pages_fit_a_phone(bar):
    page = bar.page(PHONE)
    for path in ("/accounts/login/", "/accounts/signup/"):
        page.goto(f"{bar.url}{path}")
        assert_no_horizontal_scroll(page)
        _header_on_one_line(page)
        assert_inside_viewport(page, "main input:not([type=hidden]), main button")
        assert_accessible(page)
    help_text = page.inner_text("main")
    assert "The name the baristas will see" in help_text
    assert "150 characters or fewer" not in help_text and "Required." not in help_text
    page.fill("input[name=username]", "dora")
    page.fill("input[name=password1]", "a coffee a day")
    page.fill("input[name=password2]", "a coffee a day")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{bar.url}/"
    _header_on_one_line(page)
    assert_no_horizontal_scroll(page)
    assert_accessible(page)


def test_the_order_history_fits_and_says_how_each_order_ended(bar):
    _history("alice")
    page = bar.customer("alice", size=PHONE)
    assert_no_horizontal_scroll(page)
    _header_on_one_line(page)
    assert_inside_viewport(page, "#past-orders td")
    rows = page.locator("#past-orders tbody tr .summary").all_inner_texts()
    assert sorted(rows) == sorted(
        [
            "Made by bob",
            "Completed",
            "Timed out: no drink was chosen in time",
            "Stopped by the shop",
            "Not started: the shop was closed or full",
        ]
    )
    assert "CANCELLED" not in page.inner_text("main")
    assert_accessible(page)
    shot(page, "customer-phone-history")


def test_an_order_on_a_phone_from_start_to_cancel(bar):
    page = _choosing(bar)
    assert_no_horizontal_scroll(page)
    assert_inside_viewport(page, "#order-steps li, #drink-form fieldset, #submit-drink")
    assert page.locator(".deadline").is_visible()  # the customer's own wait has a countdown
    page.check("input[name=drink][value=Latte]")
    assert_accessible(page, "choosing a drink")
    shot(page, "customer-phone-order")
    choose_latte(page)
    page.wait_for_selector("#order-status:text('Waiting for a barista')")
    assert_accessible(page, "waiting for a barista")
    # The barista's deadline is not the customer's to worry about.
    assert page.locator(".deadline, [data-deadline]").count() == 0
    page.click("#cancel-order")
    page.wait_for_selector("#order-status:text('Cancelled.')")
    steps = page.locator("#order-steps li")
    assert steps.all_inner_texts() == ["Choose", "Cancelled"]
    assert steps.nth(0).get_attribute("class") == "done"
    assert steps.nth(1).get_attribute("class") == "ended"
    assert page.locator("#order-steps li.current").count() == 0
    assert_no_horizontal_scroll(page)
    assert_accessible(page, "cancelled")


def test_a_second_coffee_the_same_day(bar):
    # The default daily limit fits an event: a customer comes back for another.
    shop_config_update(changes={"qr_code_required": False}, by="test")
    page = bar.customer("alice", size=PHONE)
    for _ in range(2):
        page.goto(f"{bar.url}/")
        page.click("#start-order")
        page.wait_for_selector("#drink-form")
    assert Order.objects.filter(user_id="alice").count() == 2


def test_an_order_stopped_by_the_shop_is_explained(bar):
    # A phone that has not heard of the stop yet (its panel re-read held back: the stop reaches
    # open pages live, test_browser_order_endings) still has the drink form to submit.
    page = _choosing(bar)
    order = order_of("alice")
    panel = page.get_attribute("[data-live-panel]", "data-live-panel")
    page.route(f"**{panel}*", lambda route: route.abort())
    execution_stop(execution=order.execution, cause="stopped from the command line")
    choose_latte(page)
    message = page.inner_text(".messages")
    assert "Your drink was not added: this order is no longer waiting." in message
    assert "Task Timed Out" not in message and "Provided task" not in message
    assert "Choose your drink" not in page.inner_text("#order-status")
    assert page.locator("#drink-form, #cancel-order").count() == 0
    assert page.locator("#order-steps li.ended").count() == 1


def test_every_final_state_on_the_order_page(bar):
    # Whatever ended the order, the page says so in words, live, and the bar shows the end.
    page = _choosing(bar)
    order = order_of("alice")
    for reason, words in [
        ("Stopped by the shop", "Stopped by the shop"),
        ("The order failed: States.TaskFailed", "The order failed: States.TaskFailed"),
        ("Removed", "Removed"),
        ("Barista timedout", "Timed out: the baristas could not make it in time. Sorry!"),
    ]:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED, reason=reason)
        page.evaluate("document.dispatchEvent(new Event('live:refresh'))")
        page.wait_for_selector(f"#order-status:text({words!r})", timeout=LIVE)
        assert page.locator("#order-steps li.ended").count() == 1
        assert page.locator("#drink-form, #cancel-order, .deadline").count() == 0
        assert_accessible(page, reason)
