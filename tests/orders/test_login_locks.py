"""Login locks within OWASP ASVS 2.2.1 (at most 100 failed attempts per hour on one account):
failures counted per account from any address, the login page saying when to try again, staff
lifting a lock from the admin, and the settings' override. The clock is moved, never waited."""

import math
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.test import Client

from serverlesspresso.settings import base

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
LOCKS = "/admin/orders/loginaccount/"
# Three minutes and twenty seconds into a quarter hour: a 15-minute window ends at 10:15:00.
QUARTER_PAST = datetime(2026, 12, 7, 10, 3, 20, tzinfo=UTC)


@pytest.fixture
def default_limits(rate_limits):
    """The project's own login limits (the test settings' are too high to reach)."""
    rate_limits(
        {"login-account": base.RATE_LIMITS["login-account"], "login-address": (1_000_000, 900.0)}
    )


@pytest.fixture
def ana(db):
    return User.objects.create_user("ana", password="right-password")


def _login(username: str, password: str, *, address: str = "10.0.0.1", path: str = LOGIN):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def _fail(times: int, *, username: str = "ana") -> None:
    # Each from its own address: only the account's count can stop them.
    codes = [
        _login(username, "guess", address=f"10.9.{n // 250}.{n % 250}").status_code
        for n in range(times)
    ]
    assert codes == [200] * times  # the form again, with its error


def test_the_default_keeps_within_asvs_2_2_1():
    count, seconds = base.RATE_LIMITS["login-account"]
    assert (count, seconds) == (10, 900.0)
    # Fixed windows aligned to the clock: an hour meets at most ceil(3600 / seconds) + 1 of them.
    assert count * (math.ceil(3600 / seconds) + 1) <= 100
    # Besides the per-address limit.
    assert base.RATE_LIMITS["login-address"] == (200, 900.0)


def test_the_limit_counts_per_account_across_addresses(default_limits, ana):
    with time_machine.travel(QUARTER_PAST, tick=False):
        _fail(10)
        # The eleventh, from yet another address and with the right password, is refused.
        assert _login("ana", "right-password", address="192.0.2.1").status_code == 429
        # Another account is not locked, whatever address its people use.
        User.objects.create_user("bo", password="bo-password")
        assert _login("bo", "bo-password", address="10.9.0.1").status_code == 302


def test_the_login_page_says_when_to_try_again(default_limits, ana):
    with time_machine.travel(QUARTER_PAST, tick=False):
        _fail(10)
        for path in (LOGIN, ADMIN_LOGIN):
            response = _login("ana", "right-password", path=path)
            assert (response.status_code, response["Retry-After"]) == (429, "700")
            page = response.content.decode()
            assert "You may try again at 10:15 UTC (in 12 minutes)." in page
            assert 'name="password"' in page  # the login form, to try again later
            assert "sessionid" not in response.cookies
    with time_machine.travel(QUARTER_PAST.replace(minute=15, second=0), tick=False):
        assert _login("ana", "right-password").status_code == 302


def test_staff_lift_a_lock_from_the_admin(default_limits, ana):
    manager = User.objects.create_user("manager", is_staff=True)
    manager.user_permissions.add(Permission.objects.get(codename="lift_login_lock"))
    staff = Client()
    staff.force_login(manager)
    with time_machine.travel(QUARTER_PAST, tick=False):
        _fail(10)
        assert _login("ana", "right-password").status_code == 429
        page = staff.get(LOCKS, {"q": "ana"})
        assert page.status_code == 200
        assert "2026-12-07 10:15:00 UTC" in page.content.decode()
        response = staff.post(
            LOCKS, {"action": "lift_login_lock", "_selected_action": [ana.pk]}, follow=True
        )
        assert "Login lock lifted for ana" in response.content.decode()
        assert "10:15:00" not in staff.get(LOCKS, {"q": "ana"}).content.decode()
        assert _login("ana", "right-password").status_code == 302


def test_only_staff_with_the_permission_see_the_locks(ana):
    barista = User.objects.create_user("bob", is_staff=True)
    barista.user_permissions.add(Permission.objects.get(codename="act_as_barista"))
    client = Client()
    client.force_login(barista)
    assert client.get(LOCKS).status_code == 403
    response = client.post(LOCKS, {"action": "lift_login_lock", "_selected_action": [ana.pk]})
    assert response.status_code == 403
    # Nothing of an account can be changed or deleted there, even by a superuser.
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="root-password-1"))
    assert admin.get(f"{LOCKS}{ana.pk}/delete/").status_code == 403
    assert admin.get(f"{LOCKS}add/").status_code == 403


def test_the_settings_override_the_limit(rate_limits, ana):
    rate_limits({"login-account": (2, 60.0), "login-address": (1_000_000, 60.0)})
    with time_machine.travel(QUARTER_PAST, tick=False) as clock:
        _fail(2)
        response = _login("ana", "right-password")
        assert (response.status_code, response["Retry-After"]) == (429, "40")
        clock.shift(timedelta(seconds=41))
        assert _login("ana", "right-password").status_code == 302


def test_the_environment_overrides_the_default(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_LOGIN_ACCOUNT", "5/600")
    assert base._rate("RATE_LIMIT_LOGIN_ACCOUNT", "10/900") == (5, 600.0)
