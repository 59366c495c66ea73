"""The customer's pages, the barista queue and the execution page through Django's test client."""

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from orders.models import Drink, Order
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT
from orders.services.qr_codes import qr_code_current
from orders.services.shop_config import shop_config_update
from stepfunctions.diagram import diagram_layout, diagram_svg
from stepfunctions.models import StateMachine


def _start(client) -> Order:
    response = client.post(reverse("orders:new"))
    assert response.status_code == 302
    return Order.objects.get(user_id="alice", status=Order.Status.CREATED)


def _latte(order: Order, milk: str = "Oat") -> dict:
    latte = Drink.objects.get(name="Latte")
    return {"drink": "Latte", f"{latte.pk}-Milk": milk, f"{latte.pk}-Syrup": "None"}


def test_order_page_shows_the_form_then_the_number(client, alice):
    order = _start(client)
    page = client.get(reverse("orders:order", args=[order.order_id])).content.decode()
    assert "Choose your drink" in page and "data-deadline" in page and "Flat White" in page
    response = client.post(reverse("orders:order_drink", args=[order.order_id]), _latte(order))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.workflow_state == BARISTA_WAIT
    panel = client.get(reverse("orders:order_panel", args=[order.order_id])).content.decode()
    assert f"#{order.order_number}" in panel and "Waiting for a barista" in panel


def test_an_invalid_modifier_is_refused_and_the_wait_goes_on(client, alice):
    order = _start(client)
    url = reverse("orders:order_drink", args=[order.order_id])
    response = client.post(url, _latte(order, milk="Whisky"), follow=True)
    assert "Sorry, Whisky is not available right now: choose another Milk." in (
        response.content.decode()
    )
    order.refresh_from_db()
    assert order.workflow_state == CUSTOMER_WAIT and order.drink is None


def test_another_customers_order_is_not_found(client, alice):
    order = _start(client)
    mallory = User.objects.create_user("mallory", password="pw-mallory-123")
    other = Client()
    other.force_login(mallory)
    for name in ("orders:order", "orders:order_panel"):
        assert other.get(reverse(name, args=[order.order_id])).status_code == 404
    assert other.post(reverse("orders:order_cancel", args=[order.order_id])).status_code == 404
    assert other.post(reverse("orders:order_drink", args=[order.order_id])).status_code == 404
    order.refresh_from_db()
    assert order.workflow_state == CUSTOMER_WAIT


def test_a_customer_cannot_use_the_barista_actions(client, alice, barista_client):
    order = _start(client)
    client.post(reverse("orders:order_drink", args=[order.order_id]), _latte(order))
    order.refresh_from_db()
    for action in ("make", "complete", "cancel"):
        url = reverse("admin:orders_queuedorder_act", args=[order.pk, action])
        response = client.post(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    alice.is_staff = True
    alice.save()
    url = reverse("admin:orders_queuedorder_act", args=[order.pk, "complete"])
    assert client.post(url).status_code == 403
    assert client.post(reverse("admin:orders_queuedorder_shop"), {"open": "0"}).status_code == 403
    assert client.get(reverse("orders:stream_admin")).status_code == 403
    order.refresh_from_db()
    assert (order.status, order.barista) == (Order.Status.CREATED, "")

    queue = barista_client.get(reverse("admin:orders_queuedorder_changelist")).content.decode()
    assert f">{order.order_number}<" in queue and "Oat" in queue
    barista_client.post(reverse("admin:orders_queuedorder_act", args=[order.pk, "make"]))
    barista_client.post(reverse("admin:orders_queuedorder_act", args=[order.pk, "complete"]))
    order.refresh_from_db()
    assert (order.status, order.barista) == (Order.Status.COMPLETED, "bob")


def test_the_execution_page_draws_the_path(client, alice, barista_client):
    order = _start(client)
    page = barista_client.get(
        reverse("admin:stepfunctions_execution_change", args=[order.execution_id])
    ).content.decode()
    assert 'class="state current" data-state="Emit - Workflow Started TT"' in page
    assert 'class="state visited" data-state="Get Shop Status"' in page
    assert "ExecutionStarted" in page


def test_the_display_board_shows_a_qr_code(client, alice, barista_client):
    shop_config_update(changes={"qr_code_required": True}, by="test")
    page = barista_client.get(reverse("orders:display")).content.decode()
    assert qr_code_current().code in page and "<svg" in page
    assert client.get(reverse("orders:display")).status_code == 302  # customers: log in as staff
    shop_config_update(changes={"store_open": False}, by="test")
    assert (
        "Not taking orders" in barista_client.get(reverse("orders:display_panel")).content.decode()
    )


def test_the_diagram_layout_points_every_arrow_down(db):
    definition = StateMachine.objects.get().latest_version.definition
    layout = diagram_layout(definition)
    assert set(layout.positions) == set(definition["States"])
    for source, target, _ in layout.edges:
        assert layout.positions[target][1] > layout.positions[source][1]
    svg = diagram_svg(
        definition={
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
        },
        path=["A", "B"],
    )
    assert svg.count('class="edge taken"') == 1


def _api(client, name: str, order: Order) -> int:
    url = reverse(f"orders:{name}", args=[order.order_id])
    return client.post(url, content_type="application/json").status_code


def test_the_json_api_makes_through_the_same_services(client, alice, barista_client):
    order = _start(client)
    client.post(reverse("orders:order_drink", args=[order.order_id]), _latte(order))
    assert _api(client, "make", order) == 403
    assert _api(barista_client, "make", order) == 202
    order.refresh_from_db()
    assert order.barista == "bob"
    assert _api(barista_client, "unmake", order) == 202
    order.refresh_from_db()
    assert order.barista == ""
