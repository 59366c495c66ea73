"""Sold out in one tap: the periods (orders.services.sold_out), the menu that leaves out and
refuses what is sold out, the event on the config topic, the barista's toggle and the minutes
the manager's report reads."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from orders.errors import SoldOut
from orders.models import Drink, MenuItemOff, Order
from orders.services.bus import admin_topic, config_topic
from orders.services.menu import drink_validate, menu_available
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT
from orders.services.sold_out import (
    MENU_CHANGED,
    MenuItem,
    mark_back,
    mark_sold_out,
    menu_toggles,
    sold_out_minutes,
    sold_out_now,
)
from stepfunctions.errors import ValidationException
from stepfunctions.models import Event
from tests.orders.test_coffee_bar_pages import _latte, _start
from tests.stepfunctions.test_races import _run_together

OAT = MenuItem(modifier="Milk", option="Oat")
LATTE = MenuItem(drink="Latte")


def _changes() -> list[tuple[str, bool, str]]:
    return [
        (e.detail["item"], e.detail["available"], e.detail["changedBy"])
        for e in Event.objects.filter(detail_type=MENU_CHANGED).order_by("time")
    ]


def test_marking_and_bringing_back_are_idempotent_with_one_event_per_change(db):
    assert mark_sold_out(item=OAT, by="bob") is True
    assert mark_sold_out(item=OAT, by="carol") is False  # already off: still bob's period
    assert sold_out_now() == {OAT}
    assert mark_back(item=OAT, by="bob") is True
    assert mark_back(item=OAT, by="bob") is False
    assert mark_back(item=LATTE, by="bob") is False  # never off
    assert sold_out_now() == set()
    assert mark_sold_out(item=OAT, by="bob") is True  # out again: a second period
    periods = list(MenuItemOff.objects.order_by("id").values_list("started_by", "ended_by"))
    assert periods == [("bob", "bob"), ("bob", "")]
    assert _changes() == [
        ("Milk: Oat", False, "bob"),
        ("Milk: Oat", True, "bob"),
        ("Milk: Oat", False, "bob"),
    ]


def test_an_item_the_menu_does_not_have_is_refused(db):
    for item in (MenuItem(drink="Whisky"), MenuItem(modifier="Milk", option="Whisky")):
        with pytest.raises(ValidationException, match="Whisky"):
            mark_sold_out(item=item, by="bob")
    assert not MenuItemOff.objects.exists() and not _changes()


def test_the_database_holds_one_open_period_per_item(db):
    latte = Drink.objects.get(name="Latte")
    at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    MenuItemOff.objects.create(drink=latte, started_at=at, started_by="bob")
    MenuItemOff.objects.create(modifier="Milk", option="Oat", started_at=at, started_by="bob")
    for row in (
        {"drink": latte},
        {"modifier": "Milk", "option": "Oat"},
        {"drink": latte, "modifier": "Milk", "option": "Oat"},  # both: neither a drink nor one
        {},  # neither
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            MenuItemOff.objects.create(**row, started_at=at, started_by="carol")
    # Once closed, the item may go off again.
    MenuItemOff.objects.filter(drink=latte).update(ended_at=at + timedelta(minutes=5))
    MenuItemOff.objects.create(drink=latte, started_at=at, started_by="carol")


def test_two_baristas_tapping_at_once_open_one_period(transactional_db):
    """Real threads (on PostgreSQL, real concurrent transactions): each round, both mark the same
    item sold out, then both bring it back; one wins each time, one event each."""
    for round_ in range(10):
        marked = _run_together(
            lambda: mark_sold_out(item=OAT, by="bob"), lambda: mark_sold_out(item=OAT, by="cy")
        )
        assert sorted(marked) == [False, True], (round_, marked)
        assert MenuItemOff.objects.open().count() == 1
        back = _run_together(
            lambda: mark_back(item=OAT, by="bob"), lambda: mark_back(item=OAT, by="cy")
        )
        assert sorted(back) == [False, True], (round_, back)
    assert MenuItemOff.objects.count() == 10 and not MenuItemOff.objects.open().exists()
    assert Event.objects.filter(detail_type=MENU_CHANGED).count() == 20


def test_sold_out_minutes_clips_each_period_to_the_range(db):
    day = datetime(2026, 12, 7, tzinfo=UTC)

    def at(hour: int, minute: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute)

    mark_sold_out(item=OAT, by="bob", at=at(8))
    mark_back(item=OAT, by="bob", at=at(8, 30))  # before the range: not counted
    mark_sold_out(item=OAT, by="bob", at=at(10))
    mark_back(item=OAT, by="bob", at=at(10, 30))  # 15 minutes inside the range
    mark_sold_out(item=LATTE, by="bob", at=at(10, 50))
    mark_back(item=LATTE, by="bob", at=at(11, 5))  # 15 minutes, all inside
    mark_sold_out(item=OAT, by="bob", at=at(11))  # still off: up to the range's end
    with time_machine.travel(at(12), tick=False):
        assert sold_out_minutes(at(10, 15), at(11, 10)) == [("Milk: Oat", 25.0), ("Latte", 15.0)]
        # A range reaching past now counts an open period up to now only.
        assert sold_out_minutes(at(11, 30), at(18)) == [("Milk: Oat", 30.0)]
        assert sold_out_minutes(at(6), at(7)) == []


def test_the_menu_leaves_out_what_is_sold_out(db):
    mark_sold_out(item=OAT, by="bob")
    mark_sold_out(item=MenuItem(drink="Espresso"), by="bob")
    menu = {d.name: {m.name: m.options for m in d.modifiers.all()} for d in menu_available()}
    assert "Espresso" not in menu
    assert menu["Latte"] == {"Milk": ["Regular", "Soy"], "Syrup": ["None", "Vanilla", "Caramel"]}
    # The rows in the database keep every option.
    latte = Drink.objects.get(name="Latte")
    assert latte.modifiers.get(name="Milk").options == ["Regular", "Oat", "Soy"]
    drinks, modifiers = menu_toggles()
    assert [(t.item.drink, t.off) for t in drinks][:2] == [
        ("Espresso", True),
        ("Cappuccino", False),
    ]
    milk = dict(modifiers)["Milk"]
    assert [(t.item.option, t.off) for t in milk] == [
        ("Regular", False),
        ("Oat", True),
        ("Soy", False),
        ("None", False),
    ]


def test_a_drink_whose_every_option_is_sold_out_is_left_out(db):
    for option in ("Single", "Double"):
        mark_sold_out(item=MenuItem(modifier="Shots", option=option), by="bob")
    assert "Espresso" not in [d.name for d in menu_available()]
    with pytest.raises(SoldOut, match="no Shots is left"):
        drink_validate(drink={"drink": "Espresso"})


def test_a_sold_out_choice_is_refused_in_plain_words(db):
    mark_sold_out(item=OAT, by="bob")
    with pytest.raises(SoldOut, match="Sorry, Oat is sold out right now: choose another Milk"):
        drink_validate(drink={"drink": "Latte", "modifiers": {"Milk": "Oat"}})
    # Left out, a modifier takes its first option still there.
    mark_sold_out(item=MenuItem(modifier="Milk", option="Regular"), by="bob")
    assert drink_validate(drink={"drink": "Latte"})["modifiers"]["Milk"] == "Soy"
    mark_sold_out(item=LATTE, by="bob")
    with pytest.raises(SoldOut, match="Sorry, the Latte is sold out right now"):
        drink_validate(drink={"drink": "Latte", "modifiers": {"Milk": "Soy"}})
    mark_back(item=LATTE, by="bob")
    mark_back(item=OAT, by="bob")
    assert drink_validate(drink={"drink": "Latte", "modifiers": {"Milk": "Oat"}})


def test_a_stale_page_cannot_order_what_sold_out_and_submitted_orders_keep_theirs(
    client, alice, barista_client
):
    before = _start(client)
    client.post(reverse("orders:order_drink", args=[before.order_id]), _latte(before))
    before.refresh_from_db()
    assert before.workflow_state == BARISTA_WAIT and before.drink["modifiers"]["Milk"] == "Oat"

    url = reverse("admin:orders_queuedorder_sold_out")
    response = barista_client.post(url, {"modifier": "Milk", "option": "Oat", "off": "1"})
    assert response.status_code == 302
    queue = barista_client.get(reverse("admin:orders_queuedorder_changelist")).content.decode()
    assert "Milk: Oat is sold out: customers no longer see it." in queue
    assert 'aria-pressed="true" data-item="Milk: Oat">Oat: sold out</button>' in queue
    # The order submitted before is untouched, in the queue with its Oat.
    before.refresh_from_db()
    assert before.drink["modifiers"]["Milk"] == "Oat" and before.workflow_state == BARISTA_WAIT

    Order.objects.filter(pk=before.pk).update(status=Order.Status.COMPLETED)
    stale = _start(client)
    page = client.get(reverse("orders:order_panel", args=[stale.order_id])).content.decode()
    assert 'value="Soy"' in page and 'value="Oat"' not in page
    response = client.post(
        reverse("orders:order_drink", args=[stale.order_id]), _latte(stale), follow=True
    )
    assert "Sorry, Oat is not available right now: choose another Milk." in (
        response.content.decode()
    )
    stale.refresh_from_db()
    assert stale.workflow_state == CUSTOMER_WAIT and stale.drink is None

    # The JSON answer of the strip's script, and the Undo.
    response = barista_client.post(
        url, {"modifier": "Milk", "option": "Oat", "off": "0"}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {
        "message": "Milk: Oat is back: customers can choose it again.",
        "item": "Milk: Oat",
        "off": False,
    }
    client.post(reverse("orders:order_drink", args=[stale.order_id]), _latte(stale))
    stale.refresh_from_db()
    assert stale.drink["modifiers"]["Milk"] == "Oat"


def test_only_baristas_mark_sold_out(client, alice, barista_client):
    url = reverse("admin:orders_queuedorder_sold_out")
    item = {"modifier": "Milk", "option": "Oat", "off": "1"}
    response = client.post(url, item)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    alice.is_staff = True
    alice.save()
    assert client.post(url, item).status_code == 403
    assert barista_client.get(url).status_code == 405
    assert not MenuItemOff.objects.exists()
    response = barista_client.post(
        url, {"drink": "Whisky", "off": "1"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and "Whisky" in response.json()["message"]


@pytest.fixture
def config_heard(transactional_db):
    """What the config topic and the admin topic hear: [(topic, envelope)], read when called."""
    subscriber = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    subscriber.subscribe(config_topic(), admin_topic())
    for _ in range(2):
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"

    def read() -> list[tuple[str, dict]]:
        heard = []
        while (message := subscriber.get_message(timeout=0.2)) is not None:
            if message["type"] == "message":
                heard.append((message["channel"].decode(), json.loads(message["data"])))
        return heard

    yield read
    subscriber.close()


def test_each_change_is_published_on_the_config_topic_after_commit(config_heard):
    with transaction.atomic():
        mark_sold_out(item=OAT, by="bob")
        assert config_heard() == []  # not before the change commits
    heard = config_heard()
    assert sorted(topic for topic, _ in heard) == sorted([config_topic(), admin_topic()])
    envelope = heard[0][1]
    assert envelope["detail-type"] == MENU_CHANGED == "ConfigService.MenuChanged"
    assert envelope["detail"] == {
        "item": "Milk: Oat",
        "drink": None,
        "modifier": "Milk",
        "option": "Oat",
        "available": False,
        "changedBy": "bob",
    }
    mark_sold_out(item=OAT, by="bob")  # no change: nothing to tell
    assert config_heard() == []
    mark_back(item=OAT, by="cy")
    assert [e["detail"]["available"] for _, e in config_heard()] == [True, True]


def test_the_manager_reads_the_periods_in_the_admin(admin_client):
    mark_sold_out(item=OAT, by="bob")
    mark_sold_out(item=LATTE, by="cy")
    mark_back(item=LATTE, by="bob")
    page = admin_client.get(reverse("admin:orders_menuitemoff_changelist")).content.decode()
    assert "Milk: Oat" in page and "Latte" in page and "cy" in page
    assert admin_client.get(reverse("admin:orders_menuitemoff_add")).status_code == 403


def test_the_api_refuses_a_sold_out_option_and_the_wait_goes_on(client, alice):
    mark_sold_out(item=OAT, by="bob")
    order = _start(client)
    response = client.post(
        f"/api/orders/{order.order_id}/submit",
        {"drink": {"drink": "Latte", "modifiers": {"Milk": "Oat"}}},
        content_type="application/json",
    )
    assert response.status_code == 409 and response.json()["error"] == "SoldOut"
    assert "Oat is sold out" in json.dumps(response.json())
    order.refresh_from_db()
    assert order.workflow_state == CUSTOMER_WAIT and order.drink is None
