"""The manager's report in headless chromium, on a laptop (1280x800) and a tablet (1024x768):
four charts drawn, no sideways scroll, the numbers there as text, the CSV link of the same range,
and no WCAG 2.1 A/AA violation found by axe-core."""

import pytest
from django.contrib.auth.models import Permission, User

from tests.browser import (
    TABLET_LANDSCAPE,
    assert_accessible,
    assert_no_horizontal_scroll,
    boxes,
    shot,
)
from tests.orders.report_orders import crafted_day

pytestmark = [pytest.mark.integration]

LAPTOP = (1280, 800)


@pytest.mark.parametrize("size", [LAPTOP, TABLET_LANDSCAPE], ids=["laptop", "tablet"])
def test_the_report_reads_on_a_laptop_and_a_tablet(bar, size):
    crafted_day()
    manager = User.objects.create_user("manager", password="pw-manager-123", is_staff=True)
    manager.user_permissions.add(Permission.objects.get(codename="view_report"))
    page = bar.page(size)
    page.goto(f"{bar.url}/admin/login/?next=/admin/")
    bar.login(page, "manager")
    page.click("text=Manager's report")
    page.fill("#report-day", "2026-03-10")
    with page.expect_navigation():
        page.click("text=Show the day")
    charts = boxes(page, "svg[role=img]")
    assert len(charts) == 4
    for chart in charts:
        assert 300 < chart["width"] <= size[0] and chart["height"] > 100, chart
    assert_no_horizontal_scroll(page)
    assert page.inner_text("#summary-busiest") == "09:00: 5 orders"
    assert page.get_attribute("#report-csv", "href").endswith("?first=2026-03-10&last=2026-03-10")
    # The numbers of each chart, as a table a screen reader reads, one click away.
    page.click("#outcomes-heading + figure + details summary")
    first_row = page.inner_text("#outcomes-table tbody tr")
    assert first_row.split("\t") == [
        "09:00",
        "3",
        "2",
        *["0"] * 7,
        "5",
    ]  # completed, by the customer
    assert_no_horizontal_scroll(page)
    shot(page, f"manager-report-{size[0]}")
    assert_accessible(page, f"the report at {size[0]}x{size[1]}")
