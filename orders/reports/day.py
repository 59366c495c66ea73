"""The manager's report of a range of the bar's local days: how many orders, how each ended,
how long they took, what was drunk, when it was busiest and the longest queue.

A pure summary of the range's orders at the time it is asked: nothing is stored. Quarter hours
are the bar's local ones (settings.TIME_ZONE); a range covers whole local days, from the first
day's midnight to the midnight after the last.
"""

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from orders.reports import reads

QUARTER = timedelta(minutes=15)
# A longer range would draw thousands of quarter hours no one can read.
MAX_DAYS = 31

# The outcomes in the order the charts stack them, with their words.
OUTCOMES = {
    "completed": "Completed",
    "cancelled_customer": "Cancelled by the customer",
    "cancelled_barista": "Cancelled by a barista",
    "timed_out_customer": "Timed out waiting for the customer",
    "timed_out_barista": "Timed out waiting for a barista",
    "refused_closed": "Refused: the shop was closed",
    "refused_full": "Refused: the shop was full",
    "stopped": "Stopped or failed",
    "open": "Still open",
}


@dataclass(frozen=True)
class DayRange:
    """The bar's local days `first` to `last`, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def day_range_parse(*, first: str | None, last: str | None, today: date) -> DayRange:
    """The range of the report's form: ISO dates, `last` defaulting to `first`, `first` to
    `today`. ValueError, in words, for a date that is not one, a range backwards or one longer
    than MAX_DAYS."""

    def parsed(value: str, name: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"The {name} date {value!r} is not a date (YYYY-MM-DD).") from None

    begin = parsed(first, "first") if first else today
    finish = parsed(last, "last") if last else begin
    if finish < begin:
        raise ValueError("The last day comes before the first.")
    if (finish - begin).days + 1 > MAX_DAYS:
        raise ValueError(f"A report covers at most {MAX_DAYS} days.")
    return DayRange(begin, finish)


@dataclass(frozen=True)
class Timing:
    """Seconds taken by `count` orders: the median and the 90th percentile (nearest rank)."""

    count: int
    median: float
    p90: float


def timing_of(seconds: Sequence[float]) -> Timing | None:
    if not seconds:
        return None
    ranked = sorted(seconds)
    return Timing(
        count=len(ranked),
        median=statistics.median(ranked),
        p90=ranked[math.ceil(0.9 * len(ranked)) - 1],
    )


@dataclass(frozen=True)
class Queue:
    """The most orders waiting for a barista at once, and when it first got that long."""

    longest: int
    at: datetime | None


def queue_longest(waits: Sequence[tuple[Any, Any]]) -> Queue:
    """A sweep over the waits' (start, end) moments, an end None for a wait not over (an end
    and a start at the same instant: the end first, so an order handed over as the next comes
    in does not count twice). Moments of any one kind: datetimes, or epoch seconds."""
    steps = [(submitted, 1) for submitted, _ in waits]
    steps += [(ended, -1) for _, ended in waits if ended is not None]
    steps.sort()
    waiting, longest, at = 0, 0, None
    for when, step in steps:
        waiting += step
        if waiting > longest:
            longest, at = waiting, when
    return Queue(longest, at)


@dataclass(frozen=True)
class Quarter:
    """One quarter hour (its local start): orders started by outcome, order-to-ready timing."""

    start: datetime
    outcomes: dict[str, int]
    ready: Timing | None

    @property
    def orders(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True)
class Report:
    range: DayRange
    quarters: list[Quarter]  # each day's, from its first order to its last (_quarters_shown)
    totals: dict[str, int]  # orders by outcome
    ready: Timing | None  # order (drink submitted) to ready, all completed orders
    baristas: dict[str, Timing]  # "Make" to complete, by barista
    drinks: list[tuple[str, int]]  # most ordered first
    options: list[tuple[str, str, int]]  # (modifier, option, orders), by modifier, most first
    busiest: Quarter | None
    queue: Queue
    items_off: list[tuple[str, float]] = field(default_factory=list)  # (item, minutes off)

    @property
    def orders(self) -> int:
        return sum(self.totals.values())


def _local(epoch: float) -> datetime:
    return timezone.localtime(datetime.fromtimestamp(epoch, tz=UTC))


def _seconds(since: float | None, until: float | None) -> float | None:
    if since is None or until is None or until < since:
        return None
    # The database's epoch seconds, to the millisecond (SQLite's julianday is a little off).
    return round(until - since, 3)


def _quarters_shown(counts: dict[int, Any]) -> list[int]:
    """The quarter hours (epoch seconds) the charts show: each local day's from its first order
    to its last, the quiet ones between included; the nights between days left out."""
    step = int(QUARTER.total_seconds())
    spans: dict[date, tuple[int, int]] = {}
    for epoch in counts:
        day = _local(epoch).date()
        first, last = spans.get(day, (epoch, epoch))
        spans[day] = (min(first, epoch), max(last, epoch))
    return [
        epoch for day in sorted(spans) for epoch in range(spans[day][0], spans[day][1] + 1, step)
    ]


def _local_queue(queue: Queue) -> Queue:
    """The queue, its moment from epoch seconds to the bar's local time (to the millisecond)."""
    if queue.at is None:
        return queue
    return Queue(queue.longest, _local(round(queue.at, 3)))


# Minutes each menu item (a drink or a modifier's option) was marked sold out in the range, most
# first. "Sold out" is another change's: it hands its reader to report_compute (items_off).
ItemsOff = Callable[[datetime, datetime], list[tuple[str, float]]]


def items_off_none(start: datetime, end: datetime) -> list[tuple[str, float]]:
    """No item is ever off until the bar records sold-out items."""
    return []


def report_compute(*, days: DayRange, items_off: ItemsOff = items_off_none) -> Report:
    """The report of `days`: five reads of the orders started in them, the rest in Python."""
    start, end = days.start, days.end
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    totals = dict.fromkeys(OUTCOMES, 0)
    for quarter, outcome, orders in reads.outcomes_by_quarter(start=start, end=end):
        counts[quarter][outcome] = orders
        totals[outcome] += orders
    ready_by_quarter: dict[int, list[float]] = defaultdict(list)
    made_by: dict[str, list[float]] = defaultdict(list)
    for quarter, submitted, made, ended, barista in reads.completed_timings(start=start, end=end):
        ready = _seconds(submitted, ended)
        if ready is not None:
            ready_by_quarter[quarter].append(ready)
        making = _seconds(made, ended)
        if making is not None and barista:
            made_by[barista].append(making)
    quarters = [
        Quarter(
            _local(epoch),
            {key: counts[epoch].get(key, 0) for key in OUTCOMES},
            timing_of(ready_by_quarter[epoch]),
        )
        for epoch in _quarters_shown(counts)
    ]
    # The earliest of the busiest, if two tie (max keeps the first it meets).
    busiest = max(quarters, key=lambda q: q.orders, default=None)
    options = sorted(reads.options_chosen(start=start, end=end), key=lambda r: (r[0], -r[2], r[1]))
    return Report(
        range=days,
        quarters=quarters,
        totals=totals,
        ready=timing_of([s for seconds in ready_by_quarter.values() for s in seconds]),
        baristas={name: timing_of(made_by[name]) for name in sorted(made_by)},
        drinks=sorted(reads.drinks_count(start=start, end=end), key=lambda r: (-r[1], r[0])),
        options=options,
        busiest=busiest if busiest is not None and busiest.orders else None,
        queue=_local_queue(queue_longest(reads.waits(start=start, end=end))),
        items_off=items_off(start, end),
    )
