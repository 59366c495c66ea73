"""The coffee bar's screens through Django's test client: orders that ended outside the bar's
own path (finished or stopped from the command line) rendered sensibly, and the shop's settings
explained."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from orders.services.barista import barista_grant
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT
from orders.services.shop_config import shop_config_get
from stepfunctions.models import Execution
from tests.stepfunctions import factories


@pytest.fixture
def barista_client(db):
    barista_grant(user=User.objects.create_user("bob", password="pw-bob-123"))
    client = Client()
    client.login(username="bob", password="pw-bob-123")
    return client


def _order(order_id: str, **fields) -> Order:
    return Order.objects.create(order_id=order_id, user_id="carol", **fields)


def test_orders_finished_without_a_drink_or_barista_read_sensibly(barista_client):
    # As the seed's command-line test leaves them: a number, no drink, no barista.
    _order("cli-4", status=Order.Status.COMPLETED, order_number=4)
    _order(
        "bar-5",
        status=Order.Status.COMPLETED,
        order_number=5,
        barista="bob",
        drink={"drink": "Latte", "icon": "☕", "modifiers": {}},
    )
    queue = barista_client.get(reverse("admin:orders_queuedorder_changelist")).content.decode()
    pickup = queue[queue.index('id="pickup"') :]
    assert "(, by )" not in pickup and ", by" not in pickup
    assert "<strong>4</strong>" in pickup and "no drink recorded" in pickup
    assert "☕ Latte · made by bob" in pickup
    board = barista_client.get(reverse("orders:display_panel")).content.decode()
    assert "<li>4</li>" in board and "<li>5</li>" in board


def test_orders_whose_workflow_ended_are_neither_choosing_nor_queued(barista_client):
    running = factories.execution()
    stopped = factories.execution(status=Execution.Status.ABORTED, stage=Execution.Stage.DONE)
    _order("choosing", execution=running, workflow_state=CUSTOMER_WAIT)
    _order("stuck-choosing", execution=stopped, workflow_state=CUSTOMER_WAIT)
    _order(
        "cancelled",
        execution=factories.execution(),
        status=Order.Status.CANCELLED,
        reason="Stopped by the shop",
        workflow_state=CUSTOMER_WAIT,
    )
    stuck_barista = factories.execution(status=Execution.Status.FAILED, stage=Execution.Stage.DONE)
    _order(
        "stuck-queued",
        execution=stuck_barista,
        workflow_state=BARISTA_WAIT,
        order_number=9,
        submitted_at=timezone.now(),
    )
    panel = barista_client.get(reverse("admin:orders_queuedorder_panel")).content.decode()
    assert "1 customer choosing a drink" in panel
    assert 'data-order="stuck-queued"' not in panel and "No open orders." in panel


def test_the_shop_configs_daily_limit_is_explained(db):
    User.objects.create_superuser("manager", password="pw-manager-123")
    client = Client()
    client.login(username="manager", password="pw-manager-123")
    config = shop_config_get()
    url = reverse("admin:orders_shopconfig_change", args=[config.pk])
    page = client.get(url).content.decode()
    assert "How many orders one customer may place in a day" in page
    assert 'name="max_orders_per_user" value="5"' in page
