"""The barista queue on a tablet on the counter: headless chromium at 768x1024 and 1024x768
against the live server and the real worker; touch targets and layout measured."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import orders as order_services
from orders.services.shop_config import shop_config_update
from stepfunctions.services import execution_stop
from tests.browser import (
    LIVE,
    TABLET_LANDSCAPE,
    TABLET_PORTRAIT,
    assert_accessible,
    assert_no_horizontal_scroll,
    boxes,
    live,
    mark,
    not_reloaded,
    order_of,
    shot,
    waiting_for_a_barista,
)
from tests.conftest import wait_for
from tests.stepfunctions import factories

pytestmark = [pytest.mark.integration]

TOUCH = 44  # px: the smallest touch target


def _queued_rows(claims: list[str], ages: dict[str, int] | None = None) -> list[Order]:
    """Orders waiting for a barista as rows (the queue reads rows), claimed as given, waiting for
    `ages[claim]` seconds (0 when not given)."""
    now = timezone.now()
    ages = ages or {}
    return [
        Order.objects.create(
            order_id=f"queued-{index}",
            user_id=f"customer{index}",
            execution=factories.execution(),
            workflow_state=order_services.BARISTA_WAIT,
            order_number=index + 1,
            drink={"drink": "Latte", "icon": "☕", "modifiers": {"Milk": "Oat"}},
            barista=claim,
            submitted_at=now - timedelta(seconds=ages.get(claim, 0)),
        )
        for index, claim in enumerate(claims)
    ]


@pytest.mark.parametrize("size", [TABLET_PORTRAIT, TABLET_LANDSCAPE], ids=["portrait", "landscape"])
def test_the_queue_fits_a_tablet_with_touch_targets(bar, size):
    # Another barista's order amber (set back, its age still readable), the barista's own red.
    rows = _queued_rows(["", "carol", "bob", ""], ages={"carol": 200, "bob": 400})
    page = bar.barista("bob", size=size)
    live(page)
    assert page.locator("#nav-sidebar").count() == 0
    assert_no_horizontal_scroll(page)
    # The barista's own claim first, then the unclaimed ones oldest first, then others' claims.
    cards = page.locator("#queue [data-order]")
    order = [cards.nth(i).get_attribute("data-order") for i in range(cards.count())]
    assert order == [rows[2].order_id, rows[0].order_id, rows[3].order_id, rows[1].order_id]
    targets = boxes(
        page, "#barista-queue button, #barista-queue summary, #barista-queue a, #sound-toggle"
    )
    assert len(targets) >= 10
    for box in targets:
        assert box["height"] >= TOUCH and box["width"] >= TOUCH, box
        assert box["x"] + box["width"] <= size[0], (box, size)
    number_px = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.card-number')).fontSize)"
    )
    drink_px = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.card-drink')).fontSize)"
    )
    assert number_px >= 32 and drink_px >= 22
    # With its own claim, unclaimed orders and another barista's (set back, still readable).
    assert page.locator(".queue-card.claimed-other .age-amber").count() == 1
    assert page.locator(".queue-card.claimed-mine .age-red").count() == 1
    assert_accessible(page)
    if size == TABLET_PORTRAIT:
        shot(page, "barista-queue")


def test_cancel_asks_first_and_messages_are_plain(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    order = waiting_for_a_barista("alice")
    page = bar.barista("bob", size=TABLET_PORTRAIT)
    live(page)
    card = page.locator(f"[data-order='{order.order_id}']")
    assert card.locator("button[name=cancel]").is_hidden()
    card.locator("summary[data-action=cancel]").click()
    assert card.locator("button[name=cancel]").is_visible()
    assert f"Cancel order {order.order_number}?" in card.inner_text()
    assert_accessible(page, "the cancel confirmation open")
    card.locator("button[name=keep]").click()
    assert card.locator("button[name=cancel]").is_hidden()
    assert Order.objects.get(pk=order.pk).status == Order.Status.CREATED

    card.locator("button[name=make]").click()
    page.wait_for_selector(f"text=You are making order {order.order_number}.")
    card.locator("summary[data-action=cancel]").click()
    card.locator("button[name=cancel]").click()
    page.wait_for_selector(f"text=Order {order.order_number} is cancelled: its customer is told.")
    # The worker ends the order a moment later; the queue drops it live.
    page.wait_for_selector(f"[data-order='{order.order_id}']", state="detached", timeout=LIVE)
    wait_for(lambda: Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED)


def test_an_order_stopped_meanwhile_is_explained(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    order = waiting_for_a_barista("alice")
    page = bar.barista("bob", size=TABLET_LANDSCAPE)
    live(page)
    # The barista's screen will not catch up: its live refreshes (which would drop the card) are
    # held back, so the click on Complete below is the one a barista makes on a card just
    # stopped. Held back before Make: the page Make opens refreshes itself once its stream
    # connects, and that fetch, answered after the stop, raced the click.
    panel = page.get_attribute("[data-live-panel]", "data-live-panel")
    page.route(f"**{panel}*", lambda route: route.abort())
    page.locator(f"[data-order='{order.order_id}'] button[name=make]").click()
    page.wait_for_selector(f"[data-order='{order.order_id}'] button[name=complete]")
    live(page)  # its catch-up refresh was tried, and held back
    execution_stop(execution=order.execution, cause="stopped from the command line")
    with page.expect_navigation():
        page.locator(f"[data-order='{order.order_id}'] button[name=complete]").click()
    message = page.inner_text("ul.messagelist")
    assert f"Order {order.order_number} is no longer open" in message
    assert "Task Timed Out" not in message and "Provided task" not in message
    assert page.locator(f"[data-order='{order.order_id}']").count() == 0
    assert_accessible(page, "a refused action's message")


def test_a_new_order_is_flagged_live(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    page = bar.barista("bob", size=TABLET_PORTRAIT)
    live(page)
    mark(page)
    page.click("#sound-toggle")
    assert page.inner_text("#sound-toggle") == "Sound: on"
    order = waiting_for_a_barista("alice")
    card = page.locator(f"[data-order='{order.order_id}'].arrived")
    card.wait_for(timeout=LIVE)
    assert page.inner_text("#new-order-cue") == f"New order {order.order_number}"
    assert "Oat" in card.inner_text() and "Vanilla" in card.inner_text()
    not_reloaded(page)
    assert_accessible(page, "a new order flagged")
    page.reload()
    assert page.inner_text("#sound-toggle") == "Sound: on"  # the choice is kept on the tablet
    assert page.locator(".arrived").count() == 0  # nothing is new after a reload
    assert order_of("alice").barista == ""
