"""What one order lifecycle costs, and how many lifecycles per second this machine runs.

    python -m bench.lifecycle [--orders 200] [--workers 2] [--skip-workers]

Runs against a throwaway test database made from the configured one (DATABASE_URL, or SQLite) and
the configured broker (or an embedded Redis). A lifecycle is the seed's scenario: start, customer
callback, barista callback, finished. Prints figures; asserts nothing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")
SEED = {"detail": {"orderId": "1", "userId": "bench"}}


def _setup(name: str = "serverlesspresso_bench") -> tuple:
    """A throwaway database named `name` (a file of that name for SQLite), and an embedded Redis
    when no REDIS_URL is set."""
    import django

    redis_process = None
    if "REDIS_URL" not in os.environ:
        from serverlesspresso import embedded_redis

        socket = Path(tempfile.mkdtemp(prefix="sp-bench-")) / "redis.sock"
        redis_process = embedded_redis.start(socket)
        os.environ["REDIS_URL"] = f"unix://{socket}"
    django.setup()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    # A name of its own, so a concurrent pytest run's test database is never clobbered.
    bench_name = name
    if connection.vendor == "sqlite":
        bench_name = str(Path(tempfile.mkdtemp(prefix="sp-bench-db-")) / f"{name}.sqlite3")
    connection.settings_dict["TEST"]["NAME"] = bench_name
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    return connection, old_name, test_name, redis_process


def _waiting_tokens(state_name: str) -> list[str]:
    from stepfunctions.models import CallbackToken

    return list(
        CallbackToken.objects.filter(state_name=state_name, status="OPEN").values_list(
            "token", flat=True
        )
    )


def measure_cost() -> dict:
    """Counts queries, messages, rows and publishes of one lifecycle, stages run inline."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.services.order_processor import ORDER_PROCESSOR
    from stepfunctions import hooks, services, tasks
    from stepfunctions.models import Event, HistoryEvent
    from stepfunctions.services import events as events_service

    messages = Counter()
    publishes = Counter()
    original_apply = tasks.advance_execution.apply_async
    original_publish = events_service.events_publish

    def apply_inline(args, countdown=None):
        messages["advance_execution"] += 1
        services.execution_advance(execution_id=args[0])

    def count_publish(events):
        publishes["messages"] += sum(len(hooks.event_topics(e)) for e in events)
        original_publish(events)

    tasks.advance_execution.apply_async = apply_inline
    events_service.events_publish = count_publish
    try:
        machine = services.state_machine_get(arn_or_name=ORDER_PROCESSOR)

        captured: list[dict] = []

        def counted(call):
            # Only the product's statements: the benchmark's own token look-ups stay outside.
            with CaptureQueriesContext(connection) as queries:
                result = call()
            captured.extend(queries.captured_queries)
            return result

        def lifecycle():
            execution, _ = counted(
                lambda: services.execution_start(state_machine=machine, input=SEED)
            )
            for wait in ("Emit - Workflow Started TT", "Emit - Awaiting Completion TT"):
                (token,) = _waiting_tokens(wait)
                counted(
                    lambda t=token: services.task_success(task_token=t, output='{"orderId": 1}')
                )
            return execution

        lifecycle()  # the day's first order also creates the shop config and the day's counter
        messages.clear()
        publishes.clear()
        captured.clear()
        execution = lifecycle()
        execution.refresh_from_db()
        assert execution.status == "SUCCEEDED", execution.status
        statements = Counter(q["sql"].split()[0].upper() for q in captured)
        return {
            "database round trips": len(captured),
            "by statement": dict(statements),
            "celery messages": messages["advance_execution"],
            "history rows": HistoryEvent.objects.filter(execution=execution).count(),
            "event rows": Event.objects.filter(execution=execution).count(),
            "redis publishes": publishes["messages"],
        }
    finally:
        tasks.advance_execution.apply_async = original_apply
        events_service.events_publish = original_publish


def _make_room(orders: int) -> None:
    from orders.models import ShopConfig
    from orders.services.shop_config import shop_config_get

    ShopConfig.objects.filter(pk=shop_config_get().pk).update(max_orders_in_queue=orders + 10)


def _answer_all(state_name: str, expected: int, timeout: float, threads: int = 4) -> None:
    from django.db import connections

    from stepfunctions import services

    deadline = time.monotonic() + timeout
    tokens = _waiting_tokens(state_name)
    while len(tokens) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(tokens)}/{expected} orders reached {state_name}")
        time.sleep(0.02)
        tokens = _waiting_tokens(state_name)

    def answer(chunk: list[str]) -> None:
        for token in chunk:
            services.task_success(task_token=token, output='{"orderId": 1}')
        connections.close_all()

    workers = [threading.Thread(target=answer, args=(tokens[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def measure_throughput(orders: int, workers: int, test_db: str) -> dict:
    """Lifecycles per second through real Celery worker processes and the real broker."""
    from django.conf import settings

    from orders.services.order_processor import ORDER_PROCESSOR
    from stepfunctions import services
    from stepfunctions.models import Execution

    _make_room(orders)
    env = dict(os.environ)
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{test_db}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{test_db}"
        )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "serverlesspresso",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            str(workers),
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
    )
    try:
        time.sleep(3)  # worker boot
        machine = services.state_machine_get(arn_or_name=ORDER_PROCESSOR)
        started = time.perf_counter()
        for index in range(orders):
            services.execution_start(
                state_machine=machine, input={"detail": {"orderId": str(index), "userId": "b"}}
            )
        _answer_all("Emit - Workflow Started TT", orders, timeout=300)
        _answer_all("Emit - Awaiting Completion TT", orders, timeout=300)
        while Execution.objects.filter(status="SUCCEEDED").count() < orders:
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(30)
    return {"orders": orders, "seconds": round(elapsed, 2), "lifecycles/s": round(orders / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--skip-workers", action="store_true", help="only the per-lifecycle cost")
    options = parser.parse_args()
    connection, old_name, test_name, redis_process = _setup()
    try:
        print("database:", connection.vendor, "| broker:", os.environ.get("REDIS_URL"))
        print("one lifecycle:", json.dumps(measure_cost(), indent=2))
        if not options.skip_workers:
            figures = measure_throughput(options.orders, options.workers, test_name)
            print(f"through {options.workers} Celery worker processes:", json.dumps(figures))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if redis_process is not None:
            redis_process.terminate()


if __name__ == "__main__":
    main()
