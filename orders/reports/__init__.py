"""The manager's report: a range of the bar's days in numbers (day), as SVG charts (charts) and
as CSV (export), read from the orders (reads)."""

from orders.reports.charts import report_charts
from orders.reports.day import (
    MAX_DAYS,
    OUTCOMES,
    DayRange,
    Report,
    day_range_parse,
    items_off_none,
    report_compute,
)
from orders.reports.export import report_csv

__all__ = [
    "MAX_DAYS",
    "OUTCOMES",
    "DayRange",
    "Report",
    "day_range_parse",
    "items_off_none",
    "report_charts",
    "report_compute",
    "report_csv",
]
