"""The manager's report's reads: the orders started in a range, grouped in the database where
that is cheap (by quarter hour and outcome, by drink, by option), else as few columns of one
query's rows. Every read is bounded by the index on Order.created_at."""

from datetime import datetime

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.fields.json import KT

from orders.models import Order
from orders.models.report import Epoch, QuarterHour, options_count
from orders.services.order_processor import (
    BARISTA_TIMED_OUT,
    CUSTOMER_CANCELLED,
    CUSTOMER_TIMED_OUT,
    ORDER_CANCELLED,
    SHOP_UNAVAILABLE,
)

# How an order ended, as the report counts it, read from the order's row in SQL. A cancellation
# is a barista's when someone other than the customer asked for it (Order.cancelled_by); one
# recorded before cancelled_by existed counts as the customer's.
_CANCELLED = Q(reason__in=[CUSTOMER_CANCELLED, ORDER_CANCELLED])
OUTCOME = Case(
    When(status=Order.Status.COMPLETED, then=Value("completed")),
    When(status=Order.Status.CREATED, then=Value("open")),
    When(
        reason=SHOP_UNAVAILABLE,
        refused_because=Order.Refusal.CLOSED,
        then=Value("refused_closed"),
    ),
    When(reason=SHOP_UNAVAILABLE, then=Value("refused_full")),
    When(reason=CUSTOMER_TIMED_OUT, then=Value("timed_out_customer")),
    When(reason=BARISTA_TIMED_OUT, then=Value("timed_out_barista")),
    When(
        _CANCELLED & ~Q(cancelled_by="") & ~Q(cancelled_by=F("user_id")),
        then=Value("cancelled_barista"),
    ),
    When(_CANCELLED, then=Value("cancelled_customer")),
    default=Value("stopped"),
    output_field=CharField(),
)


def _started(start: datetime, end: datetime) -> QuerySet[Order]:
    return Order.objects.filter(created_at__gte=start, created_at__lt=end).order_by()


def outcomes_by_quarter(*, start: datetime, end: datetime) -> list[tuple[int, str, int]]:
    """(quarter hour in epoch seconds, outcome, orders), one GROUP BY."""
    rows = (
        _started(start, end)
        .annotate(quarter=QuarterHour("created_at"), outcome=OUTCOME)
        .values_list("quarter", "outcome")
        .annotate(orders=Count("pk"))
    )
    return [(int(quarter), outcome, orders) for quarter, outcome, orders in rows]


def completed_timings(*, start: datetime, end: datetime) -> list[tuple]:
    """(quarter hour, submitted, made, ended, barista) of each completed order, its moments in
    epoch seconds (None where not recorded)."""
    return list(
        _started(start, end)
        .filter(status=Order.Status.COMPLETED)
        .annotate(quarter=QuarterHour("created_at"))
        .values_list(
            "quarter", Epoch("submitted_at"), Epoch("made_at"), Epoch("ended_at"), "barista"
        )
    )


def drinks_count(*, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """(drink, orders) for the orders whose customer chose a drink, one GROUP BY."""
    rows = (
        _started(start, end)
        .filter(drink__isnull=False)
        .annotate(name=KT("drink__drink"))
        .values_list("name")
        .annotate(orders=Count("pk"))
    )
    return [(str(name), orders) for name, orders in rows]


def options_chosen(*, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(modifier, option, orders) for the drinks chosen."""
    return options_count(start=start, end=end)


def waits(*, start: datetime, end: datetime) -> list[tuple[float, float | None]]:
    """(submitted, ended) in epoch seconds of each order that waited for a barista (ended None:
    still waiting)."""
    return list(
        _started(start, end)
        .filter(submitted_at__isnull=False)
        .values_list(Epoch("submitted_at"), Epoch("ended_at"))
    )
