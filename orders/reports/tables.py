"""The manager's report's numbers as the page's tables: text beside each chart, so they can be
read, copied and heard by a screen reader. Durations as minutes and seconds."""

from orders.reports.day import OUTCOMES, Report, Timing


def duration(seconds: float | None) -> str:
    """ "4 min 05 s" (or "—" for none)."""
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _timing(timing: Timing | None) -> list[str]:
    if timing is None:
        return ["0", "—", "—"]
    return [str(timing.count), duration(timing.median), duration(timing.p90)]


def report_tables(report: Report) -> dict:
    """Each section's header and rows, as strings."""
    shown = [key for key in OUTCOMES if report.totals[key]]
    many_days = report.range.days > 1
    when = "%a %d %b %H:%M" if many_days else "%H:%M"
    return {
        "totals": [(OUTCOMES[key], report.totals[key]) for key in OUTCOMES],
        "outcomes": {
            "header": ["Quarter hour", *(OUTCOMES[key] for key in shown), "All"],
            "rows": [
                [f"{q.start:{when}}", *(str(q.outcomes[key]) for key in shown), str(q.orders)]
                for q in report.quarters
                if q.orders
            ],
        },
        "ready": {
            "header": ["Quarter hour", "Completed", "Median", "90th percentile"],
            "rows": [[f"{q.start:{when}}", *_timing(q.ready)] for q in report.quarters if q.ready],
        },
        "baristas": {
            "header": ["Barista", "Orders", "Median", "90th percentile"],
            "rows": [[name, *_timing(t)] for name, t in report.baristas.items()],
        },
        "ready_all": _timing(report.ready),
    }
