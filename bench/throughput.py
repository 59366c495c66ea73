"""Throughput, latency, timeouts, sweep cost and memory of the production shape, with yardsticks.

    python -m bench.throughput [--quick] [--out var/bench/throughput.json] [--plot PATH]
                               [--clients 8,32] [--seconds 20] [--no-timers] [--database NAME]

Brings up `manage.py runsystem` (whatever processes it runs) on a throwaway PostgreSQL database
and the benchmark's Redis database, drives the Step Functions API with boto3 clients from several
processes, and measures the targets of issues 9 and 26 (the server's CPU per lifecycle: the
machine's busy CPU less the clients'); then pgbench, Celery's empty task, moto's Step Functions
and LocalStack's (bench.localstack, skipped with a note when it cannot run) on the same machine.
Prints progress and a table, writes a JSON; asserts nothing. The database's name comes from
--database or BENCH_DATABASE, the Redis from BENCH_REDIS_URL (bench.stores).
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import localstack, meters, report, stats, stores, sweeps, system, yardsticks
from bench.clients import BARISTA_WAIT, CUSTOMER_WAIT, STATE_MACHINE_ARN, ClientPool, Target
from bench.report import load_average, say

DATABASE = os.environ.get("BENCH_DATABASE", "wtbench_run")
SOAK_CHUNK_SECONDS = 30
SIZES = {
    "full": {
        "clients": [1, 4, 16, 32, 64], "seconds": 12, "level_cap": 30, "settle_cap": 30, "half_seconds": 15,
        "idle": 20, "timeouts": 100_000, "timeout_margin": 12, "timeout_cap": 40,
        "waiting": 1_000_000, "due": 1_000, "pgbench_seconds": 10, "pgbench_scale": 10,
        "celery_tasks": 1_000, "moto": 10, "moto_seconds": 30, "localstack": [8, 32],
    },
    "quick": {
        "clients": [1, 4], "seconds": 6, "level_cap": 10, "settle_cap": 10, "half_seconds": 4, "idle": 5,
        "timeouts": 1_000, "timeout_margin": 4, "timeout_cap": 10, "waiting": 10_000,
        "due": 100, "pgbench_seconds": 3, "pgbench_scale": 1, "celery_tasks": 200, "moto": 2,
        "moto_seconds": 10, "localstack": [2],
    },
}  # fmt: skip
CLIENT_PROCESSES = 4
# Seconds the machine's busy CPU is read with the system at rest before each level.
BASELINE_SECONDS = 2.0


def callback_gaps(prefix: str, first_wait: str = CUSTOMER_WAIT, second_wait: str = BARISTA_WAIT,
                  ) -> dict:  # fmt: skip
    """From the database, for executions named prefix-*: each SendTaskSuccess's token closing
    (the moment the callback committed) to the execution's next wait (the next token's creation)
    or its end (stop date). The two waits are the states `first_wait` and `second_wait` (the
    seed's customer and barista waits by default)."""
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
        first = tokens.get((execution_id, first_wait))
        second = tokens.get((execution_id, second_wait))
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


def measure_api(pool: ClientPool, sizes: dict, results: dict, pid: int, database: str) -> None:
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
        with meters.ServerCpu(pid, database, baseline=BASELINE_SECONDS) as server:
            run = pool.run(clients, f"c{clients}", duration=duration)
        run["ramp"] = min(ramp, duration / 2)
        figures = stats.level_figures(run)
        figures["cpu"] = stats.cpu_figures(run, server.spent, server.machine)
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
            say("     server CPU per lifecycle", report.server_cpu_cell(cpu))
    results["sweep"] = sweep
    results["client yardstick"] = stats.client_yardstick(sweep)
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
    results["half peak"] = {"rate asked": round(rate, 2), **stats.level_figures(run),
                            **callback_gaps("half")}  # fmt: skip
    say("  ", json.dumps(results["half peak"]["callback to next wait or end"]))

    say(f"idle: {sizes['idle']} lifecycles, one client, one every 0.5 s")
    run = pool.run(1, "idle", duration=600, rate=2.0, max_count=sizes["idle"])
    results["idle"] = {**stats.level_figures(run), **callback_gaps("idle")}
    say("  ", json.dumps(results["idle"]["callback to next wait or end"]))


def drive(running: system.System) -> tuple[Target, meters.MemorySampler, ClientPool]:
    """Django in this process on the system's database, the shop open, the memory sampled from
    now on, and the client processes started."""
    system.django_setup(running.env)
    system.shop_make_room()
    target = Target(running.endpoint, running.access_key_id, running.secret_access_key,
                    STATE_MACHINE_ARN)  # fmt: skip
    sampler = meters.MemorySampler(running.process.pid)
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
        "commit": report.commit(),
        "mode": f"soak {options.soak} s, {options.soak_clients} clients",
        "load average at start": load_average(),
    }
    with (
        stores.throwaway_database(options.database),
        system.running_system(options.database) as running,
    ):
        target, sampler, pool = drive(running)
        runs: list = []
        vacuum = results["vacuum after each chunk"] = not stores.autovacuum_on()
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
                    stores.database_vacuum(options.database)
                done = sum(1 for records in runs for r in records if not r[3])
                latest = sampler.samples[-1][1] if sampler.samples else {}
                threads = meters.children_threads(running.process.pid)
                say(f"soak: {done} orders; RSS MiB " + ", ".join(
                    f"{k} {v:.1f}" for k, v in sorted(latest.items()))
                    + f"; threads {threads}")  # fmt: skip
        finally:
            pool.close()
            sampler.stop()
        results["memory"] = stats.memory_figures(sampler.samples, runs, first)
        warmed = time.time() if len(runs) < 2 else max(r[2] for r in runs[0])
        results["memory after the first chunk"] = stats.memory_figures(
            sampler.samples, runs[1:], warmed
        )
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
        "commit": report.commit(),
        "mode": "quick" if options.quick else "full",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "load average at start": load_average(),
        "sizes": sizes,
    }
    say("load average (1, 5, 15 min):", results["load average at start"], "| commit",
        results["commit"])  # fmt: skip
    with stores.throwaway_database(options.database):
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
                measure_api(pool, sizes, results, running.process.pid, options.database)
            finally:
                pool.close()
                sampler.stop()
            results["memory"] = stats.memory_figures(
                sampler.samples, runs, results.pop("first order at")
            )
            say("memory:", json.dumps(results["memory"]))
            if not options.no_timers:
                results["timeouts"] = sweeps.measure_timeouts(target, sizes)
                say("timeouts:", json.dumps(results["timeouts"]))
        if not options.no_timers:
            results["sweep tick"] = sweeps.measure_sweep_tick(sizes)
    say(f"database {options.database} dropped")
    if not options.skip_yardsticks:
        say("yardstick: pgbench")
        results["pgbench"] = yardsticks.pgbench(sizes["pgbench_seconds"], sizes["pgbench_scale"],
                                                f"{options.database}_pgbench")  # fmt: skip
        say("  ", results["pgbench"])
        say("yardstick: Celery's empty task")
        results["celery empty task"] = yardsticks.celery_empty(sizes["celery_tasks"])
        say("  ", results["celery empty task"])
        say("yardstick: moto's Step Functions")
        results["moto"] = yardsticks.moto(sizes["moto"], sizes["moto_seconds"])
        say("  ", json.dumps(results["moto"], default=str))
        results["step functions quotas"] = yardsticks.STEP_FUNCTIONS_QUOTAS
    if not options.skip_yardsticks and not options.skip_localstack:
        say(f"yardstick: LocalStack at {sizes['localstack']} clients")
        results["localstack"] = localstack.measure(
            sizes["localstack"], sizes["seconds"], sizes["level_cap"] * 1.5, CLIENT_PROCESSES
        )
    results["load average at end"] = load_average()
    say("load average at end:", results["load average at end"])
    return results


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
    parser.add_argument("--skip-localstack", action="store_true")
    parser.add_argument("--no-timers", action="store_true",
                        help="no timeouts crowd, no sweep tick")  # fmt: skip
    parser.add_argument("--clients", help="client levels, comma-separated (also LocalStack's)")
    parser.add_argument("--seconds", type=int, help="base seconds per level (cap: 2.5 times)")
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
        print(report.markdown(others))
        return
    if options.plot_only:
        if not options.plot or not others:
            parser.error("--plot-only needs --plot and at least one --compare")
        report.plot(others, options.plot)
        return
    if options.soak:
        results = run_soak(options)
        out = report.results_write(results, options.out, "soak")
        say(f"results: {out}")
        return
    sizes = dict(SIZES["quick" if options.quick else "full"])
    if options.clients:
        sizes["clients"] = sizes["localstack"] = [int(c) for c in options.clients.split(",")]
    if options.seconds:
        sizes["seconds"], sizes["level_cap"] = options.seconds, options.seconds * 5 // 2
    started = time.perf_counter()
    results = run_all(options, sizes)
    results["label"] = options.label
    results["ratios"] = report.yardstick_ratios(results)
    results["seconds"] = round(time.perf_counter() - started)
    print(report.table(results))
    out = report.results_write(results, options.out, "throughput")
    say(f"results: {out} ({results['seconds']} s in all)")
    if options.plot:
        report.plot([results, *others], options.plot)
        say(f"plot: {options.plot}")


if __name__ == "__main__":
    sys.exit(main())
