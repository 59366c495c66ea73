"""The fault scenarios at a larger scale than CI, and docs/RELIABILITY.md with what they showed.

    DATABASE_URL=postgres://... python -m bench.faults [--orders 120] [--clients 6] [--write]

Runs `manage.py runsystem` (gunicorn, a prefork worker, beat) on a throwaway database made from
the configured one and on a Redis of its own, drives order lifecycles through the Step Functions
API with boto3 (start, customer callback, barista callback), and meanwhile SIGKILLs the worker
(its main process or a pool process), SIGKILLs Redis and starts it again. Then it races ten
callbacks on one token, and callbacks against the expiry sweep at a token's deadline. It counts
executions lost, transitions duplicated, 5xx answers, and the longest wait between a callback's
answer and the next wait (or the end). With --write, the figures go to docs/RELIABILITY.md.

With --pg-faults it does PostgreSQL's faults instead (bench.database_faults), on PostgreSQL
only, one after another while the clients run lifecycle after lifecycle: every backend of the
bench's database terminated, a restart and a --stop-seconds stop (the system reaches the
database through a TCP link the bench cuts: the machine's PostgreSQL is shared), and the
executions table locked ACCESS EXCLUSIVE for --lock-seconds with the web's lock bound lowered
(DATABASE_LOCK_TIMEOUT_WEB). The clients send a call again 0.2 s after a 5xx (a 503 is
retryable) and watch their execution through the API while they wait. Each fault counts, over
the lifecycles started while it was on or in the --after seconds after it: 5xx answers (503s
among them) during and after, the stall after clearing, lifecycles lost, stuck and duplicated.
Its --write renders the subsection "At scale: `bench.faults --pg-faults`" of
docs/RELIABILITY.md's "PostgreSQL faults on the web tier"; the default run's --write rewrites
the part above that section. Each keeps the other's.
"""

import argparse
import contextlib
import itertools
import json
import os
import random
import signal
import tempfile
import threading
import time
from pathlib import Path

from bench import database_faults, fault_clients, stores, system
from bench.fault_clients import Tally

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")


def _faults(
    running: system.System,
    redis_server: system.RedisServer,
    stop: threading.Event,
    tally: Tally,
    every: float,
) -> None:
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
                c for c in psutil.Process(running.process.pid).children() if "worker" in c.cmdline()
            ]
            if not workers:
                continue  # runsystem is starting it again
            target = workers[0]
            if kind == "worker pool process" and target.children():
                target = random.choice(target.children())  # noqa: S311
            target.send_signal(signal.SIGKILL)
        tally.add(f"faults: SIGKILL {kind}")
        print(f"  fault: SIGKILL {kind}", flush=True)


def run(options) -> dict:
    import boto3
    from botocore.config import Config
    from django.contrib.auth import get_user_model
    from django.db import connections

    from orders.services.shop_config import shop_config_update
    from stepfunctions import services
    from stepfunctions.models import Execution
    from stepfunctions.services.access_keys import access_key_create

    shop_config_update(
        changes={"qr_code_required": False, "max_orders_in_queue": 10_000,
                 "max_orders_per_user": 10_000},
        by="faults",
    )  # fmt: skip
    user = get_user_model().objects.create_user(username="faults")
    key = access_key_create(user=user, grants=["all"])
    race_arn = services.state_machine_create(
        name="FaultsRace", definition=fault_clients.RACE_MACHINE
    ).arn
    var_dir = Path(tempfile.mkdtemp(prefix="sp-faults-"))
    redis_server = system.RedisServer(var_dir / "redis").start()
    tally = Tally()

    def client():
        return boto3.client(
            "stepfunctions", endpoint_url=running.endpoint, region_name="us-east-1",
            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
        )  # fmt: skip

    stop, pg_faults = threading.Event(), []
    try:
        env = system.local_env(stores.services_for(redis_server.url))
        link = contextlib.nullcontext()
        if options.pg_faults:
            database_faults.bench_connections_name()
            link = stores.database_link()
        with (
            link as database,
            system.runsystem(
                {**env, **_pg_env(database, options)}, var_dir, show_log=True
            ) as running,
        ):
            running.wait_up()
            print(f"runsystem up on {running.url}; {options.orders} orders, faults every "
                  f"{options.fault_every:g} s", flush=True)  # fmt: skip
            if options.pg_faults:
                fault_thread = threading.Thread(
                    target=lambda: pg_faults.extend(
                        database_faults.schedule(database.link, tally, options, stop)
                    )
                )
                names = (
                    f"order-{(tally.phase or 'warm').split()[0]}-{i}" for i in itertools.count()
                )
            else:
                fault_thread = threading.Thread(
                    target=_faults, args=(running, redis_server, stop, tally, options.fault_every)
                )
                names = iter(f"order-{i}" for i in range(options.orders))
            fault_thread.start()
            names_lock = threading.Lock()
            deadline = time.monotonic() + options.timeout

            def client_loop():
                own = client()
                try:
                    while not (options.pg_faults and stop.is_set()):
                        with names_lock:
                            name = next(names, None)
                        if name is None:
                            return
                        fault_clients.lifecycle(own, tally, name, deadline, retry=options.pg_faults)
                        tally.add("lifecycles")
                        done = tally.counts["lifecycles"]
                        if done % 10 == 0:
                            of = "" if options.pg_faults else f"/{options.orders}"
                            print(f"  {done}{of} lifecycles", flush=True)
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
            if options.pg_faults:
                options.races = 0  # the races are the other faults' run
            print("races: concurrent callbacks on one token", flush=True)
            fault_clients.race_one_token(client, tally, options.races, callers=10)
            print("races: callbacks against the sweep at the deadline", flush=True)
            fault_clients.race_the_sweep(client(), tally, options.races, race_arn)
            # The last stages of the races finish (a grace, not a requirement of the counts).
            grace = time.monotonic() + 60
            while (
                Execution.objects.filter(status="RUNNING", name__startswith="order-").exists()
                and time.monotonic() < grace
            ):
                time.sleep(0.5)
            worker_restarts = running.log().count("worker started again")
            web_tracebacks = sum(
                1
                for line in running.log().splitlines()
                if line.startswith("web") and ("Traceback" in line or "Server Error" in line)
            )
    finally:
        redis_server.stop()
    orders = Execution.objects.filter(name__startswith="order-")
    return {
        "executions run": Execution.objects.count(),
        "order lifecycles": orders.count(),
        "lost (not SUCCEEDED)": orders.exclude(status="SUCCEEDED").count(),
        **fault_clients.duplicates(),
        "worker restarts by runsystem": worker_restarts,
        "web tracebacks or 500 pages logged": web_tracebacks,
        "longest stall (s)": round(tally.longest_stall, 1),
        **dict(sorted(tally.counts.items())),
        "5xx samples": tally.errors[:5],
        **({"postgresql faults": database_faults.figures(tally, pg_faults, options)}
           if options.pg_faults else {}),
    }  # fmt: skip


def _pg_env(database, options) -> dict[str, str]:
    """runsystem's database through the link, and the web's lock bound, for --pg-faults."""
    if database is None:
        return {}
    return {"DATABASE_URL": database.url,
            "DATABASE_LOCK_TIMEOUT_WEB": str(options.web_lock_timeout)}  # fmt: skip


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
    _doc_write(top=lines)


DOC = system.REPO / "docs" / "RELIABILITY.md"
PG_SECTION = "## PostgreSQL faults on the web tier"


def _doc_write(*, top: list[str] | None = None, subsection: list[str] | None = None) -> None:
    """docs/RELIABILITY.md with the part above PG_SECTION replaced by `top`, or the subsection
    of PG_SECTION headed `subsection[0]` replaced by (or, new, appended as) `subsection`; the
    rest kept as it is."""
    text = DOC.read_text() if DOC.exists() else ""
    above, _, section = text.partition(PG_SECTION)
    if top is not None:
        above = "\n".join(top).rstrip("\n") + "\n\n"
    if subsection is not None:
        heading = subsection[0]
        before, found, after = section.partition(f"\n{heading}\n")
        rest = ""
        if found:
            following = after.find("\n#")
            rest = after[following + 1 :] if following >= 0 else ""
        section = before.rstrip("\n") + "\n\n" + "\n".join(subsection).rstrip("\n") + "\n"
        section += f"\n{rest}" if rest else ""
    DOC.write_text(f"{above}{PG_SECTION}{section}" if section or PG_SECTION in text else above)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--clients", type=int, default=6, help="concurrent API clients")
    parser.add_argument("--races", type=int, default=20)
    parser.add_argument("--fault-every", type=float, default=8.0, help="seconds between faults")
    parser.add_argument("--timeout", type=float, default=600, help="for the lifecycles")
    parser.add_argument("--write", action="store_true", help="write docs/RELIABILITY.md")
    parser.add_argument("--pg-faults", action="store_true", help="PostgreSQL's faults instead")
    parser.add_argument("--stop-seconds", type=float, default=20, help="--pg-faults: the stop")
    parser.add_argument("--lock-seconds", type=float, default=15, help="--pg-faults: the lock")
    parser.add_argument("--web-lock-timeout", type=float, default=0.5,
                        help="--pg-faults: DATABASE_LOCK_TIMEOUT_WEB (s)")  # fmt: skip
    parser.add_argument("--after", type=float, default=8, help="--pg-faults: s between faults")
    options = parser.parse_args()
    with stores.engine_database("serverlesspresso_faults") as connection:
        vendor = connection.vendor
        if options.pg_faults and vendor != "postgresql":
            parser.error("--pg-faults needs DATABASE_URL=postgres://...")
        figures = run(options)
    print(json.dumps(figures, indent=2))
    if options.write and options.pg_faults:
        command = (
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.faults "
            f"--pg-faults --clients {options.clients} --stop-seconds {options.stop_seconds:g} "
            f"--lock-seconds {options.lock_seconds:g} --after {options.after:g} --write"
        )
        rows = figures["postgresql faults"]
        _doc_write(
            subsection=database_faults.markdown(
                rows, command, options, figures["web tracebacks or 500 pages logged"]
            )
        )
        print("wrote docs/RELIABILITY.md")
    elif options.write:
        _write(figures, options, "PostgreSQL" if vendor == "postgresql" else "SQLite")
        print("wrote docs/RELIABILITY.md")


if __name__ == "__main__":
    main()
