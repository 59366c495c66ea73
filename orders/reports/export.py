"""The manager's report as CSV, the same numbers as the page: one row per number, as
(section, label, measure, value), so a spreadsheet can filter and pivot it. Times are the bar's
local ones; durations in seconds."""

import csv
import io
from collections.abc import Iterator

from orders.reports.day import OUTCOMES, Report, Timing

HEADER = ("section", "label", "measure", "value")
# A cell a spreadsheet would read as a formula (OWASP's CSV injection): a barista's username may
# start with + - @, a drink's name with anything the menu's editor typed.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA):
        return f"'{value}"
    return value


def _timing(section: str, label: str, timing: Timing) -> Iterator[tuple]:
    yield section, label, "orders", timing.count
    yield section, label, "median seconds", round(timing.median, 1)
    yield section, label, "90th percentile seconds", round(timing.p90, 1)


def report_rows(report: Report) -> Iterator[tuple]:
    days = report.range
    yield "range", "first day", "date", days.first.isoformat()
    yield "range", "last day", "date", days.last.isoformat()
    for key, label in OUTCOMES.items():
        yield "orders", "all", label, report.totals[key]
    for quarter in report.quarters:
        when = f"{quarter.start:%Y-%m-%d %H:%M}"
        for key, label in OUTCOMES.items():
            if quarter.outcomes[key]:
                yield "orders per quarter hour", when, label, quarter.outcomes[key]
        if quarter.ready:
            yield from _timing("order to ready per quarter hour", when, quarter.ready)
    if report.ready:
        yield from _timing("order to ready", "all", report.ready)
    for barista, timing in report.baristas.items():
        yield from _timing("make to complete per barista", barista, timing)
    for drink, orders in report.drinks:
        yield "drinks", drink, "orders", orders
    for modifier, option, orders in report.options:
        yield "options", f"{modifier}: {option}", "orders", orders
    if report.busiest:
        yield (
            "busiest quarter hour",
            f"{report.busiest.start:%Y-%m-%d %H:%M}",
            "orders",
            (report.busiest.orders),
        )
    queue = report.queue
    at = f"{queue.at:%Y-%m-%d %H:%M:%S}" if queue.at else ""
    yield "longest queue", at, "orders waiting", queue.longest
    for item, minutes in report.items_off:
        yield "sold out", item, "minutes off", round(minutes, 1)


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows([_cell(value) for value in row] for row in report_rows(report))
    return out.getvalue()
