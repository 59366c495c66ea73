"""The manager's report (orders.reports) on a crafted day (tests/orders/report_orders.py), its
numbers worked out by hand; its page, its permission, its CSV and its SVG."""

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission, User

from orders.models import Order
from orders.reports import DayRange, day_range_parse, report_charts, report_compute, report_csv
from orders.reports.day import Queue, queue_longest, timing_of
from orders.services.sold_out import MenuItem, mark_back, mark_sold_out
from tests.orders.report_orders import DAY, at, crafted_day, order_add

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def report(db):
    crafted_day()
    return report_compute(days=DayRange(DAY, DAY))


def test_orders_per_quarter_hour_by_outcome(report):
    assert [f"{q.start:%H:%M}" for q in report.quarters] == [
        "09:00",
        "09:15",
        "09:30",
        "09:45",
        "10:00",
    ]
    by_quarter = [{k: n for k, n in q.outcomes.items() if n} for q in report.quarters]
    assert by_quarter == [
        {"completed": 3, "cancelled_customer": 2},  # A B C; D E
        {"cancelled_barista": 1, "timed_out_customer": 1, "timed_out_barista": 1},  # F G H
        {"refused_closed": 1, "refused_full": 1, "stopped": 1},  # I J K
        {"open": 1},  # L
        {"completed": 1},  # M
    ]
    assert report.totals == {
        "completed": 4,
        "cancelled_customer": 2,
        "cancelled_barista": 1,
        "timed_out_customer": 1,
        "timed_out_barista": 1,
        "refused_closed": 1,
        "refused_full": 1,
        "stopped": 1,
        "open": 1,
    }
    assert report.orders == 13  # the evening before and the midnight after are not the day's


def test_order_to_ready_per_quarter_hour(report):
    # 09:00: A 4 min, B 6 min, C 12 min: median 6, 90th percentile (nearest rank 3 of 3) 12.
    first = report.quarters[0].ready
    assert (first.count, first.median, first.p90) == (3, 360, 720)
    assert [q.ready for q in report.quarters[1:4]] == [None, None, None]
    last = report.quarters[4].ready  # M: 2 min
    assert (last.count, last.median, last.p90) == (1, 120, 120)
    # All four: 2, 4, 6, 12 min: median 5, 90th percentile rank 4 of 4.
    assert (report.ready.count, report.ready.median, report.ready.p90) == (4, 300, 720)


def test_make_to_complete_per_barista(report):
    # bob: A 3 min, B 4 min; carol: C 11 min (M was completed without Make: not counted).
    assert {name: (t.count, t.median, t.p90) for name, t in report.baristas.items()} == {
        "bob": (2, 210, 240),
        "carol": (1, 660, 660),
    }


def test_drinks_options_busiest_and_queue(report):
    assert report.drinks == [
        ("Latte", 3),
        ("Espresso", 2),
        ("Americano", 1),
        ("Cappuccino", 1),
        ("Flat White", 1),
    ]
    assert report.options == [
        ("Milk", "Oat", 3),  # A D F
        ("Milk", "None", 1),
        ("Milk", "Regular", 1),
        ("Milk", "Soy", 1),
        ("Shots", "Double", 1),
        ("Shots", "Single", 1),
        ("Syrup", "None", 2),  # B D
        ("Syrup", "Vanilla", 1),
    ]
    assert (f"{report.busiest.start:%H:%M}", report.busiest.orders) == ("09:00", 5)
    # B (since 09:04) and C (09:08) wait when D comes at 09:09 (A left at 09:05).
    assert (report.queue.longest, report.queue.at) == (3, at("09:09"))
    assert report.items_off == []


def test_the_queue_sweep_ends_before_it_starts_at_one_instant():
    t = [at("12:00") + timedelta(minutes=m) for m in range(4)]
    assert queue_longest([(t[0], t[1]), (t[1], t[2])]) == Queue(1, t[0])
    assert queue_longest([(t[0], None), (t[1], t[2]), (t[2], t[3])]) == Queue(2, t[1])
    assert queue_longest([]) == Queue(0, None)


def test_percentiles_by_hand():
    assert timing_of([]) is None
    ten = timing_of(list(range(1, 11)))
    assert (ten.median, ten.p90) == (5.5, 9)
    assert timing_of(list(range(1, 12))).p90 == 10  # rank ceil(9.9) = 10


def test_a_range_of_days_and_its_limits(db):
    crafted_day()
    order_add("late", at("11:40"), status=Order.Status.CANCELLED, reason="Customer timedout")
    days = day_range_parse(first="2026-03-09", last="2026-03-11", today=date(2030, 1, 1))
    report = report_compute(days=days)
    assert report.orders == 16 and report.range.days == 3
    # Each day's quarters from its first order to its last, the quiet ones between (10:15 to
    # 11:15) kept, the nights not.
    day = ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00"]
    assert [f"{q.start:%d %H:%M}" for q in report.quarters] == [
        "09 23:45",
        *(f"10 {hh_mm}" for hh_mm in [*day, "11:15", "11:30"]),
        "11 00:00",
    ]
    assert [q.orders for q in report.quarters] == [1, 5, 3, 3, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    assert day_range_parse(first=None, last=None, today=DAY) == DayRange(DAY, DAY)
    for first, last, words in [
        ("2026-03-10", "2026-03-09", "comes before"),
        ("2026-03-01", "2026-04-01", "at most 31 days"),
        ("yesterday", None, "not a date"),
    ]:
        with pytest.raises(ValueError, match=words):
            day_range_parse(first=first, last=last, today=DAY)


def test_the_bars_local_day(db, settings):
    crafted_day()  # in UTC, the tests' time zone
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13 in March
    report = report_compute(days=DayRange(date(2026, 3, 10), date(2026, 3, 10)))
    # 09:00 UTC on the 10th is 22:00 in Auckland: that local day has the crafted day's orders
    # and the evening before (12:59 there), not the midnight after (13:00 on the 11th there).
    assert report.orders == 14
    assert f"{report.busiest.start:%H:%M}" == "22:00"
    assert f"{report.queue.at:%d %H:%M}" == "10 22:09"
    assert ["longest queue", "2026-03-10 22:09:00", "orders waiting", "3"] in _rows(
        report_csv(report)
    )


def test_the_charts_are_svg_with_names_and_nothing_fetched(report):
    charts = report_charts(report, nonce="n0nce")
    assert set(charts) == {"outcomes", "ready", "baristas", "drinks"}
    for name, svg in charts.items():
        root = ET.fromstring(svg)  # well-formed XML
        assert root.tag == f"{SVG}svg" and root.get("role") == "img"
        labelled = root.get("aria-labelledby").split()
        assert labelled == [f"chart-{name}-title", f"chart-{name}-desc"]
        assert root.find(f"{SVG}title").get("id") == labelled[0]
        assert root.find(f"{SVG}desc").get("id") == labelled[1]
        assert [s.get("nonce") for s in root.iter(f"{SVG}style")] == ["n0nce"]
        assert not list(root.iter(f"{SVG}script"))
        for element in root.iter():
            assert "style" not in element.attrib, element.tag  # the CSP allows no inline style
            for key, value in element.attrib.items():
                assert "//" not in value, (element.tag, key, value)
        assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    desc = ET.fromstring(charts["outcomes"]).find(f"{SVG}desc").text
    assert "13 orders" in desc and "completed 4" in desc and "Busiest: 09:00 with 5" in desc
    assert "bob: median 3.5" in ET.fromstring(charts["baristas"]).find(f"{SVG}desc").text


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_has_the_same_numbers(report):
    rows = _rows(report_csv(report))
    assert rows[0] == ["section", "label", "measure", "value"]
    assert ["range", "first day", "date", "2026-03-10"] in rows
    assert ["orders", "all", "Completed", "4"] in rows
    assert ["orders", "all", "Refused: the shop was closed", "1"] in rows
    assert ["orders per quarter hour", "2026-03-10 09:15", "Cancelled by a barista", "1"] in rows
    ready = [
        r for r in rows if r[0] == "order to ready per quarter hour" and r[1].endswith("09:00")
    ]
    assert [r[2:] for r in ready] == [
        ["orders", "3"],
        ["median seconds", "360.0"],
        ["90th percentile seconds", "720.0"],
    ]
    assert ["make to complete per barista", "bob", "median seconds", "210.0"] in rows
    assert ["drinks", "Latte", "orders", "3"] in rows
    assert ["options", "Milk: Oat", "orders", "3"] in rows
    assert ["busiest quarter hour", "2026-03-10 09:00", "orders", "5"] in rows
    assert ["longest queue", "2026-03-10 09:09:00", "orders waiting", "3"] in rows


def test_no_cell_of_the_csv_is_a_formula(db):
    order_add(
        "x",
        at("12:00"),
        status=Order.Status.COMPLETED,
        barista="@SUM(1+1)",
        made_at=at("12:01"),
        ended_at=at("12:03"),
        drink={"drink": "=HYPERLINK(1)", "modifiers": {"-Milk": "+Oat"}},
    )
    rows = _rows(report_csv(report_compute(days=DayRange(DAY, DAY))))
    assert ["make to complete per barista", "'@SUM(1+1)", "orders", "1"] in rows
    assert ["drinks", "'=HYPERLINK(1)", "orders", "1"] in rows
    assert ["options", "'-Milk: +Oat", "orders", "1"] in rows


def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


URL = "/admin/orders/dayreport/"


def test_staff_without_the_permission_get_403(client, db):
    client.force_login(_staff("barista", "act_as_barista", "view_order"))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}csv/").status_code == 403
    assert b"dayreport" not in client.get("/admin/").content


def test_the_page_and_its_csv_for_a_manager(client, db):
    crafted_day()
    client.force_login(_staff("manager", "view_report"))
    index = client.get("/admin/")
    assert URL.encode() in index.content  # linked from the admin's index
    page = client.get(URL, {"first": "2026-03-10"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('role="img"') == 4 and "<script" not in html.split("<main")[-1]
    assert 'id="summary-busiest">09:00: 5 orders<' in html
    assert 'id="summary-queue">3 orders waiting, at 09:09<' in html
    assert f'href="{URL}csv/?first=2026-03-10&amp;last=2026-03-10"' in html
    # Each chart's <style> carries this answer's nonce, which its policy names.
    nonce = page.context["request"].csp_nonce
    assert f'nonce="{nonce}"' in html
    assert f"'nonce-{nonce}'" in page["Content-Security-Policy"].split("style-src")[1].split(";")[0]
    download = client.get(f"{URL}csv/", {"first": "2026-03-10", "last": "2026-03-10"})
    assert download["Content-Type"].startswith("text/csv")
    assert 'filename="bar-report-2026-03-10.csv"' in download["Content-Disposition"]
    assert _rows(download.content.decode()) == _rows(
        report_csv(report_compute(days=DayRange(DAY, DAY)))
    )
    empty = client.get(URL, {"first": "2026-03-12"}).content.decode()  # a day without orders
    assert 'id="summary-orders">0<' in empty and "No drink was ordered." in empty
    assert empty.count('role="img"') == 4
    wrong = client.get(URL, {"first": "2026-03-10", "last": "2026-03-01"})
    assert wrong.status_code == 400 and b"comes before" in wrong.content


def test_the_minutes_each_item_was_sold_out_are_on_the_page_and_in_the_csv(client, db):
    # Oat milk out from 09:15 to 10:00, and a whole drink from 23:30 into the next day.
    crafted_day()
    oat, latte = MenuItem(modifier="Milk", option="Oat"), MenuItem(drink="Latte")
    mark_sold_out(item=oat, by="bob", at=at("09:15"))
    mark_back(item=oat, by="bob", at=at("10:00"))
    mark_sold_out(item=latte, by="bob", at=at("23:30"))
    mark_back(item=latte, by="bob", at=at("01:00", DAY + timedelta(days=1)))
    client.force_login(_staff("manager", "view_report"))
    html = client.get(URL, {"first": "2026-03-10"}).content.decode()
    table = html.split('id="sold-out-table"')[1].split("</table>")[0]
    assert '<th scope="row">Milk: Oat</th><td>45</td>' in table
    assert '<th scope="row">Latte</th><td>30</td>' in table  # clipped at the day's end
    download = client.get(f"{URL}csv/", {"first": "2026-03-10"}).content.decode()
    assert ["sold out", "Milk: Oat", "minutes off", "45.0"] in _rows(download)
    assert ["sold out", "Latte", "minutes off", "30.0"] in _rows(download)
