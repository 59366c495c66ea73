"""The coffee bar by keyboard alone (Tab, Shift+Tab, Enter, Space, Escape; no clicks), with what
a screen reader hears: ordering a drink, asking for more time, and a barista's Make, Complete and
Cancel, while live re-renders from other customers' orders go on under the keyboard's focus.

Headless Chromium against the live server and the real worker; axe-core at each state."""

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import orders as order_services
from orders.services.shop_config import shop_config_update
from stepfunctions.selectors import open_token_deadline
from tests.browser import (
    LIVE,
    PHONE,
    TABLET_PORTRAIT,
    assert_accessible,
    live,
    order_of,
    wait_until,
    waiting_for_a_barista,
    waiting_to_choose,
)
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration]

FOCUSED_KEY = "document.activeElement.dataset.focusKey || document.activeElement.id"


def tab_to(page, selector: str, *, most: int = 40) -> None:
    """Presses Tab until the focused element matches `selector` (none when it already does)."""
    for _ in range(most):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reached by {most} Tabs on {page.url}")


def focused(page) -> str:
    return page.evaluate(FOCUSED_KEY)


def announced(page, text: str) -> None:
    """The page's live region says `text` (a screen reader hears it once)."""
    wait_until(page, f"document.getElementById('announcer').textContent.includes({text!r})")


def rerendered(page, panel: str, change) -> None:
    """Makes `change` (another customer's order, say) and waits until the live panel `panel`
    has re-rendered because of it."""
    page.evaluate(f"document.querySelector('{panel}').firstElementChild.dataset.stale = '1'")
    change()
    wait_until(
        page,
        f"!document.querySelector('{panel}').firstElementChild.dataset.stale",
        timeout=LIVE,
    )


@pytest.fixture
def no_qr():
    shop_config_update(changes={"qr_code_required": False}, by="test")


def test_a_customer_orders_by_keyboard_and_hears_each_step(bar, no_qr):
    page = bar.customer("alice", size=PHONE)
    tab_to(page, "#start-order")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#drink-form")
    live(page)
    assert page.get_attribute("#order-steps li.current", "aria-current") == "step"
    # The drinks are one radio group with a name: Space chooses the first.
    assert page.inner_text("#drink-form legend") == "Your drink"
    tab_to(page, "input[name=drink]")
    page.keyboard.press("Space")
    first = page.evaluate("document.activeElement.value")
    assert page.is_checked(f"input[name=drink][value='{first}']")
    # A live re-render (the order's own event) keeps the focus and the choice.
    rerendered(
        page,
        "#order-panel",
        lambda: page.evaluate("document.dispatchEvent(new Event('live:refresh'))"),
    )
    assert page.evaluate("document.activeElement.value") == first
    assert page.is_checked(f"input[name=drink][value='{first}']")
    tab_to(page, "#submit-drink")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#order-status:text('Waiting for a barista')")
    order = order_of("alice")
    assert order.drink["drink"] == first
    live(page)
    tab_to(page, "#cancel-order")

    # The barista makes it, then hands it over: each step is told once, the focus stays.
    order = wait_for(
        lambda: Order.objects.filter(pk=order.pk).exclude(order_number=None).first(),
        message="the order's number",
    )
    order_services.order_make(order=order, barista="bob")
    announced(page, "Being made by bob.")
    assert focused(page) == "cancel-order"
    # Once: a re-render that changes nothing tells nothing again.
    page.evaluate(
        """window.__told = 0; new MutationObserver(() => window.__told++)
        .observe(document.getElementById('announcer'), {childList: true, characterData: true,
                                                         subtree: true})"""
    )
    rerendered(
        page,
        "#order-panel",
        lambda: page.evaluate("document.dispatchEvent(new Event('live:refresh'))"),
    )
    page.wait_for_timeout(300)  # past the region's 100 ms between clearing and telling
    assert page.evaluate("window.__told") == 0
    assert page.get_attribute("#order-steps li.current", "aria-current") == "step"
    assert page.inner_text("#order-steps li.current") == "Being made"
    order_services.order_complete(order=order, barista="bob")
    announced(page, f"Ready for pickup: order {order.order_number}.")
    # Cancel is gone with the wait: the focus goes to the panel's heading, not to <body>.
    wait_until(page, "document.activeElement.id === 'order-heading'", timeout=LIVE)
    assert_accessible(page, "ready, told by keyboard")


def test_more_time_to_choose_by_keyboard(bar, no_qr):
    # The countdown warns two minutes before the end (read out), and "I need more time" restarts
    # the wait. The page's clock is moved on; the server's wait is real.
    page = bar.customer("alice", size=PHONE)
    order_services.order_start(user_id="alice")
    order = waiting_to_choose("alice")
    deadline = open_token_deadline(execution_id=order.execution_id)
    page.clock.install()
    page.goto(f"{bar.url}/orders/{order.order_id}/")
    live(page)
    assert page.locator("#time-warning").is_hidden()
    page.clock.fast_forward((deadline - timezone.now()).total_seconds() * 1000 - 100_000)
    page.wait_for_selector("#time-warning", timeout=LIVE)
    announced(page, "Less than two minutes left to choose")
    assert_accessible(page, "the time warning")
    tab_to(page, "#more-time")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "More time to choose" in page.inner_text(".messages")
    order.refresh_from_db()
    assert order.more_time_taken == 1
    assert open_token_deadline(execution_id=order.execution_id) > deadline


def test_a_barista_makes_completes_and_cancels_by_keyboard(bar, no_qr):
    alice = waiting_for_a_barista("alice")
    page = bar.barista("bob", size=TABLET_PORTRAIT)
    live(page)
    make = f"[data-focus-key='make-{alice.pk}']"
    tab_to(page, make)
    # Another customer starts an order: the queue re-renders under the barista's focus.
    rerendered(page, "#barista-queue", lambda: order_services.order_start(user_id="carol"))
    assert page.inner_text("#choosing").startswith("1 customer")
    assert focused(page) == f"make-{alice.pk}"

    with page.expect_navigation():
        page.keyboard.press("Enter")
    # Back on the queue, the focus is on the card just made, and what was done is read out.
    wait_until(page, f"document.activeElement.dataset.focusKey === 'complete-{alice.pk}'")
    announced(page, f"You are making order {alice.order_number}.")
    live(page)
    carol = waiting_to_choose("carol")
    rerendered(
        page,
        "#barista-queue",
        lambda: order_services.order_submit(order=carol, drink={"drink": "Espresso"}),
    )
    page.wait_for_selector(f"[data-order='{carol.order_id}']")
    assert focused(page) == f"complete-{alice.pk}"
    assert_accessible(page, "making one order, another waiting")

    # Cancel carol's: the question takes the focus on its safe answer; Escape and "No" give it
    # back to "Cancel…".
    carol.refresh_from_db()
    cancel = f"[data-focus-key='cancel-{carol.pk}']"
    tab_to(page, cancel)
    page.keyboard.press("Enter")
    wait_until(page, f"document.activeElement.dataset.focusKey === 'keep-{carol.pk}'")
    group = page.locator(f"#order-{carol.pk} [role=group]")
    question = page.inner_text(f"#{group.get_attribute('aria-labelledby')}")
    assert question == f"Cancel order {carol.order_number}? Its customer is told."
    assert_accessible(page, "the cancel confirmation open")
    page.keyboard.press("Escape")
    assert focused(page) == f"cancel-{carol.pk}"
    assert page.locator(f"#order-{carol.pk} button[name=cancel]").is_hidden()
    page.keyboard.press("Space")
    wait_until(page, f"document.activeElement.dataset.focusKey === 'keep-{carol.pk}'")
    page.keyboard.press("Enter")
    assert focused(page) == f"cancel-{carol.pk}"
    page.keyboard.press("Enter")
    wait_until(page, f"document.activeElement.dataset.focusKey === 'keep-{carol.pk}'")
    page.keyboard.press("Tab")  # the destructive answer comes after the safe one
    assert focused(page) == f"yes-cancel-{carol.pk}"
    page.keyboard.press("Shift+Tab")
    assert focused(page) == f"keep-{carol.pk}"
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    announced(page, f"Order {carol.order_number} is cancelled")
    wait_for(lambda: Order.objects.get(pk=carol.pk).status == Order.Status.CANCELLED)
    page.wait_for_selector(f"[data-order='{carol.order_id}']", state="detached", timeout=LIVE)
    # Its card gone, the focus went to the card before it (gone live) or, gone before the page
    # came back, to the list's heading; never to <body>.
    assert focused(page) in (f"complete-{alice.pk}", "open-orders")

    # Complete alice's: her card leaves the queue; the focus stays in the queue.
    tab_to(page, f"[data-focus-key='complete-{alice.pk}']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    announced(page, f"Order {alice.order_number} is ready")
    page.wait_for_selector(f"[data-order='{alice.order_id}']", state="detached", timeout=LIVE)
    wait_until(page, "document.activeElement.id === 'open-orders'", timeout=LIVE)
    assert Order.objects.get(pk=alice.pk).status == Order.Status.COMPLETED
    assert_accessible(page, "the queue empty again")
