"""What an Express run costs beside a Standard one, in the same run of the same small workflow.

    python -m bench.express [--runs 300] [--database wtbench_express] [--out PATH]

One run on real processes (bench.system.Processes: gunicorn, the stages' Celery worker,
production settings) on a throwaway PostgreSQL database and the benchmark's Redis database
(BENCH_POSTGRES_URL, BENCH_REDIS_URL). A workflow of a Pass, a Task (an EventBridge
event on the engine's bus), a Choice and a Succeed is run `--runs` times each way,
through the Step Functions API (boto3, STARTERS calls at once), the ways taking turns in ROUNDS:

1. **Standard**: StartExecution on a STANDARD machine; the worker runs it, every history event
   written; runs/s from the first start to the last SUCCEEDED.
2. **Express, synchronous**: StartSyncExecution on an EXPRESS machine (no history kept, the
   logging level OFF); the run ends within the request; runs/s until the last answer.
3. **Express, asynchronous**: StartExecution on the EXPRESS machine; the worker runs it without
   history.

For each, CPU per run: the web server's processes, the worker's and the PostgreSQL backends of
the database (bench.meters); the history rows written per run; the API call's time (p50: a
StartSyncExecution's is the whole run's) and a run's start to its end as its row says (p50; a
run that ends in its first stage ends at its start, stages being timed by their start).
Prints the figures as JSON and writes them (var/bench/express-<time>.json); asserts nothing.
"""

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from bench import meters, report, stats, stores, system
from bench.clients import Target, sfn_client
from bench.report import say

DATABASE = "wtbench_express"
STARTERS = 8
ROUNDS = 3


def small_workflow() -> dict:
    """A Pass, a Task (an EventBridge event put on the engine's bus: a row, no lock), a Choice
    and a Succeed. (The coffee bar's GetShopStatus would lock the shop's row for a stage's
    transaction: a batch of Standard stages shares one lock and one count, where each
    synchronous Express run takes its own.)"""
    entry = {"Source": "bench", "DetailType": "express-bench", "Detail": {"drink.$": "$.drink"}}
    task = {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {"Entries": [entry]},
            "ResultSelector": {"failed.$": "$.FailedEntryCount"}, "Next": "Put?"}  # fmt: skip
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"drink": "espresso"}, "Next": "Put"},
            "Put": task,
            "Put?": {
                "Type": "Choice",
                "Default": "Done",
                "Choices": [{"Variable": "$.failed", "NumericGreaterThan": 0, "Next": "Done"}],
            },  # fmt: skip
            "Done": {"Type": "Succeed"},
        },
    }


def _web_cpu(pid: int) -> float:
    total = 0.0
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += meters.cpu_seconds(process)
    return total


def _ended(prefix: str) -> int:
    from stepfunctions.models import Execution

    return Execution.objects.filter(name__startswith=prefix).exclude(status="RUNNING").count()


def _durations_ms(prefix: str) -> list[float]:
    """Each run's start to its end, from its row: for a Standard run, the worker's turn too."""
    from stepfunctions.models import Execution

    rows = Execution.objects.filter(name__startswith=prefix).values_list("start_date", "stop_date")
    return [(stop - start).total_seconds() * 1000 for start, stop in rows]


def _history_rows(prefix: str) -> int:
    from stepfunctions.models import HistoryEvent

    return HistoryEvent.objects.filter(execution__name__startswith=prefix).count()


def one_way(processes, call, prefix: str, runs: int, *, database: str | None) -> dict:
    """`runs` calls of `call(name)`, STARTERS at once, until every run has ended: runs/s and
    CPU milliseconds per run by process kind."""
    web_pid = processes.running["web"].pid
    web_before = _web_cpu(web_pid)
    meter = meters.CpuMeter(worker_pid=processes.running["worker"].pid, database=database)
    with meter:
        started = time.perf_counter()
        with ThreadPoolExecutor(STARTERS) as pool:
            calls_ms = list(pool.map(lambda i: _timed(call, f"{prefix}{i}"), range(runs)))
        deadline = time.monotonic() + 60 + runs
        while _ended(prefix) < runs:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{prefix}: not every run ended")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    cpu = meter.seconds()
    cpu["web"] = _web_cpu(web_pid) - web_before
    per_run = {kind: round(cpu[kind] * 1000 / runs, 2) for kind in ("web", "worker", "postgresql")}
    per_run["total"] = round(sum(per_run.values()), 2)
    return {
        "runs": runs,
        "seconds": round(elapsed, 2),
        "runs/s": round(runs / elapsed, 1),
        "CPU ms per run": per_run,
        "history rows per run": round(_history_rows(prefix) / runs, 1),
        "API call p50 ms": round(statistics.median(calls_ms), 1),
        "start to end p50 ms": round(statistics.median(_durations_ms(prefix)), 1),
    }


def _timed(call, name: str) -> float:
    started = time.perf_counter()
    call(name)
    return (time.perf_counter() - started) * 1000


def _rounds_total(measured: list[dict]) -> dict:
    """The rounds of one way as one: runs/s over their seconds, CPU per run over their runs."""
    runs = sum(m["runs"] for m in measured)
    seconds = sum(m["seconds"] for m in measured)
    per_run = {kind: round(sum(m["CPU ms per run"][kind] * m["runs"] for m in measured) / runs, 2)
               for kind in ("web", "worker", "postgresql", "total")}  # fmt: skip
    history = sum(m["history rows per run"] * m["runs"] for m in measured) / runs
    return {"runs": runs, "seconds": round(seconds, 2), "runs/s": round(runs / seconds, 1),
            "CPU ms per run": per_run, "history rows per run": round(history, 1),
            **{f"{figure} (median of rounds)": statistics.median(m[figure] for m in measured)
               for figure in ("API call p50 ms", "start to end p50 ms")}}  # fmt: skip


def measure(processes: system.Processes, access_key, *, runs: int, database: str | None) -> dict:
    """The three ways on `processes` (their environment's database, which this process's Django
    uses too), through the API with `access_key` (granted everything). Starts the web and the
    worker itself."""
    from stepfunctions import services

    results: dict = {"load average before": report.load_average()}
    url = processes.gunicorn(options=("--worker-class", "gthread", "--threads", str(STARTERS)))
    target = Target(f"{url}/sfn/", access_key.access_key_id, access_key.secret_access_key, "")
    sfn = sfn_client(target, connections=STARTERS)
    # StartSyncExecution's `sync-` host prefix off (README, "Express workflows").
    sfn_sync = sfn_client(target, connections=STARTERS, inject_host_prefix=False)
    processes.worker("worker", concurrency=2, level="warning")
    processes.pool_wait("worker", 2)
    standard = services.state_machine_create(name="SmallStandard", definition=small_workflow())
    express = services.state_machine_create(
        name="SmallExpress", definition=small_workflow(), type="EXPRESS"
    )

    def start_standard(name: str) -> None:
        sfn.start_execution(stateMachineArn=standard.arn, name=name)

    def start_sync(name: str) -> None:
        answer = sfn_sync.start_sync_execution(stateMachineArn=express.arn, name=name)
        if answer["status"] != "SUCCEEDED":
            raise RuntimeError(f"an Express run ended {answer['status']}: {answer}")

    def start_async(name: str) -> None:
        sfn.start_execution(stateMachineArn=express.arn, name=name)

    ways = [("Standard (StartExecution)", start_standard, "std"),
            ("Express, synchronous (StartSyncExecution)", start_sync, "sync"),
            ("Express, asynchronous (StartExecution)", start_async, "async")]  # fmt: skip
    for _, call, prefix in ways:
        one_way(processes, call, f"warm-{prefix}", min(runs, 10), database=database)
    # In ROUNDS taking turns, so a change in the machine's other load weighs on each way alike.
    rounds: dict[str, list[dict]] = {label: [] for label, _, _ in ways}
    for number in range(ROUNDS):
        for label, call, prefix in ways:
            say(f"round {number + 1}: {label}, {runs // ROUNDS} runs")
            figures = one_way(processes, call, f"{prefix}{number}-", runs // ROUNDS,
                              database=database)  # fmt: skip
            rounds[label].append(figures)
    for label, measured in rounds.items():
        results[label] = _rounds_total(measured)
    standard_cpu = results[ways[0][0]]["CPU ms per run"]["total"]
    for label, _, _ in ways[1:]:
        results[f"{label} CPU / Standard CPU"] = stats.ratio(
            results[label]["CPU ms per run"]["total"], standard_cpu
        )
    results["load average after"] = report.load_average()
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="wtbench-express-"))
    env = system.production_env(options.database, var_dir)
    with stores.throwaway_database(options.database):
        system.django_setup(env)
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from stepfunctions.services.access_keys import access_key_create

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user(username="bench")
        key = access_key_create(user=user, grants=["all"])
        processes = system.Processes(env, var_dir)
        try:
            results = measure(processes, key, runs=options.runs, database=options.database)
        finally:
            processes.close()
    results = {"commit": report.commit(), "command": "python -m bench.express "
               + " ".join(sys.argv[1:] if argv is None else argv), **results}  # fmt: skip
    print(json.dumps(results, indent=2))
    say("written to", report.results_write(results, options.out, "express"))
    return results


if __name__ == "__main__":
    main()
