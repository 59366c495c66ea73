"""The coffee bar in headless Chromium against the real web server (pytest-django's live
server), the real Celery worker on real Redis, and beat's sweep sent like beat sends it.

Pages must change without a reload: each page gets a marker in its window before the change, and
the marker must still be there after it.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from orders.models import Order
from orders.services import orders as order_services
from orders.services.barista import barista_grant
from orders.services.shop_config import shop_config_update
from stepfunctions.models import Execution
from stepfunctions.tasks import expire_tokens
from tests.conftest import wait_for

# Playwright's sync API runs an event loop in this thread; the ORM calls here are still sync.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE = 5_000  # ms: a live change must show well within this (it takes well under a second)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def bar(live_server, live_stages, browser):
    """The coffee bar running: web server, worker, the menu, a customer and a barista."""
    return Bar(live_server.url, browser)


class Bar:
    def __init__(self, url: str, browser) -> None:
        self.url = url
        self.browser = browser
        self.contexts = []

    def page(self):
        context = self.browser.new_context(viewport={"width": 1200, "height": 800})
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def customer(self, username: str = "alice"):
        User.objects.create_user(username, password=f"pw-{username}-123")
        page = self.page()
        page.goto(f"{self.url}/accounts/login/")
        self._login(page, username)
        return page

    def barista(self, username: str = "bob"):
        barista_grant(user=User.objects.create_user(username, password=f"pw-{username}-123"))
        page = self.page()
        page.goto(f"{self.url}/admin/login/?next=/admin/orders/queuedorder/")
        self._login(page, username)
        page.wait_for_selector("#barista-queue")
        return page

    @staticmethod
    def _login(page, username: str) -> None:
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}-123")
        with page.expect_navigation():
            page.click("[type=submit]")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(autouse=True)
def _close_pages(request):
    yield
    bar = request.node.funcargs.get("bar")
    if bar is not None:
        bar.close()


def _mark(page) -> None:
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def _live(page) -> None:
    """Waits until the page's event stream is connected."""
    page.wait_for_function("document.body.dataset.live === 'connected'")


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _order_of(username: str) -> Order:
    return wait_for(
        lambda: Order.objects.filter(user_id=username).order_by("-created_at").first(),
        message=f"{username}'s order",
    )


def _choose_latte(page) -> None:
    page.wait_for_selector("#drink-form")
    page.check("input[name=drink][value=Latte]")
    page.locator(".drink-choice.chosen select").first.select_option("Oat")
    page.click("#submit-drink")


@pytest.fixture
def fresh_qr_window():
    """Starts the test just after a QR code window opens, so the code cannot expire mid-test."""
    now = timezone.now()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
    with time_machine.travel(start + timedelta(seconds=1), tick=True):
        yield


def test_a_customer_orders_and_a_barista_makes_it(bar, fresh_qr_window):
    display = bar.barista("display")
    display.goto(f"{bar.url}/display/")
    _live(display)
    link = display.get_attribute("#qr-link", "href")
    assert "10 drinks left" in display.inner_text("#display-panel")
    # The countdown follows the server's clock (moved here), not the browser's: at most 5:00.
    minutes, seconds = display.inner_text("#display-panel [data-deadline]").split(":")
    assert 0 < int(minutes) * 60 + int(seconds) <= 300

    customer = bar.customer("alice")
    customer.goto(link)
    customer.click("#start-order")
    customer.wait_for_url(re.compile(r"/orders/\w+/$"))
    _live(customer)
    # The display's drinks count follows the scan live.
    display.wait_for_selector("#drinks-left:text('9')", timeout=LIVE)
    _choose_latte(customer)
    customer.wait_for_selector("#order-status:text('Waiting for a barista')")
    order = _order_of("alice")
    assert order.drink == {
        "drink": "Latte",
        "icon": "☕",
        "modifiers": {"Milk": "Oat", "Syrup": "None"},
    }
    _live(customer)
    _mark(customer)
    _mark(display)
    display.wait_for_selector(f"#upcoming li:text('{order.order_number}')", timeout=LIVE)

    barista = bar.barista("bob")
    row = barista.locator(f"tr[data-order='{order.order_id}']")
    assert "Oat" in row.inner_text() and row.locator(".age-green").count() == 1
    row.locator("button[name=make]").click()
    barista.wait_for_selector(f"tr[data-order='{order.order_id}'] button[name=complete]")
    customer.wait_for_selector("#order-status:text('Being made by bob')", timeout=LIVE)
    _shot(barista, "barista-queue")

    barista.locator(f"tr[data-order='{order.order_id}'] button[name=complete]").click()
    customer.wait_for_selector("#order-status:text('Ready for pickup')", timeout=LIVE)
    display.wait_for_selector(f"#ready li:text('{order.order_number}')", timeout=LIVE)
    _not_reloaded(customer)
    _not_reloaded(display)
    assert Order.objects.get(pk=order.pk).status == Order.Status.COMPLETED
    _shot(customer, "customer-order")
    _shot(display, "display-board")

    barista.goto(f"{bar.url}/admin/stepfunctions/execution/{order.execution_id}/change/")
    barista.wait_for_selector("#execution-diagram")
    barista.locator("#execution-diagram").scroll_into_view_if_needed()
    barista.evaluate("document.querySelector('#execution-diagram').scrollIntoView()")
    assert barista.locator("g.state.visited").count() >= 6
    _shot(barista, "execution-diagram")


def test_the_shop_closed(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    barista = bar.barista()
    display = bar.barista("display")
    display.goto(f"{bar.url}/display/")
    _live(display)
    _mark(display)
    barista.click("#shop-toggle")
    barista.wait_for_selector("#shop-state:text('closed')")
    display.wait_for_selector("#board-closed:has-text('Not taking orders')", timeout=LIVE)
    _not_reloaded(display)
    _shot(display, "display-board-closed")

    customer = bar.customer()
    assert "The shop is closed" in customer.inner_text("main")
    # Even a start that gets past the page is refused by the workflow, and said so plainly.
    shop_config_update(changes={"store_open": True}, by="test")
    customer.reload()
    shop_config_update(changes={"store_open": False}, by="test")
    customer.click("#start-order")
    customer.wait_for_selector("#order-status:text('The shop is closed right now')")


def test_the_shop_at_capacity(bar):
    shop_config_update(changes={"qr_code_required": False, "max_orders_in_queue": 1}, by="test")
    order_services.order_start(user_id="carol")
    wait_for(lambda: _order_of("carol").workflow_state == order_services.CUSTOMER_WAIT)
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#order-status:text('The shop is at capacity')")


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
    assert response.ok and "Whisky is not one of the available choices" in response.text()
    customer.reload()
    customer.wait_for_selector("#drink-form")  # the wait goes on
    order = _order_of("alice")
    assert (order.workflow_state, order.drink) == (order_services.CUSTOMER_WAIT, None)


def test_a_customer_cancels_at_either_wait(bar):
    shop_config_update(changes={"qr_code_required": False, "max_orders_per_user": 2}, by="test")
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#drink-form")
    customer.click("#cancel-order")
    customer.wait_for_selector("#order-status:text('Cancelled before it was made')")
    first = _order_of("alice")
    assert (first.reason, first.order_number) == ("Customer cancelled", None)

    customer.goto(f"{bar.url}/")
    customer.click("#start-order")
    _choose_latte(customer)
    customer.wait_for_selector("#order-status:text('Waiting for a barista')")
    customer.click("#cancel-order")
    customer.wait_for_selector("#order-status:text('Cancelled.')")
    second = _order_of("alice")
    assert second.reason == "Order cancelled" and second.order_number
    assert second.execution.output["cause"] == "Order cancelled"
    customer.goto(f"{bar.url}/")
    assert customer.locator("#past-orders tbody tr").count() == 2


def test_a_customer_times_out_and_is_told_why(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    customer = bar.customer()
    customer.click("#start-order")
    customer.wait_for_selector("#drink-form")
    _live(customer)
    _mark(customer)
    with time_machine.travel(timezone.now() + timedelta(seconds=901), tick=True):
        expire_tokens.delay()
        wait_for(lambda: Execution.objects.filter(stage=Execution.Stage.DONE).exists())
    customer.wait_for_selector("#order-status:text('Timed out')", timeout=LIVE)
    _not_reloaded(customer)


def test_a_customer_cannot_open_another_customers_order(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    order_services.order_start(user_id="carol")
    order = _order_of("carol")
    customer = bar.customer()
    response = customer.goto(f"{bar.url}/orders/{order.order_id}/")
    assert response.status == 404
    assert customer.request.get(f"{bar.url}/orders/{order.order_id}/panel").status == 404


def test_a_customer_without_the_baristas_group_cannot_use_the_admin_actions(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    order_services.order_start(user_id="carol")
    order = _order_of("carol")
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
    _live(customer)
    customer.check("input[name=drink][value=Latte]")
    customer.locator(".drink-choice.chosen select").first.select_option("Oat")
    before = customer.inner_html("#drink-form")
    customer.evaluate("document.dispatchEvent(new Event('live:refresh'))")
    customer.wait_for_function(f"document.querySelector('#drink-form').innerHTML !== {before!r}")
    assert customer.is_checked("input[name=drink][value=Latte]")
    assert customer.locator(".drink-choice.chosen select").first.input_value() == "Oat"
