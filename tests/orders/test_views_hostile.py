"""Hostile bodies and paths at the coffee bar's JSON views and pages: a clear 400 or 404, never a
500, and nothing changed (on SQLite and PostgreSQL alike: PostgreSQL refuses NUL and NaN)."""

import pytest
from django.contrib.auth.models import User

from orders.models import Order, ShopConfig
from orders.services.shop_config import shop_config_get
from stepfunctions.models import CallbackToken, Execution, HistoryEvent
from tests.stepfunctions.test_api_hostile_json import HOSTILE_VALUES

JSON = "application/json"


@pytest.fixture
def customer(client, inline_stages):
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(qr_code_required=False)
    client.force_login(User.objects.create_user("ana"))
    return client


def _rows() -> tuple[int, ...]:
    models = (Order, Execution, CallbackToken, HistoryEvent)
    return tuple(model.objects.count() for model in models)


def _hostile_bodies() -> dict[str, str]:
    # Each hostile value as the whole body and as a member's value.
    bodies = {f"body {name}": text for name, text in HOSTILE_VALUES.items()}
    bodies.update(
        {f"member {name}": f'{{"drink": {text}}}' for name, text in HOSTILE_VALUES.items()}
    )
    bodies["not utf-8"] = b'{"drink": "\xff"}'
    return bodies


BODIES = _hostile_bodies()


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_hostile_bodies_are_invalid_json_and_change_nothing(customer, body):
    order_id = customer.post("/api/orders", content_type=JSON).json()["orderId"]
    before = _rows()
    for path in ("/api/orders", f"/api/orders/{order_id}/submit", f"/api/orders/{order_id}/cancel"):
        response = customer.post(path, body, content_type=JSON)
        assert (response.status_code, response.json()["error"]) == (400, "InvalidJson"), path
    assert _rows() == before
    assert Order.objects.get(order_id=order_id).status == Order.Status.CREATED


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders/%00",
        "/api/orders/a%00b/submit",
        "/orders/%00/",
        "/orders/%00/panel",
        "/qr/%00",
        "/sfn/%00",
        "/admin/orders/order/%00/change/",
    ],
)
def test_a_nul_in_the_path_is_not_found(customer, path):
    before = _rows()
    assert customer.get(path).status_code == 404
    assert customer.post(path, "{}", content_type=JSON).status_code == 404
    assert _rows() == before


def test_a_nul_in_the_query_string_is_refused(customer, admin_client):
    assert customer.get("/?next=%00").status_code == 400
    assert admin_client.get("/admin/orders/order/?q=%00").status_code == 400
    assert admin_client.get("/admin/orders/order/?q=latte").status_code == 200
