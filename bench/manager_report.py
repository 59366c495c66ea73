"""How long the manager's report of a busy day takes to render: a day of 5,000 orders.

    python -m bench.manager_report [--orders 5000] [--runs 7] [--database-url URL] [--out FILE]

Migrates the database (by default a throwaway SQLite file; give a PostgreSQL URL for the other
vendor), inserts a day of `--orders` orders with bulk_create (a realistic spread of outcomes,
drinks, options and baristas between 07:00 and 19:00, busiest around 08:30 and 12:30), then
times, `--runs` times each: the report's computation alone, its SVG charts alone, and the whole
admin page through Django's test client (middleware, permission, computation, charts, template).
Prints the median and the maximum in milliseconds. The inserted orders and the bench's manager
are deleted again on a database that was given.

The report (named bench/manager_report.py: bench/report.py is how the other benchmarks report).
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

DAY = date(2026, 1, 15)
PREFIX = "bench-report-"
MANAGER = "bench-report-manager"
# Outcome: (share of the day's orders, what its row holds); the rest are completed.
ENDINGS = [
    (0.04, {"status": "CANCELLED", "reason": "Order cancelled", "cancelled_by": "customer"}),
    (0.02, {"status": "CANCELLED", "reason": "Order cancelled", "cancelled_by": "barista"}),
    (0.05, {"status": "CANCELLED", "reason": "Customer timedout"}),
    (0.02, {"status": "CANCELLED", "reason": "Barista timedout"}),
    (0.02, {"status": "CANCELLED", "reason": "Shop unavailable", "refused_because": "closed"}),
    (0.04, {"status": "CANCELLED", "reason": "Shop unavailable", "refused_because": "full"}),
    (0.01, {"status": "CANCELLED", "reason": "Stopped by the shop"}),
]
BARISTAS = ["ana", "ben", "chloe", "dev"]


def _django(database_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _when(rng: random.Random) -> datetime:
    """A moment of DAY between 07:00 and 19:00, busiest around the morning and lunch rushes."""
    from django.utils import timezone

    while True:
        hours = rng.choice([rng.gauss(8.5, 0.8), rng.gauss(12.5, 1.0), rng.uniform(7, 19)])
        if 7 <= hours < 19:
            break
    midnight = timezone.make_aware(datetime.combine(DAY, datetime.min.time()))
    return midnight + timedelta(hours=hours)


def day_insert(*, orders: int, seed: int = 27) -> int:
    """`orders` orders started on DAY (bulk_create, then their created_at, which the database
    sets on insert); how many were inserted."""
    from orders.models import Order
    from orders.services.menu import MENU

    rng = random.Random(seed)  # noqa: S311 - a repeatable day, not a secret
    rows, starts = [], []
    for n in range(orders):
        created = _when(rng)
        ending: dict = {"status": "COMPLETED"}
        roll, edge = rng.random(), 0.0
        for share, fields in ENDINGS:
            edge += share
            if roll < edge:
                ending = dict(fields)
                break
        user = f"{PREFIX}customer-{n % 900}"
        if ending.get("cancelled_by"):
            ending["cancelled_by"] = user if ending["cancelled_by"] == "customer" else "ben"
        order = Order(order_id=f"{PREFIX}{n}", user_id=user, **ending)
        refused = ending.get("reason") in ("Shop unavailable", "Stopped by the shop")
        timed_out_choosing = ending.get("reason") == "Customer timedout"
        if not refused and not timed_out_choosing:
            name, _, modifiers = rng.choice(MENU)
            options = {m["name"]: rng.choice(m["options"]) for m in modifiers}
            order.drink = {"drink": name, "icon": "☕", "modifiers": options}
            order.submitted_at = created + timedelta(seconds=rng.uniform(20, 180))
            order.order_number = n + 1
        if ending["status"] == "COMPLETED":
            order.barista = rng.choice(BARISTAS)
            order.made_at = order.submitted_at + timedelta(seconds=rng.uniform(30, 600))
            order.ended_at = order.made_at + timedelta(seconds=rng.uniform(60, 300))
        else:
            order.ended_at = (order.submitted_at or created) + timedelta(
                seconds=rng.uniform(5, 900)
            )
        rows.append(order)
        starts.append(created)
    made = Order.objects.bulk_create(rows, batch_size=500)  # its created_at: now
    for order, created in zip(made, starts, strict=True):
        order.created_at = created
    Order.objects.bulk_update(made, ["created_at"], batch_size=500)
    return len(made)


def _timed(runs: int, work) -> dict:
    """Wall-clock and this process's CPU milliseconds of `runs` calls of `work`: on a shared
    machine the wall clock also counts others' work, the CPU time only this one's (the
    database's own, on PostgreSQL, is in the wall clock only)."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(walls) * 1000, 1),
        "max_ms": round(max(walls) * 1000, 1),
        "cpu_median_ms": round(statistics.median(cpus) * 1000, 1),
        "cpu_max_ms": round(max(cpus) * 1000, 1),
    }


def measure(*, runs: int) -> dict:
    """The report of DAY: its computation, its charts and its whole admin page, `runs` times."""
    from django.contrib.auth.models import User
    from django.test import Client

    from orders.reports import DayRange, report_charts, report_compute

    days = DayRange(DAY, DAY)
    report = report_compute(days=days)
    manager, _ = User.objects.get_or_create(username=MANAGER, defaults={"is_superuser": True,
                                                                        "is_staff": True})  # fmt: skip
    client = Client()
    client.force_login(manager)
    url = f"/admin/orders/dayreport/?first={DAY.isoformat()}"

    def page() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"the report answered {response.status_code}")

    page()  # warm: templates and the first connection
    return {
        "orders in the day": report.orders,
        "quarter hours": len(report.quarters),
        "compute": _timed(runs, lambda: report_compute(days=days)),
        "charts": _timed(runs, lambda: report_charts(report, nonce="bench")),
        "page": _timed(runs, page),
    }


def cleanup() -> None:
    from django.contrib.auth.models import User

    from orders.models import Order

    Order.objects.filter(order_id__startswith=PREFIX).delete()
    User.objects.filter(username=MANAGER).delete()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    parser.add_argument("--out", type=Path, help="the results as JSON (default: printed only)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as scratch:
        url = options.database_url or f"sqlite:///{scratch}/bench.sqlite3"
        _django(url)
        from django.db import connection

        try:
            cleanup()
            started = time.perf_counter()
            inserted = day_insert(orders=options.orders)
            results = {
                "database": connection.vendor,
                "inserted": inserted,
                "insert_s": round(time.perf_counter() - started, 2),
                **measure(runs=options.runs),
                "load average": [round(x, 2) for x in os.getloadavg()],
            }
        finally:
            cleanup()
            connection.close()
    print(json.dumps(results, indent=2))
    if options.out:
        options.out.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)
