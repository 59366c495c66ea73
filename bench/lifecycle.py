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
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")
# As in production: with DEBUG on, every statement is also logged in memory (and, with
# server-side binding, quoted client-side for that log), which production never pays.
os.environ.setdefault("DJANGO_DEBUG", "0")
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


class RoundTrips:
    """Counts the round trips to the database made while `counting` is entered: every statement
    and every BEGIN / COMMIT Django sends (CaptureQueriesContext records those too)."""

    def __init__(self) -> None:
        self.count = 0
        self.by_statement: Counter = Counter()
        self.cpu: Counter = Counter()

    @contextlib.contextmanager
    def counting(self, part: str = "calls"):
        """Counts the round trips made inside, and this process's CPU time by `part` (the API
        calls, or the stages run by the worker's task)."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            yield
            self.cpu[part] += time.process_time() - started
        for query in queries.captured_queries:
            self.count += 1
            self.by_statement[query["sql"].split()[0].upper()] += 1


class Messages:
    """Stands in for the broker in one process: records each nudge, and runs it at once (a worker
    waiting for work) or when `drain` is called (a worker busy with the previous ones)."""

    def __init__(self, *, at_once: bool) -> None:
        from stepfunctions import tasks

        self.at_once = at_once
        self.sent = 0
        self.queued: list[tuple] = []
        self._task = tasks.advance_execution
        self._original = self._task.apply_async

    def __enter__(self):
        def apply(args=(), kwargs=None, countdown=None, **options):
            self.sent += 1
            if self.at_once:
                self._task.run(*args, **(kwargs or {}))
            else:
                self.queued.append((tuple(args), kwargs or {}))

        self._task.apply_async = apply
        return self

    def __exit__(self, *exc) -> None:
        self._task.apply_async = self._original

    def drain(self) -> None:
        while self.queued:
            args, kwargs = self.queued.pop(0)
            self._task.run(*args, **kwargs)


def _lifecycles(count: int, *, messages: Messages, trips: RoundTrips, prefix: str) -> list:
    """Runs `count` seed lifecycles, each step for all of them before the next (so at load a
    worker's batch holds many); the benchmark's own token look-ups are not counted."""
    from orders.services.order_processor import ORDER_PROCESSOR
    from stepfunctions import services

    machine = services.state_machine_get(arn_or_name=ORDER_PROCESSOR)
    executions = []
    for index in range(count):
        seed = {"detail": {"orderId": f"{prefix}{index}", "userId": "bench"}}
        with trips.counting():
            executions.append(services.execution_start(state_machine=machine, input=seed)[0])
    with trips.counting("stages"):
        messages.drain()
    for wait in ("Emit - Workflow Started TT", "Emit - Awaiting Completion TT"):
        tokens = _waiting_tokens(wait)
        assert len(tokens) == count, (wait, len(tokens))
        for token in tokens:
            with trips.counting():
                services.task_success(task_token=token, output='{"orderId": 1}')
        with trips.counting("stages"):
            messages.drain()
    return executions


def measure_cost(load: int = 100) -> dict:
    """Round trips, messages and rows of a lifecycle, stages run in this process by the worker's
    own task: alone (an idle system: each nudge runs at once), and `load` at a time (the nudges
    wait in line as they do behind a busy worker, so each one runs a batch)."""
    from orders.services.shop_config import shop_config_get
    from stepfunctions import hooks
    from stepfunctions.models import Event, Execution, HistoryEvent
    from stepfunctions.services import events as events_service

    _make_room(load)
    shop_config_get()
    publishes = Counter()
    original_publish = events_service.events_publish

    def count_publish(events):
        publishes["messages"] += sum(len(hooks.event_topics(e)) for e in events)
        original_publish(events)

    events_service.events_publish = count_publish
    figures = {}
    try:
        # The day's first order also creates the day's counter.
        with Messages(at_once=True) as messages:
            _lifecycles(1, messages=messages, trips=RoundTrips(), prefix="warm-")
        for name, count, at_once in (("alone", 1, True), (f"{load} at a time", load, False)):
            trips = RoundTrips()
            publishes.clear()
            with Messages(at_once=at_once) as messages:
                executions = _lifecycles(count, messages=messages, trips=trips, prefix=name)
            ids = [execution.pk for execution in executions]
            done = Execution.objects.filter(pk__in=ids, status="SUCCEEDED").count()
            assert done == count, (name, done)
            figures[name] = {
                "database round trips per lifecycle": round(trips.count / count, 2),
                "by statement": {k: round(v / count, 2) for k, v in trips.by_statement.items()},
                "celery messages per lifecycle": round(messages.sent / count, 3),
                # Python CPU in this process (statements recorded as the round trips are).
                "cpu ms per lifecycle": {
                    part: round(seconds * 1000 / count, 2) for part, seconds in trips.cpu.items()
                },
                "history rows": HistoryEvent.objects.filter(execution_id=ids[0]).count(),
                "event rows": Event.objects.filter(execution_id=ids[0]).count(),
                "redis publishes per lifecycle": round(publishes["messages"] / count, 2),
            }
        return figures
    finally:
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


@contextlib.contextmanager
def _worker_process(workers: int, test_db: str):
    """The Celery worker (`workers` pool processes) on the run's database, booted; the Popen."""
    from django.conf import settings

    env = dict(os.environ)
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{test_db}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{test_db}"
        )
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench.lifecycle", "--as-worker", str(workers)], env=env
    )
    try:
        time.sleep(3)  # worker boot
        yield worker
    finally:
        worker.terminate()
        worker.wait(30)


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


def measure_throughput(orders: int, workers: int, test_db: str) -> dict:
    """Lifecycles per second through real Celery worker processes and the real broker."""
    from django.conf import settings

    _make_room(orders)
    messages_key = "bench:lifecycle:messages"
    redis_client = _redis()
    redis_client.delete(messages_key)
    sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    with _worker_process(workers, test_db) as worker:
        with CpuMeter(worker_pid=worker.pid, database=None if sqlite else test_db) as cpu:
            elapsed = _run_orders(orders)
            time.sleep(0.5)  # the last nudges are counted as they are taken
        messages = int(redis_client.get(messages_key) or 0)
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


def measure_soak(rounds: int, orders: int, workers: int, test_db: str) -> dict:
    """The worker's memory from the first order on: `rounds` rounds of `orders` lifecycles
    through one worker, each followed by the retention purge of the finished executions (as
    the daily sweep would) and, where the server's autovacuum is off, a VACUUM (as it would),
    so the tables stay the size of one round; then the RSS of the worker's main process, of
    each pool process, and of this driver. Progress on each round."""
    from datetime import timedelta

    import psutil

    from stepfunctions.services.retention import executions_purge

    _make_room(orders)
    vacuum = not _autovacuum_on()
    if vacuum:
        print("autovacuum is off on this server: VACUUM (ANALYZE) after each round's purge")
    samples = []
    with _worker_process(workers, test_db) as worker:
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


class CpuMeter:
    """CPU seconds (user + system) spent by the processes of a run, by kind, sampled every
    `interval` seconds so a process that exits meanwhile (a PostgreSQL backend whose connection
    closed) keeps what it had spent when last seen. Process CPU time, unlike wall-clock time,
    is barely distorted by other work sharing the machine.

    - driver: this process (the starts and the callbacks);
    - worker: the Celery worker and its pool processes;
    - postgresql: the server's backends connected to `database` (`postgres: ... <database> ...`).

    Redis is shared with whatever else uses the server, so it is not counted.
    """

    def __init__(self, *, worker_pid: int, database: str | None, interval: float = 0.25) -> None:
        import psutil

        self._psutil = psutil
        self.worker_pid = worker_pid
        self.database = database
        self.interval = interval
        self._seen: dict[tuple[str, int, float], float] = {}  # (kind, pid, created) -> cpu
        self._start: dict[tuple[str, int, float], float] = {}
        self._stop = threading.Event()
        self._own = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _cpu(process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    def _processes(self):
        psutil = self._psutil
        found = []
        with contextlib.suppress(psutil.Error):
            worker = psutil.Process(self.worker_pid)
            found += [("worker", p) for p in [worker, *worker.children(recursive=True)]]
        if self.database:
            marker = f" {self.database} "
            for process in psutil.process_iter(["name", "cmdline"]):
                cmdline = " ".join(process.info["cmdline"] or [])
                if cmdline.startswith("postgres:") and marker in cmdline:
                    found.append(("postgresql", process))
        return found

    def _sample(self) -> dict:
        sample = {}
        for kind, process in self._processes():
            with contextlib.suppress(self._psutil.Error):
                sample[(kind, process.pid, process.create_time())] = self._cpu(process)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._seen.update(self._sample())
        # The sampling's own CPU is the meter's, not the driver's.
        self._own = time.thread_time()

    def __enter__(self):
        self._start = self._sample()
        self._seen = dict(self._start)
        self._driver_start = self._cpu(self._psutil.Process())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._seen.update(self._sample())
        self._driver = self._cpu(self._psutil.Process()) - self._driver_start - self._own

    def seconds(self) -> dict[str, float]:
        """CPU seconds by kind over the run (a process started during it counts from zero)."""
        totals = {"driver": self._driver, "worker": 0.0, "postgresql": 0.0}
        for key, cpu in self._seen.items():
            totals[key[0]] += cpu - self._start.get(key, 0.0)
        return totals


def _redis():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


def _worker(concurrency: int) -> None:
    """A Celery worker as `runsystem` starts one, counting the stage messages it takes in Redis
    (one INCR per message, not per stage: the figure costs the benchmark nothing it measures)."""
    from celery.signals import task_prerun

    from serverlesspresso.celery import app

    client = []

    @task_prerun.connect(weak=False)
    def count(task=None, **kwargs):
        if task is not None and task.name == "stepfunctions.tasks.advance_execution":
            if not client:
                client.append(_redis())
            client[0].incr("bench:lifecycle:messages")

    app.worker_main(
        ["worker", "-l", "warning", "--concurrency", str(concurrency), "--without-gossip",
         "--without-mingle"]
    )  # fmt: skip


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
    parser.add_argument("--as-worker", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.as_worker:
        import django

        django.setup()
        _worker(options.as_worker)
        return
    connection, old_name, test_name, redis_process = _setup(options.database)
    try:
        print("database:", connection.vendor, "| broker:", os.environ.get("REDIS_URL"))
        if options.soak:
            figures = measure_soak(options.soak, options.orders, options.workers, test_name)
            print("soak:", json.dumps({k: v for k, v in figures.items() if k != "rounds"}))
            return
        print("one lifecycle:", json.dumps(measure_cost(options.load), indent=2))
        if not options.skip_workers:
            figures = measure_throughput(options.orders, options.workers, test_name)
            print(f"through {options.workers} Celery worker processes:", json.dumps(figures))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if redis_process is not None:
            redis_process.terminate()


if __name__ == "__main__":
    main()
