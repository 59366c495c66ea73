"""Throughput, latency, timeouts, sweep cost and memory of the production shape, with yardsticks.

    python -m bench.throughput [--quick] [--out var/bench/throughput.json] [--plot PATH]

Brings up `manage.py runsystem` (whatever processes it runs) on a throwaway PostgreSQL database
and the benchmark's Redis database, drives the Step Functions API with boto3 clients from several
processes, and measures the targets of issue 9; then pgbench, Celery's empty task and moto's Step
Functions on the same machine. Prints progress and a table, writes a JSON; asserts nothing.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import stats, system, yardsticks
from bench.clients import ABANDONED, BARISTA_WAIT, CUSTOMER_WAIT, ClientPool, Target, sfn_client

DATABASE = "wtbench_run"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessorWorkflow"
SIZES = {
    "full": {
        "clients": [1, 4, 16, 32, 64], "seconds": 12, "level_cap": 30, "settle_cap": 30, "half_seconds": 15,
        "idle": 20, "timeouts": 100_000, "timeout_margin": 12, "timeout_cap": 40,
        "waiting": 1_000_000, "due": 1_000, "pgbench_seconds": 10, "pgbench_scale": 10,
        "celery_tasks": 1_000, "moto": 10, "moto_seconds": 30,
    },
    "quick": {
        "clients": [1, 4], "seconds": 6, "level_cap": 10, "settle_cap": 10, "half_seconds": 4, "idle": 5,
        "timeouts": 1_000, "timeout_margin": 4, "timeout_cap": 10, "waiting": 10_000,
        "due": 100, "pgbench_seconds": 3, "pgbench_scale": 1, "celery_tasks": 200, "moto": 2,
        "moto_seconds": 10,
    },
}  # fmt: skip
CLIENT_PROCESSES = 4


def say(*parts) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}]", *parts, flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=system.REPO,
                          capture_output=True, text=True)  # fmt: skip
    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=system.REPO,
                            capture_output=True, text=True)  # fmt: skip
    return f"{branch.stdout.strip()}@{done.stdout.strip()}"


def django_setup(env: dict[str, str]) -> None:
    """Django in this process, on the same settings and database as runsystem."""
    for key in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS",
                "DJANGO_SECURE_SSL_REDIRECT", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                "SERVERLESSPRESSO_VAR_DIR"):  # fmt: skip
        os.environ[key] = env[key]
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def shop_make_room() -> None:
    """The shop open with room for every order the benchmark starts (the seed's capacity check
    still runs on each)."""
    from orders.services.shop_config import shop_config_update

    shop_config_update(changes={"store_open": True, "max_orders_in_queue": 10**7}, by="bench")


def callback_gaps(prefix: str) -> dict:
    """From the database, for executions named prefix-*: each SendTaskSuccess's token closing
    (the moment the callback committed) to the execution's next wait (the next token's creation)
    or its end (stop date)."""
    from stepfunctions.models import CallbackToken, Execution

    tokens: dict = {}
    for execution_id, state_name, created, closed in CallbackToken.objects.filter(
        execution__name__startswith=f"{prefix}-"
    ).values_list("execution_id", "state_name", "created_at", "closed_at"):
        tokens[(execution_id, state_name)] = (created, closed)
    gaps, to_wait, to_end = [], [], []
    for execution_id, stop in Execution.objects.filter(name__startswith=f"{prefix}-").values_list(
        "id", "stop_date"
    ):
        first = tokens.get((execution_id, CUSTOMER_WAIT))
        second = tokens.get((execution_id, BARISTA_WAIT))
        if first and second and first[1]:
            to_wait.append((second[0] - first[1]).total_seconds())
        if second and second[1] and stop:
            to_end.append((stop - second[1]).total_seconds())
    gaps = to_wait + to_end
    return {
        "callback to next wait or end": stats.summary_ms(gaps),
        "customer callback to barista wait": stats.summary_ms(to_wait),
        "barista callback to SUCCEEDED": stats.summary_ms(to_end),
    }


def stage_rate(prefix: str, start: float, end: float) -> float:
    """Lifecycles/s as the engine did them in [start, end] (epoch seconds): each lifecycle is three
    steps (start to the first wait, callback to the second, callback to the end), counted from
    the database as tokens created and executions ended, over three. Unlike whole lifecycles
    completed in a window, it needs no steady state: a lifecycle half done counts half."""
    from stepfunctions.models import CallbackToken, Execution

    since = datetime.fromtimestamp(start, UTC)
    until = datetime.fromtimestamp(end, UTC)
    waits = CallbackToken.objects.filter(
        execution__name__startswith=f"{prefix}-", created_at__gt=since, created_at__lte=until
    ).count()
    ends = Execution.objects.filter(
        name__startswith=f"{prefix}-", stop_date__gt=since, stop_date__lte=until
    ).count()
    return round((waits + ends) / 3 / (end - start), 2)


def settle(cap: float) -> float:
    """Waits (at most `cap` seconds) until no stage is due: work left by lifecycles abandoned at
    the end of a window must not be measured against the next one. Returns the seconds waited."""
    from stepfunctions.models import Execution

    started = time.monotonic()
    while Execution.objects.filter(stage=Execution.Stage.READY).exists():
        if time.monotonic() - started > cap:
            break
        time.sleep(0.25)
    return round(time.monotonic() - started, 1)


def level_figures(run: dict) -> dict:
    """Lifecycles/s counted over the window after its ramp (while the clients' first lifecycles
    are in flight; a lifecycle takes seconds under load), and the clients' own view."""
    end = run["go"] + run["duration"]
    counted_from = run["go"] + run.get("ramp", run["duration"] / 4)
    ok = [r for r in run["records"] if not r[3]]
    done = [r for r in ok if counted_from < r[2] <= end]
    errors = [r[3] for r in run["records"] if r[3] and r[3] != ABANDONED]
    return {
        "lifecycles/s": round(len(done) / (end - counted_from), 2),
        "whole lifecycles completed/s": round(len(done) / (end - counted_from), 2),
        "completed in window": len(done),
        "lifecycles run": len(run["records"]),
        "abandoned at the end": sum(1 for r in run["records"] if r[3] == ABANDONED),
        "window s": round(run["duration"], 1),
        "counted from s": round(counted_from - run["go"], 1),
        "errors": len(errors),
        "first error": errors[0] if errors else None,
        "throttled": run["throttled"],
        "client lifecycle": stats.summary_ms([r[2] - r[1] for r in ok]),
    }


def cpu_figures(run: dict, spent: dict[str, float]) -> dict:
    """What a level cost in CPU: the client processes' own (boto3 signing, sending, parsing and
    polling) and each of runsystem's children's, per lifecycle the clients completed and per API
    call. CPU time, unlike wall-clock time, is little changed by the machine's other load; the
    clients' figure says how many lifecycles/s this machine's cores could drive with nothing
    else running, the ceiling of any figure over HTTP with the clients on the same cores."""
    completed = sum(1 for r in run["records"] if not r[3])
    calls = sum(run.get("calls", {}).values())
    if not completed or not calls:
        return {}
    client_ms = run["client cpu s"] * 1000 / completed
    cores = os.cpu_count() or 1
    return {
        "lifecycles completed": completed,
        "API calls per lifecycle": round(calls / completed, 2),
        "API calls per lifecycle, by operation": {
            method: round(count / completed, 2) for method, count in sorted(run["calls"].items())
        },
        "client CPU ms per lifecycle": round(client_ms, 1),
        "client CPU ms per API call": round(run["client cpu s"] * 1000 / calls, 2),
        f"clients alone at most, lifecycles/s on {cores} cores": round(cores * 1000 / client_ms, 1),
        "server CPU ms per lifecycle": {
            label: round(seconds * 1000 / completed, 1) for label, seconds in spent.items()
        },
        "web CPU ms per API call": round(spent.get("web", 0.0) * 1000 / calls, 2),
    }


def client_yardstick(sweep: dict) -> dict:
    """The boto3 clients' own CPU per lifecycle at the level with the most lifecycles completed
    (the steadiest figure), and the rate it allows: the clients alone, on all of the machine's
    cores, with no server running, could drive no more lifecycles/s than that."""
    measured = [(f["cpu"]["lifecycles completed"], f["cpu"]) for f in sweep.values() if f["cpu"]]
    if not measured:
        return {}
    _, cpu = max(measured, key=lambda pair: pair[0])
    cores = os.cpu_count() or 1
    ceiling = cpu[f"clients alone at most, lifecycles/s on {cores} cores"]
    return {
        "client CPU ms per lifecycle": cpu["client CPU ms per lifecycle"],
        "API calls per lifecycle": cpu["API calls per lifecycle"],
        "clients alone at most, lifecycles/s": ceiling,
        "cores": cores,
        "says": f"boto3 client CPU per lifecycle: {cpu['client CPU ms per lifecycle']} ms "
        f"({cpu['API calls per lifecycle']} API calls) -> at most {ceiling} lifecycles/s on "
        f"this machine's {cores} cores for the clients alone",
    }


def measure_api(pool: ClientPool, sizes: dict, results: dict, pid: int) -> None:
    say("warm-up: 2 lifecycles, 1 client")
    pool.run(1, "warm", duration=60, max_count=2)
    results["first order at"] = time.time()
    sweep = {}
    rate = 0.0
    for clients in sizes["clients"]:
        # Little's law: at the last level's rate, a lifecycle of `clients` clients takes about
        # clients / rate seconds; the window is that ramp plus the base time (capped).
        ramp = clients / rate if rate else sizes["seconds"] / 4
        duration = min(max(sizes["seconds"], ramp + sizes["seconds"]), sizes["level_cap"])
        cpu_before = system.children_cpu(pid)
        run = pool.run(clients, f"c{clients}", duration=duration)
        spent = system.cpu_spent(cpu_before, system.children_cpu(pid))
        run["ramp"] = min(ramp, duration / 2)
        figures = level_figures(run)
        figures["cpu"] = cpu_figures(run, spent)
        figures["lifecycles/s"] = stage_rate(
            f"c{clients}", run["go"] + run["ramp"], run["go"] + duration
        )
        rate = figures["lifecycles/s"] or rate
        figures["settled after s"] = settle(sizes["settle_cap"])
        figures["server"] = callback_gaps(f"c{clients}")["callback to next wait or end"]
        sweep[clients] = figures
        say(f"{clients:>3} clients: {figures['lifecycles/s']:>7} lifecycles/s "
            f"({figures['whole lifecycles completed/s']} whole ones completed/s), "
            f"lifecycle p99 {figures['client lifecycle']['p99_ms']} ms, callback-to-next-wait p99 "
            f"{figures['server']['p99_ms']} ms, errors {figures['errors']}, "
            f"throttled {figures['throttled']} | load {load_average()}")  # fmt: skip
        cpu = figures["cpu"]
        if cpu:
            say(f"     {cpu['API calls per lifecycle']} API calls per lifecycle; CPU per lifecycle: "
                f"boto3 clients {cpu['client CPU ms per lifecycle']} ms, "
                + ", ".join(f"{k} {v} ms" for k, v in cpu["server CPU ms per lifecycle"].items())
                + f"; web {cpu['web CPU ms per API call']} ms per API call")  # fmt: skip
    results["sweep"] = sweep
    results["client yardstick"] = client_yardstick(sweep)
    if results["client yardstick"]:
        say(results["client yardstick"]["says"])
    peak_clients, peak = stats.sweep_peak({c: f["lifecycles/s"] for c, f in sweep.items()})
    results["peak"] = {"clients": peak_clients, "lifecycles/s": peak}
    results["at 32 / peak"] = stats.ratio(sweep.get(32, {}).get("lifecycles/s"), peak)
    results["at 64 / peak"] = stats.ratio(sweep.get(64, {}).get("lifecycles/s"), peak)

    rate = max(peak / 2, 0.5)
    # Enough clients to hold the pace, few enough that their polling is not the load.
    clients = max(2, min(peak_clients, 8))
    say(f"half the peak: {rate:.1f} lifecycles/s paced over {clients} clients")
    run = pool.run(clients, "half", duration=sizes["half_seconds"], rate=rate)
    settle(sizes["settle_cap"])
    results["half peak"] = {"rate asked": round(rate, 2), **level_figures(run),
                            **callback_gaps("half")}  # fmt: skip
    say("  ", json.dumps(results["half peak"]["callback to next wait or end"]))

    say(f"idle: {sizes['idle']} lifecycles, one client, one every 0.5 s")
    run = pool.run(1, "idle", duration=600, rate=2.0, max_count=sizes["idle"])
    results["idle"] = {**level_figures(run), **callback_gaps("idle")}
    say("  ", json.dumps(results["idle"]["callback to next wait or end"]))


def measure_memory(sampler: system.MemorySampler, runs: list[dict], first: float) -> dict:
    """RSS by child from the first order on, against lifecycles completed by each sample."""
    ends = sorted(r[2] for run in runs for r in run if not r[3])
    series: dict[str, list[tuple[int, float]]] = {}
    for at, sample in sampler.samples:
        if at < first:
            continue
        done = sum(1 for end in ends if end <= at)
        for label, mib in sample.items():
            series.setdefault(label, []).append((done, mib))
    figures = {}
    for label, points in series.items():
        if not points:
            continue
        per_order = stats.slope(points)
        start, last = points[0][1], points[-1][1]
        figures[label] = {
            "MiB at first order": round(start, 1),
            "MiB at last": round(last, 1),
            "MiB max": round(max(m for _, m in points), 1),
            "change": stats.ratio(last - start, start),
            "MiB per 1,000 orders (slope)": round(per_order * 1000, 2) if per_order else None,
        }
    return {"orders": len(ends), "samples": len(sampler.samples), "by child": figures}


def measure_timeouts(target: Target, sizes: dict) -> dict:
    """`timeouts` tokens all due at one moment, inserted in SQL, swept by the running system."""
    from django.db import connection

    from bench import bulk
    from stepfunctions.models import CallbackToken, Execution

    count = sizes["timeouts"]
    sfn = sfn_client(target)
    sfn.start_execution(stateMachineArn=target.state_machine_arn, name="tmo-template",
                        input=json.dumps({"detail": {"orderId": "t", "userId": "bench"}}))  # fmt: skip
    deadline = time.monotonic() + 60
    while not CallbackToken.objects.filter(execution__name="tmo-template", status="OPEN").exists():
        if time.monotonic() > deadline:
            return {"error": "the template execution never reached its first wait"}
        time.sleep(0.1)
    bulk.template_keep("tmo-template")
    say(f"timeouts: inserting {count:,} waiting executions, all due together")
    inserted = bulk.clone_waiting("tmo", count, due_in=sizes["timeout_margin"])
    due = inserted["deadline"]
    say(f"  due at {due:%H:%M:%S}; inserted: {inserted['seconds']} s")
    tokens = CallbackToken.objects.filter(execution__name__startswith="tmo-")
    cap = due + timedelta(seconds=sizes["timeout_cap"])
    while datetime.now(UTC) < cap:
        open_left = tokens.filter(status="OPEN").count()
        if not open_left:
            break
        time.sleep(0.5)
    with connection.cursor() as cursor:
        table = CallbackToken._meta.db_table
        executions = Execution._meta.db_table
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE t.status = 'TIMED_OUT'), "  # noqa: S608
            f"percentile_disc(0.99) WITHIN GROUP (ORDER BY t.closed_at - t.deadline), "
            f"max(t.closed_at - t.deadline), "
            f"count(e.stop_date), percentile_disc(0.99) WITHIN GROUP (ORDER BY e.stop_date - t.deadline), "
            f"max(e.stop_date - t.deadline) "
            f"FROM {table} t JOIN {executions} e ON e.id = t.execution_id WHERE e.name LIKE 'tmo-%%' "
            f"AND e.name <> 'tmo-template'"
        )  # fmt: skip
        timed_out, p99, latest, ended, ended_p99, ended_latest = cursor.fetchone()

    def s(value) -> float | None:
        return None if value is None else round(value.total_seconds(), 2)

    return {
        "tokens": count,
        "insert seconds": inserted["seconds"],
        "timed out": timed_out,
        "all timed out within s": s(latest) if timed_out == count else None,
        # Of those timed out; with more than 1% still open, p99 is past the wait itself.
        "lateness p99 s": s(p99) if timed_out >= math.ceil(0.99 * count) else None,
        "lateness p99 of those timed out s": s(p99),
        "lateness max s": s(latest),
        "executions ended (Catch path run)": ended,
        "ended p99 after the deadline s": s(ended_p99),
        "ended max after the deadline s": s(ended_latest),
        "waited until s after the deadline": round((datetime.now(UTC) - due).total_seconds(), 1),
    }


def _timed(call) -> dict:
    started = time.perf_counter()
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 (a sweep this code base lacks is a figure too)
        return {"error": f"{type(error).__name__}: {error}"[:200]}
    return {"ms": round((time.perf_counter() - started) * 1000, 2), "returned": value}


def measure_sweep_tick(sizes: dict) -> dict:
    """One tick of each sweep with `waiting` executions waiting and none due, then with `due`
    due (tokens past their deadline; for the relay and the stall recovery, stages left READY)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from bench import bulk
    from stepfunctions import services
    from stepfunctions.models import CallbackToken

    waiting = sizes["waiting"]
    bulk.engine_tables_empty()
    say(f"sweep tick: inserting {waiting:,} waiting executions, none due")
    inserted = bulk.clone_waiting("wait", waiting, due_in=86400, point_cursor=False)
    say(f"  inserted: {inserted['seconds']} s")
    relay_after = timedelta(seconds=getattr(settings, "WORKFLOW_RELAY_SECONDS", 2) + 1)
    stall_after = timedelta(seconds=getattr(settings, "WORKFLOW_STALL_SECONDS", 30) + 1)
    sweeps = {
        "tokens_expire": lambda: services.tokens_expire(),
        "executions_time_out": lambda: services.executions_time_out(),
        "executions_relay": lambda: services.executions_relay(now=timezone.now() + relay_after),
        "executions_recover": lambda: services.executions_recover(now=timezone.now() + stall_after),
    }
    figures: dict = {"waiting": waiting, "insert seconds": inserted["seconds"]}
    none_due = {}
    for name, call in sweeps.items():
        runs = [_timed(call) for _ in range(5)]
        times = [r["ms"] for r in runs if "ms" in r]
        none_due[name] = (
            {"median ms": stats.percentile(times, 0.5), "min ms": min(times)} if times else runs[0]
        )
    figures["none due"] = none_due
    say("  none due:", json.dumps(none_due))
    due = sizes["due"]
    tokens = CallbackToken._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {tokens.db_table} SET deadline = now() - interval '1 second', "  # noqa: S608
            f"heartbeat_deadline = now() - interval '1 second' WHERE {tokens.pk.column} IN "
            f"(SELECT {tokens.pk.column} FROM {tokens.db_table} WHERE status = 'OPEN' LIMIT %s)",
            [due],
        )
    system.redis_flush()
    with_due = {"tokens_expire": _timed(sweeps["tokens_expire"])}
    # The expired tokens' executions are READY now: the relay's and the recovery's due stages.
    system.redis_flush()
    with_due["executions_relay"] = _timed(sweeps["executions_relay"])
    system.redis_flush()
    with_due["executions_recover"] = _timed(sweeps["executions_recover"])
    system.redis_flush()
    figures[f"{due} due"] = with_due
    say(f"  {due} due:", json.dumps(with_due))
    return figures


SOAK_CHUNK_SECONDS = 30


def drive(running: system.System) -> tuple[Target, system.MemorySampler, ClientPool]:
    """Django in this process on the system's database, the shop open, the memory sampled from
    now on, and the client processes started."""
    django_setup(running.env)
    shop_make_room()
    target = Target(running.endpoint, running.access_key_id, running.secret_access_key,
                    STATE_MACHINE_ARN)  # fmt: skip
    sampler = system.MemorySampler(running.process.pid)
    sampler.start()
    return target, sampler, ClientPool(target, CLIENT_PROCESSES)


def run_soak(options) -> dict:
    """Lifecycles back to back from `--soak-clients` clients for `--soak` seconds, with the RSS of
    web, worker and beat against orders completed. The first chunk (SOAK_CHUNK_SECONDS) is the
    warm-up: thread pools, connections and caches fill as concurrency first rises, which is
    growth that stops; the slope after it is what a million orders would add. Where the server's
    autovacuum is off, the database is vacuumed after each chunk, as autovacuum would."""
    results: dict = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "commit": commit(),
        "mode": f"soak {options.soak} s, {options.soak_clients} clients",
        "load average at start": load_average(),
    }
    with (
        system.throwaway_database(options.database),
        system.running_system(options.database) as running,
    ):
        target, sampler, pool = drive(running)
        runs: list = []
        vacuum = results["vacuum after each chunk"] = not system.autovacuum_on()
        if vacuum:
            say("autovacuum is off on this server: VACUUM (ANALYZE) after each chunk")
        try:
            pool.run(1, "warm", duration=60, max_count=2)
            first = time.time()
            chunk, ends = 0, time.time() + options.soak
            while time.time() < ends:
                run = pool.run(options.soak_clients, f"soak{chunk}",
                               duration=min(SOAK_CHUNK_SECONDS, ends - time.time()))  # fmt: skip
                runs.append(run["records"])
                chunk += 1
                if vacuum:
                    system.database_vacuum(options.database)
                done = sum(1 for records in runs for r in records if not r[3])
                latest = sampler.samples[-1][1] if sampler.samples else {}
                threads = system.children_threads(running.process.pid)
                say(f"soak: {done} orders; RSS MiB " + ", ".join(
                    f"{k} {v:.1f}" for k, v in sorted(latest.items()))
                    + f"; threads {threads}")  # fmt: skip
        finally:
            pool.close()
            sampler.stop()
        results["memory"] = measure_memory(sampler, runs, first)
        warmed = time.time() if len(runs) < 2 else max(r[2] for r in runs[0])
        results["memory after the first chunk"] = measure_memory(sampler, runs[1:], warmed)
    results["load average at end"] = load_average()
    for name in ("memory", "memory after the first chunk"):
        say(f"{name}: {results[name]['orders']} orders")
        for label, figure in results[name]["by child"].items():
            say(f"  {label}: {figure['MiB at first order']} -> {figure['MiB at last']} MiB "
                f"(max {figure['MiB max']}), {figure['MiB per 1,000 orders (slope)']} MiB per "
                f"1,000 orders, change {figure['change']}")  # fmt: skip
    return results


def run_all(options, sizes: dict) -> dict:
    results: dict = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "commit": commit(),
        "mode": "quick" if options.quick else "full",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "load average at start": load_average(),
        "sizes": sizes,
    }
    say("load average (1, 5, 15 min):", results["load average at start"], "| commit",
        results["commit"])  # fmt: skip
    with system.throwaway_database(options.database):
        say(f"database {options.database} created; starting runsystem")
        started = time.perf_counter()
        with system.running_system(options.database) as running:
            results["runsystem up s"] = round(time.perf_counter() - started, 1)
            say(f"runsystem up in {results['runsystem up s']} s on port {running.port}")
            target, sampler, pool = drive(running)
            runs: list = []
            original = pool.run

            def keep(*args, **kwargs):
                run = original(*args, **kwargs)
                runs.append(run["records"])
                return run

            pool.run = keep
            try:
                measure_api(pool, sizes, results, running.process.pid)
            finally:
                pool.close()
                sampler.stop()
            results["memory"] = measure_memory(sampler, runs, results.pop("first order at"))
            say("memory:", json.dumps(results["memory"]))
            results["timeouts"] = measure_timeouts(target, sizes)
            say("timeouts:", json.dumps(results["timeouts"]))
        results["sweep tick"] = measure_sweep_tick(sizes)
    say(f"database {options.database} dropped")
    if not options.skip_yardsticks:
        say("yardstick: pgbench")
        results["pgbench"] = yardsticks.pgbench(sizes["pgbench_seconds"], sizes["pgbench_scale"])
        say("  ", results["pgbench"])
        say("yardstick: Celery's empty task")
        results["celery empty task"] = yardsticks.celery_empty(sizes["celery_tasks"])
        say("  ", results["celery empty task"])
        say("yardstick: moto's Step Functions")
        results["moto"] = yardsticks.moto(sizes["moto"], sizes["moto_seconds"])
        say("  ", json.dumps(results["moto"], default=str))
        results["step functions quotas"] = yardsticks.STEP_FUNCTIONS_QUOTAS
    results["load average at end"] = load_average()
    say("load average at end:", results["load average at end"])
    return results


def yardstick_ratios(results: dict) -> dict:
    """The project's peak against each yardstick."""
    peak = results.get("peak", {}).get("lifecycles/s")
    sweep = {str(k): v for k, v in results.get("sweep", {}).items()}
    one_client = sweep.get("1", {}).get("lifecycles/s")
    moto = results.get("moto", {}).get("lambda steps as Pass states", {}).get("lifecycles/s")
    quotas = results.get("step functions quotas") or yardsticks.STEP_FUNCTIONS_QUOTAS
    return {
        "pgbench tps per lifecycle/s": stats.ratio(results.get("pgbench", {}).get("tps"), peak),
        "empty Celery tasks/s per lifecycle/s": stats.ratio(
            results.get("celery empty task", {}).get("tasks/s"), peak
        ),
        "1 client's lifecycles/s vs moto's (1 client)": stats.ratio(one_client, moto),
        "StartExecution/s vs the 300/s quota": stats.ratio(peak, quotas["StartExecution refill/s"]),
        "SendTaskSuccess/s vs the 500/s quota": stats.ratio(
            peak and 2 * peak, quotas["SendTaskSuccess refill/s"]
        ),
    }


def table(results: dict) -> str:
    rows = table_rows(results)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def markdown(runs: list[dict]) -> str:
    """The runs' tables side by side, as Markdown (docs/PERFORMANCE.md)."""
    columns = [table_rows(run) for run in runs]
    names = [name for name, _ in columns[0]]
    values = [dict(rows) for rows in columns]
    heads = [run.get("label") or run["commit"] for run in runs]
    lines = ["| figure | " + " | ".join(heads) + " |", "|---" * (len(runs) + 1) + "|"]
    for name in names:
        cells = [str(v.get(name, "n/a")).replace("|", "/") for v in values]
        lines.append(f"| {name.strip()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cpu_cell(cpu: dict | None) -> str:
    if not cpu:
        return ""
    return (f" (CPU: web {cpu['web CPU ms per API call']} ms per API call, boto3 clients "
            f"{cpu['client CPU ms per lifecycle']} ms per lifecycle of "
            f"{cpu['API calls per lifecycle']} calls)")  # fmt: skip


def table_rows(results: dict) -> list[tuple[str, str]]:
    def get(*path):
        value = results
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return "n/a"
            value = value[key]
        return value

    rows = [
        ("run", f"{get('date')}, {get('commit')}, {get('mode')}, {get('seconds')} s"),
        ("lifecycles/s over HTTP, by clients", ""),
    ]
    for clients, figures in get("sweep").items() if isinstance(get("sweep"), dict) else []:
        rows.append((f"  {clients} clients", f"{figures['lifecycles/s']} lifecycles/s "
                     f"({figures['whole lifecycles completed/s']} whole/s) "
                     f"(callback-to-next-wait p99 {figures['server']['p99_ms']} ms, "
                     f"errors {figures['errors']}, throttled {figures['throttled']})"
                     + _cpu_cell(figures.get("cpu"))))  # fmt: skip
    rows += [
        ("peak", f"{get('peak', 'lifecycles/s')} lifecycles/s at {get('peak', 'clients')} clients"),
        ("boto3 clients' own CPU (the clients' ceiling)", f"{get('client yardstick', 'says')}"),
        ("32 / 64 clients vs peak", f"{get('at 32 / peak')} / {get('at 64 / peak')}"),
        ("callback to next wait, half peak: p50 / p99",
         f"{get('half peak', 'callback to next wait or end', 'p50_ms')} / "
         f"{get('half peak', 'callback to next wait or end', 'p99_ms')} ms "
         f"({get('half peak', 'lifecycles/s')} lifecycles/s)"),
        ("callback to next wait, idle: p50 / p99",
         f"{get('idle', 'callback to next wait or end', 'p50_ms')} / "
         f"{get('idle', 'callback to next wait or end', 'p99_ms')} ms"),
        (f"{get('timeouts', 'tokens')} tokens due at once: timed out / all within / p99 late",
         f"{get('timeouts', 'timed out')} / {get('timeouts', 'all timed out within s')} s / "
         f"{get('timeouts', 'lateness p99 s')} s"),
        ("  their executions ended (Catch path) / p99 after deadline",
         f"{get('timeouts', 'executions ended (Catch path run)')} / "
         f"{get('timeouts', 'ended p99 after the deadline s')} s"),
    ]  # fmt: skip
    tick = get("sweep tick")
    if isinstance(tick, dict):
        for name, figure in tick.get("none due", {}).items():
            rows.append((f"{name}, {tick['waiting']:,} waiting, none due",
                         f"{figure.get('median ms', figure.get('error'))} ms (median of 5)"))  # fmt: skip
        for key in [k for k in tick if k.endswith(" due") and k != "none due"]:
            for name, figure in tick[key].items():
                rows.append((f"{name}, {key}", f"{figure.get('ms', figure.get('error'))} ms"))
    memory = get("memory")
    if isinstance(memory, dict):
        for label, figure in memory["by child"].items():
            rows.append((f"memory {label}: first order -> last, slope",
                         f"{figure['MiB at first order']} -> {figure['MiB at last']} MiB, "
                         f"{figure['MiB per 1,000 orders (slope)']} MiB per 1,000 orders "
                         f"({memory['orders']} orders)"))  # fmt: skip
    rows += [
        ("pgbench -N -c8 -j2", f"{get('pgbench', 'tps')} tps"),
        ("Celery empty task, 2 processes", f"{get('celery empty task', 'tasks/s')} tasks/s"),
        ("moto, seed workflow as is", f"{get('moto', 'seed workflow as is', 'status')}"),
        (
            "moto, Lambda steps as Pass, 1 client",
            f"{get('moto', 'lambda steps as Pass states', 'lifecycles/s')} lifecycles/s "
            f"({get('moto', 'lambda steps as Pass states', 'lifecycles')} run)",
        ),
    ]
    for name, value in results.get("ratios", {}).items():
        rows.append((f"ratio: {name}", str(value)))
    rows.append(("load average start / end",
                 f"{get('load average at start')} / {get('load average at end')}"))  # fmt: skip
    return rows


def plot(results: list[dict], path: Path) -> None:
    """Throughput and callback-to-next-wait p99 against clients, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2), dpi=80)
    for run in results:
        label = run.get("label") or run["commit"]
        sweep = {int(k): v for k, v in run["sweep"].items()}
        clients = sorted(sweep)
        left.plot(clients, [sweep[c]["lifecycles/s"] for c in clients], marker="o", label=label)
        right.plot(clients, [sweep[c]["server"]["p99_ms"] or 0 for c in clients], marker="o",
                   label=label)  # fmt: skip
    for axis, title in ((left, "lifecycles/s"), (right, "callback-to-next-wait p99 (ms)")):
        axis.set_xscale("log", base=2)
        ticks = sorted({int(k) for run in results for k in run["sweep"]})
        axis.set_xticks(ticks, [str(t) for t in ticks])
        axis.set_xlabel("boto3 clients")
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
    left.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes")
    parser.add_argument("--out", type=Path, help="the JSON (default var/bench/throughput-*.json)")
    parser.add_argument("--plot", type=Path, help="draw throughput and p99 against clients here")
    parser.add_argument("--label", help="this run's name in the plot and the JSON")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another run's JSON to draw beside this one (repeatable)")  # fmt: skip
    parser.add_argument("--plot-only", action="store_true",
                        help="no run: draw --compare's JSONs into --plot")  # fmt: skip
    parser.add_argument("--markdown", action="store_true",
                        help="no run: print --compare's JSONs as one Markdown table")  # fmt: skip
    parser.add_argument("--database", default=DATABASE, help="the throwaway database's name")
    parser.add_argument("--skip-yardsticks", action="store_true")
    parser.add_argument(
        "--soak",
        type=int,
        metavar="SECONDS",
        help="no sweep: lifecycles for this long, memory against orders done",
    )
    parser.add_argument("--soak-clients", type=int, default=8)  # fmt: skip
    options = parser.parse_args()
    others = [json.loads(p.read_text()) for p in options.compare]
    if options.markdown:
        if not others:
            parser.error("--markdown needs at least one --compare")
        print(markdown(others))
        return
    if options.plot_only:
        if not options.plot or not others:
            parser.error("--plot-only needs --plot and at least one --compare")
        plot(others, options.plot)
        return
    if options.soak:
        results = run_soak(options)
        out = (
            options.out
            or system.REPO / "var" / "bench" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
        say(f"results: {out}")
        return
    sizes = SIZES["quick" if options.quick else "full"]
    started = time.perf_counter()
    results = run_all(options, sizes)
    results["label"] = options.label
    results["ratios"] = yardstick_ratios(results)
    results["seconds"] = round(time.perf_counter() - started)
    print(table(results))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = options.out or system.REPO / "var" / "bench" / f"throughput-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    say(f"results: {out} ({results['seconds']} s in all)")
    if options.plot:
        plot([results, *others], options.plot)
        say(f"plot: {options.plot}")


if __name__ == "__main__":
    sys.exit(main())
