"""Fuzz the coffee bar's JSON views: generated bodies (deep nesting, NaN, NUL, surrogates, huge
numbers, wrong types, missing and extra members) are answered 2xx or 4xx, never 5xx, and a
refused request changes nothing."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from orders.models import Order, ShopConfig
from orders.services.shop_config import shop_config_get
from stepfunctions.models import CallbackToken, Execution, HistoryEvent
from tests.fuzzing import FUZZ, bodies, hostile_text, json_values

DRINKS = st.sampled_from(
    [{"drink": "Latte", "modifiers": {"Milk": "Oat"}}, {"drink": "Espresso"}, {"drink": "Mocha"}]
)
MEMBERS = {"qrCode": hostile_text, "drink": DRINKS | json_values}
ACTIONS = ["submit", "cancel", "complete", "make", "unmake"]


def _snapshot() -> tuple:
    orders = tuple(Order.objects.order_by("pk").values_list("pk", "status", "drink", "barista"))
    runs = tuple(Execution.objects.order_by("pk").values_list("pk", "status"))
    return orders, runs, CallbackToken.objects.count(), HistoryEvent.objects.count()


@pytest.fixture
def people(inline_stages):
    """A customer and a barista, logged in; the customer has an order waiting for its drink."""
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(qr_code_required=False)
    customer, barista = Client(), Client()
    customer.force_login(User.objects.create_user("ana"))
    staff = User.objects.create_user("bo")
    staff.user_permissions.add(Permission.objects.get(codename="act_as_barista"))
    barista.force_login(staff)
    order_id = customer.post("/api/orders", content_type="application/json").json()["orderId"]
    return customer, barista, order_id


@pytest.mark.parametrize("action", ["start", *ACTIONS])
def test_the_json_views_answer_fuzzed_bodies_with_2xx_or_4xx(people, action):
    customer, barista, order_id = people
    client = barista if action in ("complete", "make", "unmake") else customer
    path = "/api/orders" if action == "start" else f"/api/orders/{order_id}/{action}"
    answered: set[int] = set()

    @FUZZ
    @given(body=bodies(MEMBERS))
    def check(body: bytes) -> None:
        before = _snapshot()
        response = client.post(path, body, content_type="application/json")
        answered.add(response.status_code)
        assert response.status_code < 500, (body[:200], response.content[:300])
        if response.status_code >= 400:
            assert response.json()["error"]
            assert _snapshot() == before, body[:200]

    check()
    assert any(400 <= status < 500 for status in answered), answered


@FUZZ
@given(order_id=hostile_text)
def test_order_paths_with_any_characters_are_4xx(people, order_id):
    customer = people[0]
    quoted = "".join(f"%{byte:02X}" for byte in order_id.encode("utf-8", "surrogatepass"))
    for path in (f"/api/orders/{quoted}", f"/orders/{quoted}/", f"/qr/{quoted}"):
        response = customer.get(path)
        assert response.status_code < 500, (path, response.status_code)
