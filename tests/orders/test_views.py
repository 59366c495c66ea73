"""The JSON views for the people's callbacks: auth, ownership, bad input, and nothing changed."""

import pytest
from django.contrib.auth.models import Permission, User

from orders.models import Order, ShopConfig
from orders.services.shop_config import shop_config_get
from stepfunctions.models import CallbackToken, Execution

JSON = "application/json"
LATTE = {"drink": "Latte", "modifiers": {"Milk": "Oat"}}


@pytest.fixture
def shop(inline_stages):
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(qr_code_required=False)


@pytest.fixture
def customer(client):
    client.force_login(User.objects.create_user("ana"))
    return client


@pytest.fixture
def barista(client_factory):
    user = User.objects.create_user("bo")
    user.user_permissions.add(Permission.objects.get(codename="act_as_barista"))
    client = client_factory()
    client.force_login(user)
    return client


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


def _order(customer) -> Order:
    response = customer.post("/api/orders", content_type="application/json")
    assert response.status_code == 202, response.content
    return Order.objects.get(order_id=response.json()["orderId"])


def _state(order: Order) -> tuple:
    order.refresh_from_db()
    tokens = list(CallbackToken.objects.filter(execution=order.execution).values_list("status"))
    return order.status, order.workflow_state, order.drink, tokens


def test_every_endpoint_needs_a_login(db, client):
    assert client.post("/api/orders").status_code == 401
    for path in ("submit", "complete", "cancel"):
        assert client.post(f"/api/orders/x/{path}").json()["error"] == "NotAuthenticated"
    assert client.get("/api/orders/x").status_code == 401


def test_customer_orders_and_submits_a_drink(shop, customer):
    order = _order(customer)
    assert customer.get(f"/api/orders/{order.order_id}").json()["workflowState"] == (
        "Emit - Workflow Started TT"
    )
    response = customer.post(
        f"/api/orders/{order.order_id}/submit", {"drink": LATTE}, content_type="application/json"
    )
    assert response.status_code == 202
    shown = customer.get(f"/api/orders/{order.order_id}").json()
    assert shown["workflowState"] == "Emit - Awaiting Completion TT"
    assert shown["orderNumber"] == 1
    assert shown["drink"]["modifiers"] == {"Milk": "Oat", "Syrup": "None"}
    again = customer.post(
        f"/api/orders/{order.order_id}/submit", {"drink": LATTE}, content_type="application/json"
    )
    assert (again.status_code, again.json()["error"]) == (409, "OrderNotWaiting")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ("{not json", 400, "InvalidJson"),
        ("[1, 2]", 400, "InvalidJson"),
        ("{}", 400, "ValidationException"),
        (
            '{"drink": {"drink": "Latte", "modifiers": {"Milk": "Cream"}}}',
            400,
            "ValidationException",
        ),
        ('{"drink": {"drink": "Mocha"}}', 400, "ValidationException"),
    ],
)
def test_bad_submit_is_refused_and_the_wait_goes_on(shop, customer, body, status, error):
    order = _order(customer)
    before = _state(order)
    response = customer.post(
        f"/api/orders/{order.order_id}/submit", body, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert _state(order) == before


def test_another_customer_cannot_see_or_act_on_the_order(shop, customer, client_factory):
    order = _order(customer)
    before = _state(order)
    other = client_factory()
    other.force_login(User.objects.create_user("eve"))
    assert other.get(f"/api/orders/{order.order_id}").status_code == 404
    for path in ("submit", "cancel"):
        response = other.post(
            f"/api/orders/{order.order_id}/{path}",
            {"drink": LATTE},
            content_type="application/json",
        )
        assert response.status_code == 404
    assert (
        other.post(f"/api/orders/{order.order_id}/complete", content_type=JSON).status_code == 403
    )
    assert _state(order) == before


def test_barista_completes_and_the_order_is_finished(shop, customer, barista):
    order = _order(customer)
    customer.post(
        f"/api/orders/{order.order_id}/submit", {"drink": LATTE}, content_type="application/json"
    )
    assert (
        customer.post(f"/api/orders/{order.order_id}/complete", content_type=JSON).status_code
        == 403
    )
    assert (
        barista.post(f"/api/orders/{order.order_id}/complete", content_type=JSON).status_code == 202
    )
    order.refresh_from_db()
    assert (order.status, order.barista) == (Order.Status.COMPLETED, "bo")
    assert order.execution.status == Execution.Status.SUCCEEDED
    assert order.execution.output["order"]["completed"] is True


@pytest.mark.parametrize("submitted", [False, True])
def test_customer_cancels_from_either_wait(shop, customer, submitted):
    order = _order(customer)
    if submitted:
        customer.post(
            f"/api/orders/{order.order_id}/submit",
            {"drink": LATTE},
            content_type="application/json",
        )
    assert (
        customer.post(f"/api/orders/{order.order_id}/cancel", content_type=JSON).status_code == 202
    )
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    expected = "Order cancelled" if submitted else "Customer cancelled"
    assert order.execution.output["cause"] == expected
    assert ("Order" in order.execution.output) is submitted
    assert (
        customer.post(f"/api/orders/{order.order_id}/cancel", content_type=JSON).status_code == 409
    )


def test_methods_are_checked(db, customer):
    assert customer.get("/api/orders").status_code == 405
    assert customer.get("/api/orders/x/submit").status_code == 405
