"""What one order lifecycle costs, and how many lifecycles per second this machine runs.

    python -m bench.lifecycle [--orders 200] [--workers 2] [--skip-workers] [--load 100]
    python -m bench.lifecycle --soak 200 --orders 5000     # the worker's memory to a million

Through the workers it also prints the CPU time (user + system) per lifecycle of each kind of
process: the driver (this process: starts and callbacks), the Celery worker and its pool, and the
PostgreSQL backends of the run's database. Unlike lifecycles/s, those barely move when other work
shares the machine.

Runs against a throwaway test database made from the configured one (DATABASE_URL, or SQLite) and
the configured broker (or an embedded Redis). A lifecycle is the seed's scenario: start, customer
callback, barista callback, finished. Prints figures; asserts nothing.
"""

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import lifecycle_cost, stores, system
from bench.meters import CpuMeter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")
# As in production: with DEBUG on, every statement is also logged in memory (and, with
# server-side binding, quoted client-side for that log), which production never pays.
os.environ.setdefault("DJANGO_DEBUG", "0")


def _answer_all(state_name: str, expected: int, timeout: float, threads: int = 4) -> None:
    from django.db import connections

    from stepfunctions import services

    deadline = time.monotonic() + timeout
    tokens = lifecycle_cost.waiting_tokens(state_name)
    while len(tokens) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(tokens)}/{expected} orders reached {state_name}")
        time.sleep(0.02)
        tokens = lifecycle_cost.waiting_tokens(state_name)

    def answer(chunk: list[str]) -> None:
        for token in chunk:
            services.task_success(task_token=token, output='{"orderId": 1}')
        connections.close_all()

    workers = [threading.Thread(target=answer, args=(tokens[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _run_orders(orders: int, first: int = 0) -> float:
    """Starts `orders` executions (order ids from `first`), answers both callbacks of each, and
    waits until all succeeded; the seconds it took."""
    from orders.services.order_processor import ORDER_PROCESSOR
    from stepfunctions import services
    from stepfunctions.models import Execution

    machine = services.state_machine_get(arn_or_name=ORDER_PROCESSOR)
    started = time.perf_counter()
    ids = []
    for index in range(first, first + orders):
        execution, _ = services.execution_start(
            state_machine=machine, input={"detail": {"orderId": str(index), "userId": "b"}}
        )
        ids.append(execution.pk)
    _answer_all("Emit - Workflow Started TT", orders, timeout=300)
    _answer_all("Emit - Awaiting Completion TT", orders, timeout=300)
    while Execution.objects.filter(pk__in=ids, status="SUCCEEDED").count() < orders:
        time.sleep(0.02)
    return time.perf_counter() - started


@contextlib.contextmanager
def _worker_started(workers: int):
    """bench.lifecycle_worker's worker (`workers` pool processes) on this run's database and
    broker, booted; the Popen of its main process."""
    env = {**os.environ, "DATABASE_URL": stores.django_database_url()}
    processes = system.Processes(env, Path(tempfile.mkdtemp(prefix="sp-bench-worker-")))
    worker = processes.worker(
        "worker", "--without-gossip", "--without-mingle",
        app="bench.lifecycle_worker", level="warning", concurrency=workers,
    )  # fmt: skip
    try:
        processes.pool_wait("worker", workers)
        time.sleep(2)  # the worker's connection to the broker, before anything is measured
        yield worker
    finally:
        processes.stop("worker", timeout=30)


def measure_throughput(orders: int, workers: int) -> dict:
    """Lifecycles per second through real Celery worker processes and the real broker."""
    from django.db import connection

    from bench.lifecycle_worker import messages_taken

    lifecycle_cost.make_room(orders)
    messages_taken(reset=True)
    database = None if connection.vendor == "sqlite" else connection.settings_dict["NAME"]
    with _worker_started(workers) as worker:
        with CpuMeter(worker_pid=worker.pid, database=database) as cpu:
            elapsed = _run_orders(orders)
            time.sleep(0.5)  # the last nudges are counted as they are taken
        messages = messages_taken()
    cpu_ms = {kind: round(seconds * 1000 / orders, 2) for kind, seconds in cpu.seconds().items()}
    cpu_ms["total"] = round(sum(cpu_ms.values()), 2)
    return {
        "orders": orders,
        "seconds": round(elapsed, 2),
        "lifecycles/s": round(orders / elapsed),
        "celery messages per lifecycle": round(messages / orders, 3),
        # The driver's share includes its polling for tokens and its own round trips' waits.
        "cpu ms per lifecycle": cpu_ms,
    }


def _mib(process) -> float:
    return round(process.memory_info().rss / 2**20, 1)


def _autovacuum_on() -> bool:
    """Whether PostgreSQL's autovacuum runs (SQLite has none to run and needs none here)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "on"


def _vacuum() -> None:
    """What autovacuum would do after a purge: the dead rows' space reused, statistics fresh
    (without it every round's rows pile up as dead tuples and the indexes bloat)."""
    from django.db import connection

    from stepfunctions.models import CallbackToken, Event, Execution, HistoryEvent

    tables = ", ".join(
        connection.ops.quote_name(model._meta.db_table)
        for model in (HistoryEvent, Execution, CallbackToken, Event)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


def measure_soak(rounds: int, orders: int, workers: int) -> dict:
    """The worker's memory from the first order on: `rounds` rounds of `orders` lifecycles
    through one worker, each followed by the retention purge of the finished executions (as
    the daily sweep would) and, where the server's autovacuum is off, a VACUUM (as it would),
    so the tables stay the size of one round; then the RSS of the worker's main process, of
    each pool process, and of this driver. Progress on each round."""
    from datetime import timedelta

    import psutil

    from stepfunctions.services.retention import executions_purge

    lifecycle_cost.make_room(orders)
    vacuum = not _autovacuum_on()
    if vacuum:
        print("autovacuum is off on this server: VACUUM (ANALYZE) after each round's purge")
    samples = []
    with _worker_started(workers) as worker:
        main = psutil.Process(worker.pid)
        for number in range(1, rounds + 1):
            elapsed = _run_orders(orders, first=(number - 1) * orders)
            executions_purge(older_than=timedelta(0))
            if vacuum:
                _vacuum()
            sample = {
                "orders": number * orders,
                "lifecycles/s": round(orders / elapsed),
                "worker MiB": _mib(main),
                "pool MiB": [_mib(child) for child in main.children()],
                # A pool process replaced meanwhile would hide its growth: its pid says so.
                "pool pids": [child.pid for child in main.children()],
                "driver MiB": _mib(psutil.Process()),
            }
            samples.append(sample)
            print(f"[{time.strftime('%H:%M:%S')}] round {number}/{rounds}:", json.dumps(sample))
            sys.stdout.flush()
    first, last = samples[0], samples[-1]

    def growth(key: str) -> str:
        def total(value) -> float:
            return round(sum(value), 1) if isinstance(value, list) else value

        before, after = total(first[key]), total(last[key])
        return f"{before} -> {after} MiB ({100 * (after - before) / before:+.1f}%)"

    return {
        "orders": last["orders"],
        "from the first round to the last": {
            key: growth(key) for key in ("worker MiB", "pool MiB", "driver MiB")
        },
        "rounds": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--skip-workers", action="store_true", help="only the per-lifecycle cost")
    parser.add_argument(
        "--load", type=int, default=100, help="lifecycles run side by side for the cost at load"
    )
    parser.add_argument(
        "--database",
        default="serverlesspresso_bench",
        help="the throwaway database's name (one per concurrent run)",
    )
    parser.add_argument(
        "--soak",
        type=int,
        metavar="ROUNDS",
        help="instead: ROUNDS rounds of --orders lifecycles through one worker, its memory after each",
    )
    options = parser.parse_args()
    with stores.engine_database(options.database) as connection:
        print("database:", connection.vendor, "| broker:", os.environ.get("REDIS_URL"))
        if options.soak:
            figures = measure_soak(options.soak, options.orders, options.workers)
            print("soak:", json.dumps({k: v for k, v in figures.items() if k != "rounds"}))
            return
        print("one lifecycle:", json.dumps(lifecycle_cost.measure_cost(options.load), indent=2))
        if not options.skip_workers:
            figures = measure_throughput(options.orders, options.workers)
            print(f"through {options.workers} Celery worker processes:", json.dumps(figures))


if __name__ == "__main__":
    main()
