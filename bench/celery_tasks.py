"""What the engine adds to a Celery task, and whether long tasks slow other executions' callbacks.

    python -m bench.celery_tasks [--tasks 500] [--long 20] [--long-seconds 10] [--callbacks 50]
                                 [--database wtbench_celery_tasks] [--out PATH]

One run on real processes (bench.system.Processes: gunicorn, the stages' Celery worker and the
task queue's worker, production settings) on a throwaway PostgreSQL database and the benchmark's
Redis database (BENCH_POSTGRES_URL, BENCH_REDIS_URL). This process starts the executions and
sends the callbacks through the Step Functions API (boto3), and reads its figures from the
database:

1. **The rate.** Celery's own empty task (bench.yardsticks.celery_empty: sent, every result read
   back, 2 worker processes), then a workflow of one Task state running an empty Celery task
   (`celery:task.sync`) started `--tasks` times: executions/s from the first start to the last
   SUCCEEDED. The issue's goal: the workflow at no less than half the bare task's rate.
2. **Callbacks beside long tasks.** Executions of two callback waits are answered one by one
   (`--callbacks` of them), and the time from each callback's commit to the execution's next
   wait is read from the database (bench.throughput.callback_gaps): once on a quiet system,
   then while `--long` executions each run a `--long-seconds` Celery task on the task queue.

Prints the figures as JSON and writes them (var/bench/celery_tasks-<time>.json); asserts nothing.
"""

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import report, stats, stores, system, yardsticks
from bench.clients import Target, sfn_client
from bench.report import say

DATABASE = "wtbench_celery_tasks"
FIRST, SECOND = "First wait", "Second wait"
TASK_QUEUE_APP = "bench.celery_task_bodies"


def _task_state(task: str, args: list) -> dict:
    work = {"Type": "Task", "Resource": "arn:aws:states:::celery:task.sync",
            "Parameters": {"Task": task, "Args": args}, "End": True}  # fmt: skip
    return {"StartAt": "Work", "States": {"Work": work}}


def _waits() -> dict:
    def wait(next_state: str | None) -> dict:
        entry = {"Source": "bench", "DetailType": "wait", "Detail": {"token.$": "$$.Task.Token"}}
        state = {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
                 "Parameters": {"Entries": [entry]}}  # fmt: skip
        return state | ({"Next": next_state} if next_state else {"End": True})

    return {"StartAt": FIRST, "States": {FIRST: wait(SECOND), SECOND: wait(None)}}


# StartExecution calls at once (a client's threads; the bare task's client sends from one).
STARTERS = 8


def _start(sfn, machine, prefix: str, count: int) -> None:
    def start(index: int) -> None:
        sfn.start_execution(stateMachineArn=machine.arn, name=f"{prefix}-{index}")

    with ThreadPoolExecutor(STARTERS) as pool:
        list(pool.map(start, range(count)))


def _until(check, *, timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _count(prefix: str, **filters) -> int:
    from stepfunctions.models import Execution

    return Execution.objects.filter(name__startswith=f"{prefix}-", **filters).count()


def workflow_rate(sfn, machine, prefix: str, count: int, timeout: float) -> dict:
    """`count` executions started through the API; executions/s until the last SUCCEEDED."""
    started = time.perf_counter()
    _start(sfn, machine, prefix, count)
    _until(lambda: _count(prefix, status="SUCCEEDED") + _count(prefix, status="FAILED") >= count,
           timeout=timeout, what=f"{count} executions of {prefix}")  # fmt: skip
    elapsed = time.perf_counter() - started
    failed = _count(prefix, status="FAILED")
    return {"executions": count, "failed": failed, "seconds": round(elapsed, 2),
            "executions/s": round(count / elapsed, 1)}  # fmt: skip


def _open_tokens(prefix: str, state_name: str) -> list[str]:
    from stepfunctions.models import CallbackToken

    return list(CallbackToken.objects.filter(
        execution__name__startswith=f"{prefix}-", state_name=state_name, status="OPEN",
    ).values_list("token", flat=True))  # fmt: skip


def callbacks_measure(sfn, machine, prefix: str, count: int, spacing: float = 0.05) -> dict:
    """`count` executions brought to their first wait, then each answered in turn (`spacing`
    seconds apart, so each callback's stage runs on its own, as a user's would), then their
    second waits; the gaps from callback to next wait (or end), from the database."""
    from bench.throughput import callback_gaps

    _start(sfn, machine, prefix, count)
    for state_name in (FIRST, SECOND):
        _until(lambda: len(_open_tokens(prefix, state_name)) >= count, timeout=120,  # noqa: B023
               what=f"{count} executions at {state_name}")  # fmt: skip
        for token in _open_tokens(prefix, state_name):
            sfn.send_task_success(taskToken=token, output="{}")
            time.sleep(spacing)
    _until(lambda: _count(prefix, status="SUCCEEDED") >= count, timeout=120,
           what=f"{prefix} to end")  # fmt: skip
    return callback_gaps(prefix, FIRST, SECOND)["callback to next wait or end"]


def measure(processes: system.Processes, access_key, *, redis_url: str, tasks: int, long: int,
            long_seconds: float, callbacks: int, concurrency: int = 2) -> dict:  # fmt: skip
    """Both figures on `processes` (their environment's database, which this process's Django
    uses too, and `redis_url`, which the bare task's yardstick empties first: no system process
    may be running on it yet), through the API with `access_key` (granted everything). Starts
    the web and the workers itself."""
    from stepfunctions import services
    from stepfunctions.models import CallbackToken

    results: dict = {"load average before": report.load_average()}
    say(f"Celery's empty task, {tasks} tasks")
    results["bare empty Celery task"] = yardsticks.celery_empty(tasks, redis_url=redis_url)
    say("the web, the stages' worker and the task queue's worker")
    url = processes.gunicorn(options=("--worker-class", "gthread", "--threads", str(STARTERS)))
    target = Target(f"{url}/sfn/", access_key.access_key_id, access_key.secret_access_key, "")
    sfn = sfn_client(target, connections=STARTERS)
    processes.worker("worker", concurrency=concurrency, level="warning")
    processes.worker("tasks", "-Q", "stepfunctions-tasks", app=TASK_QUEUE_APP,
                     concurrency=concurrency, level="warning")  # fmt: skip
    processes.pool_wait("worker", concurrency)
    processes.pool_wait("tasks", concurrency)
    empty = services.state_machine_create(
        name="EmptyTask", definition=_task_state("bench.empty", [])
    )
    workflow_rate(sfn, empty, "warm", 5, timeout=120)
    say(f"a workflow of one Task state running the empty task, {tasks} executions")
    rate = workflow_rate(sfn, empty, "empty", tasks, timeout=60 + tasks)
    results["workflow of one Task state running the empty task"] = rate
    bare = results["bare empty Celery task"].get("tasks/s")
    results["workflow rate / bare task rate"] = stats.ratio(rate["executions/s"], bare)
    results["goal"] = "the workflow at no less than half the bare empty task's rate (>= 0.5)"

    waits = services.state_machine_create(name="TwoWaits", definition=_waits())
    say(f"callback to next wait, quiet: {callbacks} executions")
    quiet = callbacks_measure(sfn, waits, "quiet", callbacks)
    sleeper = services.state_machine_create(
        name="LongTask", definition=_task_state("bench.sleep", [long_seconds])
    )
    say(f"{long} executions running a {long_seconds}-second task, then the callbacks again")
    _start(sfn, sleeper, "long", long)
    _until(lambda: CallbackToken.objects.filter(execution__name__startswith="long-",
                                                status="OPEN").count() >= long,
           timeout=60, what="the long tasks' states to wait")  # fmt: skip
    busy_started = time.monotonic()
    busy = callbacks_measure(sfn, waits, "busy", callbacks)
    busy_seconds = time.monotonic() - busy_started
    results["callback to next wait or end"] = {
        "quiet": quiet,
        f"while {long} executions run a {long_seconds:g} s Celery task": busy,
        "p50 busy / quiet": stats.ratio(busy["p50_ms"], quiet["p50_ms"]),
        "long tasks still running at the end": _count("long", status="RUNNING"),
        "measured for (s)": round(busy_seconds, 1),
    }
    results["task queue worker concurrency"] = concurrency
    results["load average after"] = report.load_average()
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--long", type=int, default=20)
    parser.add_argument("--long-seconds", type=float, default=10)
    parser.add_argument("--callbacks", type=int, default=50)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="wtbench-celery-tasks-"))
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
            results = measure(processes, key, redis_url=stores.REDIS_URL, tasks=options.tasks,
                              long=options.long, long_seconds=options.long_seconds,
                              callbacks=options.callbacks)  # fmt: skip
        finally:
            processes.close()
    results = {"commit": report.commit(), "command": "python -m bench.celery_tasks "
               + " ".join(sys.argv[1:] if argv is None else argv), **results}  # fmt: skip
    print(json.dumps(results, indent=2))
    say("written to", report.results_write(results, options.out, "celery_tasks"))
    return results


if __name__ == "__main__":
    main()
