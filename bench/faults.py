"""The fault scenarios at a larger scale than CI, and docs/RELIABILITY.md with what they showed.

    DATABASE_URL=postgres://... python -m bench.faults [--orders 120] [--clients 6] [--write]

Runs `manage.py runsystem` (gunicorn, a prefork worker, beat) on a throwaway database made from
the configured one and on a Redis of its own, drives order lifecycles through the Step Functions
API with boto3 (start, customer callback, barista callback), and meanwhile SIGKILLs the worker
(its main process or a pool process), SIGKILLs Redis and starts it again. Then it races ten
callbacks on one token, and callbacks against the expiry sweep at a token's deadline. It counts
executions lost, transitions duplicated, 5xx answers, and the longest wait between a callback's
answer and the next wait (or the end). With --write, the figures go to docs/RELIABILITY.md.
"""

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")
REPO = Path(__file__).resolve().parent.parent
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessorWorkflow"
CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
RACE_MACHINE = {
    "StartAt": "Wait",
    "States": {
        "Wait": {
            "Type": "Task",
            "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
            "HeartbeatSeconds": 2,
            "Parameters": {"Entries": [{"Source": "faults", "DetailType": "Faults.Wait",
                                        "Detail": {"TaskToken.$": "$$.Task.Token"}}]},
            "End": True,
        }
    },
}  # fmt: skip


class Tally:
    """What the clients saw, shared between their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.longest_stall = 0.0
        self.errors: list[str] = []

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def stall(self, seconds: float) -> None:
        with self.lock:
            self.longest_stall = max(self.longest_stall, seconds)

    def answer(self, error: Exception | None) -> None:
        from botocore.exceptions import ClientError

        if error is None:
            self.add("answers 2xx")
        elif isinstance(error, ClientError):
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            self.add("answers 5xx" if status >= 500 else "answers 4xx")
            if status >= 500:
                with self.lock:
                    self.errors.append(str(error)[:300])
        else:
            self.add("answers 5xx")  # the web server never answered
            with self.lock:
                self.errors.append(repr(error)[:300])


def _open_token(execution_name: str, state_name: str) -> str | None:
    from stepfunctions.models import CallbackToken

    return (
        CallbackToken.objects.filter(
            execution__name=execution_name, state_name=state_name, status="OPEN"
        )
        .values_list("token", flat=True)
        .first()
    )


def _call(tally: Tally, call, *args, **kwargs):
    from botocore.exceptions import ConnectionClosedError

    for attempt in (1, 2):
        try:
            result = call(*args, **kwargs)
        except ConnectionClosedError:
            # gunicorn closed an idle keep-alive connection as the request went out on it: no
            # answer at all, so a client tries again (as botocore's own retries would).
            tally.add("requests retried after a keep-alive connection closed")
            if attempt == 2:
                raise
        except Exception as error:  # noqa: BLE001 - every answer is counted
            tally.answer(error)
            return None
        else:
            tally.answer(None)
            return result
    return None


def _lifecycle(client, tally: Tally, name: str, deadline: float) -> None:
    """One order: start, customer callback, barista callback; times each wait for the next."""
    started = _call(
        tally, client.start_execution, stateMachineArn=MACHINE, name=name,
        input=json.dumps({"detail": {"orderId": name, "userId": "faults"}}),
    )  # fmt: skip
    if started is None:
        return
    since = time.monotonic()
    for state_name in (CUSTOMER_WAIT, BARISTA_WAIT):
        while (token := _open_token(name, state_name)) is None:
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        tally.stall(time.monotonic() - since)
        output = json.dumps({"orderId": name, "state": state_name})
        if _call(tally, client.send_task_success, taskToken=token, output=output) is not None:
            tally.add("callbacks won")
        since = time.monotonic()
    from stepfunctions.models import Execution

    while not Execution.objects.filter(name=name).exclude(status="RUNNING").exists():
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)
    tally.stall(time.monotonic() - since)


def _faults(system, redis_server, stop: threading.Event, tally: Tally, every: float) -> None:
    """Kills the worker's main process, a pool process, or Redis, in turn, until told to stop."""
    import psutil

    kinds = ["worker main process", "worker pool process", "redis"]
    turn = 0
    while not stop.wait(every):
        kind = kinds[turn % len(kinds)]
        turn += 1
        if kind == "redis":
            redis_server.kill()
            time.sleep(random.uniform(0.5, 2.0))  # noqa: S311 - fault timing, not a secret
            redis_server.start()
        else:
            workers = [
                c for c in psutil.Process(system.process.pid).children() if "worker" in c.cmdline()
            ]
            if not workers:
                continue  # runsystem is starting it again
            target = workers[0]
            if kind == "worker pool process" and target.children():
                target = random.choice(target.children())  # noqa: S311
            target.send_signal(signal.SIGKILL)
        tally.add(f"faults: SIGKILL {kind}")
        print(f"  fault: SIGKILL {kind}", flush=True)


def _race_one_token(client_factory, tally: Tally, rounds: int, callers: int) -> None:
    """`callers` callbacks at once on each of `rounds` tokens: exactly one may win each."""
    from stepfunctions.models import CallbackToken

    clients = [client_factory() for _ in range(callers)]
    for i in range(rounds):
        name = f"race-{i}"
        _lifecycle_start_only(clients[0], tally, name)
        while (token := _open_token(name, CUSTOMER_WAIT)) is None:
            time.sleep(0.05)
        barrier = threading.Barrier(callers)
        wins = []

        def call(client, token=token, barrier=barrier, wins=wins):
            barrier.wait()
            if _call(tally, client.send_task_success, taskToken=token, output="{}") is not None:
                wins.append(1)

        threads = [threading.Thread(target=call, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        tally.add("races: one token, concurrent callbacks")
        if len(wins) != 1 or CallbackToken.objects.get(token=token).status != "SUCCEEDED":
            tally.add("races: not exactly one winner")


def _lifecycle_start_only(client, tally: Tally, name: str, machine: str = MACHINE) -> None:
    _call(
        tally, client.start_execution, stateMachineArn=machine, name=name,
        input=json.dumps({"detail": {"orderId": name, "userId": "faults"}}),
    )  # fmt: skip


def _race_the_sweep(client, tally: Tally, rounds: int, arn: str) -> None:
    """A callback sent right at a token's heartbeat deadline, against beat's expiry sweep."""
    from stepfunctions.models import CallbackToken

    for i in range(rounds):
        name = f"sweep-{i}"
        _lifecycle_start_only(client, tally, name, machine=arn)
        while (row := CallbackToken.objects.filter(execution__name=name).first()) is None:
            time.sleep(0.05)
        wait = (row.deadline.timestamp() - time.time()) + random.uniform(-0.3, 0.3)  # noqa: S311
        time.sleep(max(wait, 0))
        _call(tally, client.send_task_success, taskToken=row.token, output="{}")
        tally.add("races: callback against the sweep")
        row.refresh_from_db()
        if row.status == "OPEN":
            time.sleep(3)
            row.refresh_from_db()
        if row.status not in ("SUCCEEDED", "TIMED_OUT"):
            tally.add("races: token neither won nor expired")


def _duplicates() -> dict:
    """Transitions made twice: a state entered twice in an execution whose path enters each
    state once, an event written twice, an order number given twice."""
    from orders.models import Order
    from stepfunctions.models import HistoryEvent

    entered = Counter(
        (e, n)
        for e, n in HistoryEvent.objects.filter(type__endswith="StateEntered")
        .exclude(execution__name__startswith="sweep-")
        .values_list("execution_id", "details__name")
    )
    numbers = Counter(
        Order.objects.exclude(order_number=None).values_list("order_number", flat=True)
    )
    return {
        "states entered twice": sum(1 for c in entered.values() if c > 1),
        "order numbers given twice": sum(1 for c in numbers.values() if c > 1),
    }


def run(options) -> dict:
    import boto3
    from botocore.config import Config
    from django.contrib.auth import get_user_model
    from django.db import connections

    from orders.services.shop_config import shop_config_update
    from stepfunctions import services
    from stepfunctions.models import Execution
    from stepfunctions.services.access_keys import access_key_create
    from tests.faults import RedisServer, services_for
    from tests.system import running_system

    shop_config_update(
        changes={"qr_code_required": False, "max_orders_in_queue": 10_000,
                 "max_orders_per_user": 10_000},
        by="faults",
    )  # fmt: skip
    user = get_user_model().objects.create_user(username="faults")
    key = access_key_create(user=user, grants=["all"])
    race_arn = services.state_machine_create(name="FaultsRace", definition=RACE_MACHINE).arn
    var_dir = Path(tempfile.mkdtemp(prefix="sp-faults-"))
    redis_server = RedisServer(var_dir / "redis").start()
    tally = Tally()

    def client():
        return boto3.client(
            "stepfunctions", endpoint_url=f"{system.url}/sfn/", region_name="us-east-1",
            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
        )  # fmt: skip

    try:
        with running_system(var_dir, services=services_for(redis_server.url)) as system:
            system.wait_up()
            print(f"runsystem up on {system.url}; {options.orders} orders, faults every "
                  f"{options.fault_every:g} s", flush=True)  # fmt: skip
            stop = threading.Event()
            fault_thread = threading.Thread(
                target=_faults, args=(system, redis_server, stop, tally, options.fault_every)
            )
            fault_thread.start()
            names = iter(f"order-{i}" for i in range(options.orders))
            names_lock = threading.Lock()
            deadline = time.monotonic() + options.timeout

            def client_loop():
                own = client()
                try:
                    while True:
                        with names_lock:
                            name = next(names, None)
                        if name is None:
                            return
                        _lifecycle(own, tally, name, deadline)
                        tally.add("lifecycles")
                        done = tally.counts["lifecycles"]
                        if done % 10 == 0:
                            print(f"  {done}/{options.orders} lifecycles", flush=True)
                finally:
                    connections.close_all()  # a thread's own connection

            threads = [
                threading.Thread(target=client_loop, daemon=True) for _ in range(options.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stop.set()
            fault_thread.join()
            print("races: concurrent callbacks on one token", flush=True)
            _race_one_token(client, tally, options.races, callers=10)
            print("races: callbacks against the sweep at the deadline", flush=True)
            _race_the_sweep(client(), tally, options.races, race_arn)
            # The last stages of the races finish (a grace, not a requirement of the counts).
            grace = time.monotonic() + 60
            while (
                Execution.objects.filter(status="RUNNING", name__startswith="order-").exists()
                and time.monotonic() < grace
            ):
                time.sleep(0.5)
            worker_restarts = system.log().count("worker started again")
    finally:
        redis_server.stop()
    orders = Execution.objects.filter(name__startswith="order-")
    return {
        "executions run": Execution.objects.count(),
        "order lifecycles": orders.count(),
        "lost (not SUCCEEDED)": orders.exclude(status="SUCCEEDED").count(),
        **_duplicates(),
        "worker restarts by runsystem": worker_restarts,
        "longest stall (s)": round(tally.longest_stall, 1),
        **dict(sorted(tally.counts.items())),
        "5xx samples": tally.errors[:5],
    }


def _write(figures: dict, options, vendor: str) -> None:
    command = (
        f"DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.faults "
        f"--orders {options.orders} --clients {options.clients} --races {options.races} "
        f"--fault-every {options.fault_every:g} --write"
    )
    faults = {k: v for k, v in figures.items() if k.startswith("faults:")}
    lines = [
        "# Reliability: the fault scenarios at scale",
        "",
        "Written by `python -m bench.faults` (bench/faults.py); the suite runs the same faults at a",
        "smaller scale (tests/orders/test_fault_broker.py, tests/stepfunctions/test_fault_*.py).",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {vendor} and a private",
        "Redis, 2 shared cores; runsystem (gunicorn, a prefork worker of 2, beat).",
        "",
        "## Faults injected",
        "",
        *[f"- {k.removeprefix('faults: ')}: {v}" for k, v in faults.items()],
        f"- concurrent callbacks on one token (10 at once): {options.races} tokens",
        f"- callbacks racing the expiry sweep at the deadline: {options.races}",
        "",
        "## What came of it",
        "",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| executions run | {figures['executions run']} | |",
        f"| order lifecycles (start, two callbacks) | {figures['order lifecycles']} | |",
        f"| lost (not SUCCEEDED) | {figures['lost (not SUCCEEDED)']} | 0 |",
        f"| states entered twice | {figures['states entered twice']} | 0 |",
        f"| order numbers given twice | {figures['order numbers given twice']} | 0 |",
        f"| 5xx answers (or no answer) | {figures.get('answers 5xx', 0)} | 0 |",
        "| requests sent again after gunicorn closed an idle keep-alive connection | "
        f"{figures.get('requests retried after a keep-alive connection closed', 0)} | |",
        f"| 2xx / 4xx answers | {figures.get('answers 2xx', 0)} / "
        f"{figures.get('answers 4xx', 0)} | |",
        f"| races with not exactly one winner | {figures.get('races: not exactly one winner', 0)}"
        " | 0 |",
        f"| sweep races with the token neither won nor expired | "
        f"{figures.get('races: token neither won nor expired', 0)} | 0 |",
        f"| worker restarts by runsystem | {figures['worker restarts by runsystem']} | |",
        f"| longest stall (s): a callback's answer to the next wait | "
        f"{figures['longest stall (s)']} | |",
        "",
        "The 4xx answers are the races' losers (TaskTimedOut: the token was won already), as they",
        "must be. The longest stall includes a killed worker's restart by runsystem (its boot, and",
        "a backoff of a second or more) and a Redis restart's wait for the relay.",
        "",
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
    ]
    (REPO / "docs" / "RELIABILITY.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--clients", type=int, default=6, help="concurrent API clients")
    parser.add_argument("--races", type=int, default=20)
    parser.add_argument("--fault-every", type=float, default=8.0, help="seconds between faults")
    parser.add_argument("--timeout", type=float, default=600, help="for the lifecycles")
    parser.add_argument("--write", action="store_true", help="write docs/RELIABILITY.md")
    options = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from bench.lifecycle import _setup

    connection, old_name, _, redis_process = _setup("serverlesspresso_faults")
    vendor = connection.vendor
    try:
        figures = run(options)
    finally:
        from django.db import connections

        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if redis_process is not None:
            redis_process.terminate()
    print(json.dumps(figures, indent=2))
    if options.write:
        _write(figures, options, "PostgreSQL" if vendor == "postgresql" else "SQLite")
        print("wrote docs/RELIABILITY.md")


if __name__ == "__main__":
    main()
