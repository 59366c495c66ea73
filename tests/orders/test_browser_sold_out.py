"""Sold out in one tap, in headless Chromium against the live server and the real worker: the
barista taps Oat on the queue's Menu strip, a customer's open order page loses Oat without a
reload, the Undo brings it back; an order submitted with Oat before keeps it."""

import re

import pytest

from orders.models import MenuItemOff, Order
from orders.services.shop_config import shop_config_update
from orders.services.sold_out import sold_out_now
from tests.browser import (
    LIVE,
    TABLET_PORTRAIT,
    assert_accessible,
    live,
    mark,
    not_reloaded,
    wait_until,
    waiting_for_a_barista,
)

pytestmark = [pytest.mark.integration]

OAT_TOGGLE = "#sold-out-option-milk-oat"
# The open page's Latte offers Oat (its Milk select holds an Oat option).
LATTE_OAT = (
    "Array.from(document.querySelectorAll('.drink-choice')).some((set) => "
    "set.querySelector('input[value=Latte]') && set.querySelector('option[value=Oat]'))"
)


def test_a_barista_sells_out_oat_and_an_open_order_page_loses_it_live(bar):
    shop_config_update(changes={"qr_code_required": False}, by="test")
    before = waiting_for_a_barista("ana")
    assert before.drink["modifiers"]["Milk"] == "Oat"

    customer = bar.customer("alice")
    customer.click("#start-order")
    customer.wait_for_url(re.compile(r"/orders/\w+/$"))
    live(customer)
    assert customer.evaluate(LATTE_OAT)
    mark(customer)

    barista = bar.barista("bob", size=TABLET_PORTRAIT)
    live(barista)
    toggle = barista.locator(OAT_TOGGLE)
    assert toggle.inner_text() == "Oat: available"
    assert toggle.get_attribute("aria-pressed") == "false"
    mark(barista)
    toggle.click()  # one tap, no confirmation

    barista.wait_for_selector(f"{OAT_TOGGLE}[aria-pressed=true]", timeout=LIVE)
    assert barista.inner_text(OAT_TOGGLE) == "Oat: sold out"
    status = barista.locator("#sold-out-toast")
    assert status.get_attribute("role") == "status"
    assert "Milk: Oat is sold out" in status.inner_text()
    # The tapped button keeps the keyboard's place across the panel's re-render.
    wait_until(barista, "document.activeElement.id === 'sold-out-option-milk-oat'")
    wait_until(customer, f"!({LATTE_OAT})", timeout=LIVE)
    assert customer.locator(".drink-choice option[value=Soy]").count() > 0
    # The order submitted before keeps its Oat, on the queue too.
    assert Order.objects.get(pk=before.pk).drink == before.drink
    card = barista.locator(f"#queue [data-order='{before.order_id}']")
    assert "Milk: Oat" in card.inner_text()
    assert_accessible(barista, "the queue with Oat sold out and its Undo showing")
    assert_accessible(customer, "the order page without Oat")

    barista.click("#sold-out-undo")
    barista.wait_for_selector(f"{OAT_TOGGLE}[aria-pressed=false]", timeout=LIVE)
    assert "Milk: Oat is back" in barista.inner_text("#sold-out-toast")
    # The Undo hides itself once done: the keyboard is back on the toggle.
    wait_until(barista, "document.activeElement.id === 'sold-out-option-milk-oat'")
    wait_until(customer, LATTE_OAT, timeout=LIVE)
    assert sold_out_now() == set()
    assert list(MenuItemOff.objects.values_list("started_by", "ended_by")) == [("bob", "bob")]
    not_reloaded(customer)
    not_reloaded(barista)
