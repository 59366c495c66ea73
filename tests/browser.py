"""What the browser tests share: Debian's chromium through Playwright, the coffee bar's people
logged in on pages of a given size, and measurements of a page's layout.

Loaded as a plugin by tests/conftest.py, so every test file can ask for `bar` or `browser`.
A machine without chromium fails these tests with the reason (`make test` installs it first);
nothing is skipped. Screenshots are written only when SCREENSHOTS=1 (`make screenshots`).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from orders.models import Order
from orders.services import orders as order_services
from orders.services.barista import barista_grant
from tests.conftest import wait_for

# Playwright's sync API runs an event loop in this thread; the ORM calls here are still sync.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
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
PHONE = (375, 812)
TABLET_PORTRAIT = (768, 1024)
TABLET_LANDSCAPE = (1024, 768)
DESKTOP = (1200, 800)


CSP_PREFIX = "CSP violation:"
# Chromium logs most refusals to the console itself; the event catches the rest (e.g. in frames).
CSP_REPORTER = f"""document.addEventListener("securitypolicyviolation", (e) =>
    console.error("{CSP_PREFIX} " + e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile
                  + ":" + e.lineNumber));"""


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Debian's chromium is not at {CHROMIUM}: the browser tests need it. "
            "`make test` installs it (apt-get install chromium) or says why it cannot."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def bar(live_server, live_stages, browser):
    """The coffee bar running: web server, worker; people log in on pages of any size."""
    bar = Bar(live_server.url, browser)
    yield bar
    bar.close()


class Bar:
    def __init__(self, url: str, browser) -> None:
        self.url = url
        self.browser = browser
        self.contexts = []
        self.csp_violations: list[str] = []

    def page(self, size: tuple[int, int] = DESKTOP):
        context = self.browser.new_context(viewport={"width": size[0], "height": size[1]})
        context.set_default_timeout(15_000)
        # Every page reports what the Content-Security-Policy refused; the test fails on any.
        context.add_init_script(CSP_REPORTER)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        return page

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or message.text.startswith(CSP_PREFIX):
            self.csp_violations.append(message.text)

    def customer(self, username: str = "alice", size: tuple[int, int] = DESKTOP):
        User.objects.create_user(username, password=f"pw-{username}-123")
        page = self.page(size)
        page.goto(f"{self.url}/accounts/login/")
        self.login(page, username)
        return page

    def barista(self, username: str = "bob", size: tuple[int, int] = DESKTOP):
        barista_grant(user=User.objects.create_user(username, password=f"pw-{username}-123"))
        page = self.page(size)
        page.goto(f"{self.url}/admin/login/?next=/admin/orders/queuedorder/")
        self.login(page, username)
        page.wait_for_selector("#barista-queue")
        return page

    @staticmethod
    def login(page, username: str) -> None:
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}-123")
        with page.expect_navigation():
            page.click("[type=submit]")

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        assert not self.csp_violations, f"the pages broke their CSP: {self.csp_violations}"


def mark(page) -> None:
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def wait_until(page, expression: str, *, timeout: float = 15_000) -> None:
    """Until the JavaScript `expression` is true on the page, polled from here: Playwright's own
    wait_for_function evaluates its predicate with eval() in the page, which the pages'
    Content-Security-Policy (rightly) refuses."""

    def holds() -> bool:
        try:
            return bool(page.evaluate(expression))
        except PlaywrightError:
            # A navigation destroyed the context mid-evaluation: ask the next page.
            return False

    wait_for(holds, timeout=timeout / 1000, interval=0.05, message=f"{expression} on {page.url}")


def live(page) -> None:
    """Waits until the page's event stream is connected and the page has caught up with it (a
    catch-up refresh re-rendering the panel under a click would swallow the click)."""
    wait_until(page, "document.body.dataset.live === 'connected'")


# axe-core's WCAG 2.1 A and AA rules, violations only (what passes is not worked out in detail).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
_AXE = Axe()


def assert_accessible(page, what: str = "", *, preload: bool = True) -> None:
    """No WCAG 2.1 A/AA violation that axe-core finds on the page as it is now (the state the
    test has brought it to). Fails with one line a violation and element: rule, impact, the
    element's selector and what is wrong with it. axe-core (the axe-playwright-python package's
    copy) is put in a page once, not at every check: a page's checks then take a fraction of a
    second each."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_AXE.axe_script)
    # preload=False for a page whose stylesheets @import others (the admin's forms.css): axe's
    # CSSOM preload fetches them again relative to the page and parses them in inline <style>
    # elements, which the pages' CSP refuses (its css-orientation-lock rule is then not run).
    options = AXE_OPTIONS if preload else {**AXE_OPTIONS, "preload": False}
    results = page.evaluate("(options) => axe.run(document, options)", options)
    found = [
        f"{violation['id']} ({violation['impact']}) {', '.join(map(str, node['target']))}: "
        + (node.get("failureSummary") or violation["help"]).replace("\n", " ")
        for violation in results["violations"]
        for node in violation["nodes"]
    ]
    assert not found, f"WCAG 2.1 AA violations on {what or page.url}:\n" + "\n".join(found)


def shot(page, name: str) -> None:
    """A screenshot for the README, only when asked for (SCREENSHOTS=1, `make screenshots`)."""
    if os.environ.get("SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def order_of(username: str) -> Order:
    return wait_for(
        lambda: Order.objects.filter(user_id=username).order_by("-created_at").first(),
        message=f"{username}'s order",
    )


LATTE = {"drink": "Latte", "modifiers": {"Milk": "Oat", "Syrup": "Vanilla"}}


def waiting_for_a_barista(user_id: str) -> Order:
    """A real order, through the workflow, to the barista's wait."""
    order_services.order_start(user_id=user_id)
    order = waiting_to_choose(user_id)
    order_services.order_submit(order=order, drink=LATTE)
    return wait_for(
        lambda: Order.objects.filter(pk=order.pk, workflow_state=order_services.BARISTA_WAIT)
        .exclude(order_number=None)
        .first(),
        message=f"{user_id}'s order to wait for a barista",
    )


def waiting_to_choose(user_id: str) -> Order:
    """The customer's latest order, once the workflow waits for its drink."""
    return wait_for(
        lambda: Order.objects.filter(
            user_id=user_id, workflow_state=order_services.CUSTOMER_WAIT
        ).first(),
        message=f"{user_id}'s order to wait for its drink",
    )


def choose_latte(page) -> None:
    page.wait_for_selector("#drink-form")
    page.check("input[name=drink][value=Latte]")
    page.locator(".drink-choice.chosen select").first.select_option("Oat")
    page.click("#submit-drink")


def scroll_sizes(page) -> dict:
    """The document's scroll sizes against its viewport: a page with no scrollbar has
    scrollWidth <= clientWidth and (where asked) scrollHeight <= clientHeight."""
    return page.evaluate(
        """() => { const e = document.scrollingElement;
        return {scrollWidth: e.scrollWidth, clientWidth: e.clientWidth,
                scrollHeight: e.scrollHeight, clientHeight: e.clientHeight}; }"""
    )


def assert_no_horizontal_scroll(page) -> None:
    sizes = scroll_sizes(page)
    assert sizes["scrollWidth"] <= sizes["clientWidth"], f"{page.url} scrolls sideways: {sizes}"


def boxes(page, selector: str) -> list[dict]:
    """The boxes of the shown elements matching a CSS selector, all read at one instant (a live
    refresh may re-render the page between two separate reads)."""
    return page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
        .filter((e) => e.getClientRects().length > 0)
        .map((e) => { const r = e.getBoundingClientRect();
            return {text: e.innerText, x: r.x, y: r.y, width: r.width, height: r.height}; })""",
        selector,
    )


def assert_inside_viewport(page, selector: str, *, height: bool = False) -> None:
    """Every shown element matching a CSS selector lies wholly inside the viewport's width (and,
    when asked, its height)."""
    viewport = page.viewport_size
    found = boxes(page, selector)
    assert found, f"nothing matches {selector}"
    for box in found:
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5, box
        if height:
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5, box


@pytest.fixture
def fresh_qr_window():
    """Starts the test just after a QR code window opens, so the code cannot expire mid-test."""
    now = timezone.now()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
    with time_machine.travel(start + timedelta(seconds=1), tick=True):
        yield
