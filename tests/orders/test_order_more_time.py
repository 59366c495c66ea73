"""More time to choose a drink (WCAG 2.2.1 Timing Adjustable): the customer's wait restarts its
900-second heartbeat on asking, at most ten times an order, through the real workflow with
inline stages, the clock moved."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from orders.errors import NoMoreTime, OrderNotWaiting
from orders.models import Order
from orders.services import orders as order_services
from orders.services.shop_config import shop_config_update
from stepfunctions.selectors import open_token_deadline
from stepfunctions.services import tokens_expire

LATTE = {"drink": "Latte", "modifiers": {"Milk": "Oat"}}


@pytest.fixture
def choosing(inline_stages) -> Order:
    shop_config_update(changes={"qr_code_required": False}, by="test")
    execution = order_services.order_start(user_id="alice")
    order = Order.objects.get(execution=execution)
    assert order.workflow_state == order_services.CUSTOMER_WAIT
    return order


def _state(order: Order) -> tuple:
    order.refresh_from_db()
    return order.status, order.reason


def test_more_time_restarts_the_customers_wait(choosing):
    started = timezone.now()
    first = open_token_deadline(execution_id=choosing.execution_id)
    with time_machine.travel(started + timedelta(seconds=800), tick=False):
        assert order_services.order_more_time(order=choosing) == 9
        moved = open_token_deadline(execution_id=choosing.execution_id)
    assert moved - first >= timedelta(seconds=799)
    # Past the first deadline, the wait goes on; past the new one, it times out as before.
    assert tokens_expire(now=first + timedelta(seconds=1)) == 0
    assert _state(choosing) == (Order.Status.CREATED, "")
    assert tokens_expire(now=moved + timedelta(seconds=1)) == 1
    assert _state(choosing) == (Order.Status.CANCELLED, "Customer timedout")


def test_more_time_ten_times_and_no_more(choosing):
    left = [order_services.order_more_time(order=choosing) for _ in range(10)]
    assert left == list(range(9, -1, -1))
    deadline = open_token_deadline(execution_id=choosing.execution_id)
    with pytest.raises(NoMoreTime):
        order_services.order_more_time(order=choosing)
    choosing.refresh_from_db()
    assert choosing.more_time_taken == order_services.MORE_TIME_LIMIT == 10
    assert open_token_deadline(execution_id=choosing.execution_id) == deadline


def test_no_more_time_once_the_drink_is_chosen_and_none_spent(choosing):
    order_services.order_submit(order=choosing, drink=LATTE)
    with pytest.raises(OrderNotWaiting):
        order_services.order_more_time(order=choosing)
    choosing.refresh_from_db()
    assert choosing.more_time_taken == 0


def test_the_order_page_offers_more_time_and_the_post_gives_it(client, choosing):
    client.force_login(User.objects.create_user("alice"))
    page_url = reverse("orders:order", args=[choosing.order_id])
    page = client.get(page_url).content.decode()
    assert 'id="more-time"' in page and "up to 10 more times" in page
    assert 'data-warn-before="120"' in page and 'id="time-warning"' in page
    url = reverse("orders:order_more_time", args=[choosing.order_id])
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert response.redirect_chain == [(page_url, 302)]
    assert "More time to choose" in response.content.decode()
    assert "up to 9 more times" in response.content.decode()
    Order.objects.filter(pk=choosing.pk).update(more_time_taken=10)
    response = client.post(url, follow=True)
    page = response.content.decode()
    assert "more time 10 times already" in page and 'id="more-time"' not in page


def test_another_customer_cannot_ask_for_more_time(client, choosing):
    client.force_login(User.objects.create_user("mallory"))
    url = reverse("orders:order_more_time", args=[choosing.order_id])
    assert client.post(url).status_code == 404
    choosing.refresh_from_db()
    assert choosing.more_time_taken == 0
