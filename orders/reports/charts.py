"""The manager's report drawn as SVG on the server, with pygal: no script, nothing fetched.

Each chart is an inline <svg role="img"> named by its own <title> and <desc>, so a screen reader
hears what it shows (the numbers themselves are in the tables beside it). pygal's tooltips need
its JavaScript, which it would fetch from a CDN: charts are drawn without it (js=[]), and its
inline config script, the tooltip groups only that script shows and each value's <desc> it
reads are left out, with the comments naming pygal's site. The one <style> each chart carries
bears the nonce of the page's Content-Security-Policy.
"""

import xml.etree.ElementTree as ET

import pygal
from pygal.style import Style

from orders.reports.day import OUTCOMES, Report

# Colours of at least 3:1 on white (WCAG 1.4.11), one per outcome, kept across charts.
OUTCOME_COLOURS = {
    "completed": "#1a7f37",
    "cancelled_customer": "#8250df",
    "cancelled_barista": "#bf3989",
    "timed_out_customer": "#9a6700",
    "timed_out_barista": "#bc4c00",
    "refused_closed": "#57606a",
    "refused_full": "#cf222e",
    "stopped": "#24292f",
    "open": "#0969da",
}
MEDIAN, P90 = "#0969da", "#bc4c00"
WIDTH, HEIGHT = 960, 400
_TEXT = "#1f2328"  # 15.8:1 on white


def _style(colours: tuple[str, ...]) -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground=_TEXT,
        foreground_strong=_TEXT,
        foreground_subtle="#59636e",
        opacity="1",
        opacity_hover="1",
        colors=colours,
        font_family="system-ui, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=14,
        title_font_size=16,
        value_font_size=13,
    )


def _config(colours: tuple[str, ...], **options) -> dict:
    return {
        "js": [],
        "disable_xml_declaration": True,
        "width": WIDTH,
        "height": HEIGHT,
        "style": _style(colours),
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "truncate_legend": -1,
        "print_values": False,
        "show_minor_x_labels": False,
        **options,
    }


def _svg(chart, *, name: str, desc: str, nonce: str) -> str:
    """The chart as inline SVG: named by its <title> and <desc> (ids `name`-title, -desc)."""
    root = chart.render_tree()
    for parent in root.iter():
        for child in list(parent):
            # Comments (pygal's site), the config script (its JavaScript's, which is not loaded)
            # and the script-only tooltips go; nothing else is changed.
            if (
                not isinstance(child.tag, str)
                or child.tag == "script"
                or "tooltip" in child.get("class", "").split()
                or (child.tag == "desc" and child.get("class"))  # each value's, for tooltips
            ):
                parent.remove(child)
    for style in root.iter("style"):
        style.set("nonce", nonce)
    title = root.find("title")
    if title is None:
        title = ET.Element("title")
        root.insert(0, title)
        title.text = name
    title.set("id", f"{name}-title")
    described = ET.Element("desc", {"id": f"{name}-desc"})
    described.text = desc
    root.insert(list(root).index(title) + 1, described)
    root.set("role", "img")
    root.set("aria-labelledby", f"{name}-title {name}-desc")
    root.set("class", f"{root.get('class', '')} report-chart".strip())
    return ET.tostring(root, encoding="unicode")


def _every(labels: int) -> int:
    """A label every so many quarter hours: about a dozen along the axis."""
    return max(1, round(labels / 12))


def _quarter_labels(report: Report) -> list[str]:
    many_days = report.range.days > 1
    return [f"{q.start:%a %H:%M}" if many_days else f"{q.start:%H:%M}" for q in report.quarters]


def outcomes_chart(report: Report, *, nonce: str) -> str:
    shown = [key for key in OUTCOMES if report.totals[key]]
    chart = pygal.StackedBar(
        **_config(
            tuple(OUTCOME_COLOURS[key] for key in shown),
            title="Orders per quarter hour, by outcome",
            y_title="Orders",
            x_label_rotation=-45,
            x_labels_major_every=_every(len(report.quarters)),
        )
    )
    chart.x_labels = _quarter_labels(report)
    for key in shown:
        chart.add(OUTCOMES[key], [q.outcomes[key] or None for q in report.quarters])
    busiest = report.busiest
    desc = (
        f"{report.orders} orders in {len(report.quarters)} quarter hours, stacked by outcome: "
        + ", ".join(f"{OUTCOMES[key].lower()} {report.totals[key]}" for key in shown)
        + (f". Busiest: {busiest.start:%H:%M} with {busiest.orders}." if busiest else ".")
    )
    return _svg(chart, name="chart-outcomes", desc=desc, nonce=nonce)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def ready_chart(report: Report, *, nonce: str) -> str:
    chart = pygal.Line(
        **_config(
            (MEDIAN, P90),
            title="Order to ready, per quarter hour (minutes)",
            y_title="Minutes",
            x_label_rotation=-45,
            x_labels_major_every=_every(len(report.quarters)),
            allow_interruptions=True,
            stroke_style={"width": 3},
        )
    )
    chart.x_labels = _quarter_labels(report)
    chart.add("Median", [_minutes(q.ready.median) if q.ready else None for q in report.quarters])
    chart.add(
        "90th percentile", [_minutes(q.ready.p90) if q.ready else None for q in report.quarters]
    )
    ready = report.ready
    desc = (
        f"Minutes from a drink's order to its being ready, by the quarter hour the order started. "
        f"Over the range: median {_minutes(ready.median)}, 90th percentile {_minutes(ready.p90)}."
        if ready
        else "No order was completed in this range."
    )
    return _svg(chart, name="chart-ready", desc=desc, nonce=nonce)


def baristas_chart(report: Report, *, nonce: str) -> str:
    chart = pygal.HorizontalBar(
        **_config((MEDIAN, P90), title="Make to complete, per barista (minutes)", x_title="Minutes")
    )
    names = list(report.baristas)
    chart.x_labels = names
    chart.add("Median", [_minutes(t.median) for t in report.baristas.values()])
    chart.add("90th percentile", [_minutes(t.p90) for t in report.baristas.values()])
    desc = (
        "; ".join(
            f"{name}: median {_minutes(t.median)}, 90th percentile {_minutes(t.p90)} minutes, "
            f"{t.count} orders"
            for name, t in report.baristas.items()
        )
        or "No barista pressed Make on an order completed in this range."
    )
    return _svg(chart, name="chart-baristas", desc=desc, nonce=nonce)


def drinks_chart(report: Report, *, nonce: str) -> str:
    chart = pygal.HorizontalBar(
        **_config((OUTCOME_COLOURS["completed"],), title="Drinks ordered", show_legend=False)
    )
    chart.x_labels = [name for name, _ in report.drinks]
    chart.add("Orders", [orders for _, orders in report.drinks])
    desc = ", ".join(f"{name} {orders}" for name, orders in report.drinks) or "No drink ordered."
    return _svg(chart, name="chart-drinks", desc=desc, nonce=nonce)


def report_charts(report: Report, *, nonce: str) -> dict[str, str]:
    """The report's charts by name, as inline SVG whose <style> carries `nonce`."""
    return {
        "outcomes": outcomes_chart(report, nonce=nonce),
        "ready": ready_chart(report, nonce=nonce),
        "baristas": baristas_chart(report, nonce=nonce),
        "drinks": drinks_chart(report, nonce=nonce),
    }
