"""Rate limits for people: logins per account and per client address (past the failures, even the
right password is answered 429 until the window ends), and the JSON callbacks per user."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from orders.models import Order, ShopConfig
from orders.services.shop_config import shop_config_get

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
JSON = "application/json"


@pytest.fixture
def small_limits(rate_limits):
    """Three failed logins per account and five per address per 15 minutes; four JSON calls per
    user per minute."""
    rate_limits(
        {"login-account": (3, 900.0), "login-address": (5, 900.0), "orders-json": (4, 60.0)}
    )


@pytest.fixture
def ana(db):
    return User.objects.create_user("ana", password="right-password")


def _login(client: Client, username: str, password: str, path: str = LOGIN) -> int:
    return client.post(path, {"username": username, "password": password}).status_code


def test_failed_logins_lock_the_account_even_for_the_right_password(small_limits, ana):
    clock = time_machine.travel(timezone.now(), tick=False)
    with clock as traveller:
        # Each from its own address: the account's count is what stops them.
        wrong = [_login(Client(REMOTE_ADDR=f"10.0.0.{n}"), "ana", "guess") for n in range(3)]
        assert wrong == [200, 200, 200]  # the form again, with its error
        response = Client(REMOTE_ADDR="10.0.0.9").post(
            LOGIN, {"username": "ana", "password": "right-password"}
        )
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 900
        # The admin's login form counts the same failures.
        assert _login(Client(), "ana", "right-password", ADMIN_LOGIN) == 429
        # Another account is not locked.
        User.objects.create_user("bo", password="bo-password")
        assert _login(Client(REMOTE_ADDR="10.0.0.9"), "bo", "bo-password") == 302
        traveller.shift(timedelta(seconds=901))
        assert _login(Client(REMOTE_ADDR="10.0.0.9"), "ana", "right-password") == 302


def test_failed_logins_lock_the_address_across_accounts(small_limits, ana):
    guesser = Client(REMOTE_ADDR="192.0.2.7")
    assert [_login(guesser, f"user{n}", "guess") for n in range(5)] == [200] * 5
    assert _login(guesser, "ana", "right-password") == 429
    # Someone at another address logs in as usual.
    assert _login(Client(REMOTE_ADDR="192.0.2.8"), "ana", "right-password") == 302


def test_a_success_ends_the_accounts_run_of_failures(small_limits, ana):
    client = Client(REMOTE_ADDR="10.1.0.1")
    assert [_login(client, "ana", "guess") for _ in range(2)] == [200, 200]
    assert _login(client, "ana", "right-password") == 302
    other = Client(REMOTE_ADDR="10.1.0.2")
    assert [_login(other, "ana", "guess") for _ in range(2)] == [200, 200]
    assert _login(other, "ana", "right-password") == 302


def test_the_json_callbacks_are_throttled_per_user(small_limits, inline_stages):
    ShopConfig.objects.filter(pk=shop_config_get().pk).update(qr_code_required=False)
    customer, other = Client(), Client()
    customer.force_login(User.objects.create_user("cy"))
    other.force_login(User.objects.create_user("di"))
    order_id = customer.post("/api/orders", content_type=JSON).json()["orderId"]
    submit = f"/api/orders/{order_id}/submit"
    tries = [customer.post(submit, "{}", content_type=JSON).status_code for _ in range(3)]
    assert tries == [400, 400, 400]  # four calls so far, the start included
    # The fifth is throttled before its body is read, right as it is.
    response = customer.post(submit, {"drink": {"drink": "Latte"}}, content_type=JSON)
    assert (response.status_code, response.json()["error"]) == (429, "Throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert Order.objects.get(order_id=order_id).drink in (None, {})
    # Reading is not throttled; another user has a count of their own.
    assert customer.get(f"/api/orders/{order_id}").status_code == 200
    assert other.post("/api/orders", content_type=JSON).status_code == 202
