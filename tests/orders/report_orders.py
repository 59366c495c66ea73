"""A crafted day of orders for the manager's report's tests, each number worked out by hand in
tests/orders/test_day_report.py."""

from datetime import date, datetime, time

from django.utils import timezone

from orders.models import Order

DAY = date(2026, 3, 10)


def at(hh_mm: str, day: date = DAY) -> datetime:
    hours, minutes = (int(part) for part in hh_mm.split(":"))
    return timezone.make_aware(datetime.combine(day, time(hours, minutes)))


def latte(milk: str, syrup: str) -> dict:
    return {"drink": "Latte", "icon": "☕", "modifiers": {"Milk": milk, "Syrup": syrup}}


def one(drink: str, modifier: str, option: str) -> dict:
    return {"drink": drink, "icon": "☕", "modifiers": {modifier: option}}


CANCELLED, COMPLETED, CREATED = (
    Order.Status.CANCELLED,
    Order.Status.COMPLETED,
    Order.Status.CREATED,
)
LATTE_OV, LATTE_RN, LATTE_ON = (
    latte("Oat", "Vanilla"),
    latte("Regular", "None"),
    latte("Oat", "None"),
)
DOUBLE, SINGLE = one("Espresso", "Shots", "Double"), one("Espresso", "Shots", "Single")
CAPPU_O, AMERICANO = one("Cappuccino", "Milk", "Oat"), one("Americano", "Milk", "None")
FLAT_S = one("Flat White", "Milk", "Soy")
# (name, created, submitted, made, ended, status, reason, cancelled_by, refused, barista, drink)
ORDERS = [
    ("A", "09:00", "09:01", "09:02", "09:05", COMPLETED, "", "", "", "bob", LATTE_OV),
    ("B", "09:03", "09:04", "09:06", "09:10", COMPLETED, "", "", "", "bob", LATTE_RN),
    ("C", "09:07", "09:08", "09:09", "09:20", COMPLETED, "", "", "", "carol", DOUBLE),
    ("D", "09:08", "09:09", None, "09:14", CANCELLED, "Order cancelled", "cust-D", "", "", LATTE_ON),
    ("E", "09:12", None, None, "09:13", CANCELLED, "Customer cancelled", "cust-E", "", "", None),
    ("F", "09:16", "09:17", None, "09:19", CANCELLED, "Order cancelled", "bob", "", "", CAPPU_O),
    ("G", "09:20", None, None, "09:35", CANCELLED, "Customer timedout", "", "", "", None),
    ("H", "09:21", "09:22", None, "09:40", CANCELLED, "Barista timedout", "", "", "", SINGLE),
    ("I", "09:31", None, None, "09:31", CANCELLED, "Shop unavailable", "", "closed", "", None),
    ("J", "09:32", None, None, "09:32", CANCELLED, "Shop unavailable", "", "full", "", None),
    ("K", "09:33", None, None, "09:34", CANCELLED, "Stopped by the shop", "", "", "", None),
    ("L", "09:50", "09:51", None, None, CREATED, "", "", "", "", AMERICANO),
    ("M", "10:05", "10:06", None, "10:08", COMPLETED, "", "", "", "carol", FLAT_S),
]  # fmt: skip


def order_add(name: str, created: datetime, **fields) -> Order:
    """An order as if started at `created` (created_at is set by the database on insert)."""
    order = Order.objects.create(order_id=f"report-{name}", user_id=f"cust-{name}", **fields)
    Order.objects.filter(pk=order.pk).update(created_at=created)
    return order


def crafted_day() -> None:
    """ORDERS, and two orders just outside DAY (the evening before, the midnight after)."""

    def when(value: str | None) -> datetime | None:
        return at(value) if value else None

    for (
        name,
        created,
        submitted,
        made,
        ended,
        status,
        reason,
        by,
        refused,
        barista,
        drink,
    ) in ORDERS:
        order_add(
            name,
            at(created),
            submitted_at=when(submitted),
            made_at=when(made),
            ended_at=when(ended),
            status=status,
            reason=reason,
            cancelled_by=by,
            refused_because=refused,
            barista=barista,
            drink=drink,
        )
    evening = timezone.make_aware(datetime(2026, 3, 9, 23, 59))
    order_add("before", evening, status=COMPLETED, drink=latte("Oat", "None"))
    midnight = timezone.make_aware(datetime(2026, 3, 11, 0, 0))
    order_add("after", midnight, status=COMPLETED, drink=latte("Oat", "None"))
