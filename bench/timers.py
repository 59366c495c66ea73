"""Timers on time: how late after its deadline a HeartbeatSeconds, a Wait state and an execution's
TimeoutSeconds take effect, through a real Celery worker and beat.

    python -m bench.timers [--timers 3000] [--seconds 60] [--delay 5] [--waiting 100000]

Starts `timers` executions at a steady pace over `seconds` seconds, each opening a timer of
`delay` seconds, in turn: a callback task's HeartbeatSeconds (the token times out, its Catch runs),
a Wait state, an execution's TimeoutSeconds. So the timers fall due over the run while new ones
open, as in a busy bar. A timer's lateness is read from what the engine wrote: the TaskTimedOut
event after the token's deadline, the WaitStateExited event after the Wait's end, the execution's
stop after its timeout; the token's own close (the sweep, before the stage that records it) too.
With `--waiting N` (PostgreSQL), N more executions wait on tokens due in an hour, inserted in
SQL (bench.bulk), so the sweeps work among them.

Runs on a throwaway database made from the configured one (DATABASE_URL, or SQLite) and the
configured Redis (or an embedded one), as bench.lifecycle does. Prints figures; asserts nothing.
"""

import argparse
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import stats, stores, system
from bench.report import load_average, say

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")
os.environ.setdefault("DJANGO_DEBUG", "0")

KINDS = ("heartbeat", "wait", "timeout")
_CALLBACK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
    "Parameters": {
        "Entries": [{"Detail": {"TaskToken.$": "$$.Task.Token"}, "DetailType": "Bench.Waiting",
                     "EventBusName": "Serverlesspresso", "Source": "bench"}]
    },
}  # fmt: skip


def definitions(delay: int) -> dict[str, dict]:
    """A workflow per kind of timer, each timing out after `delay` seconds."""
    heartbeat = {**_CALLBACK, "HeartbeatSeconds": delay, "End": True,
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Lost"}]}  # fmt: skip
    return {
        "heartbeat": {"StartAt": "Wait for callback", "States": {
            "Wait for callback": heartbeat, "Lost": {"Type": "Pass", "End": True}}},
        "wait": {"StartAt": "Wait", "States": {
            "Wait": {"Type": "Wait", "Seconds": delay, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True}}},
        "timeout": {"StartAt": "Wait for callback", "TimeoutSeconds": delay, "States": {
            "Wait for callback": {**_CALLBACK, "End": True}}},
    }  # fmt: skip


def _started(processes: system.Processes) -> None:
    """Until beat runs and the worker took its queue."""
    processes.wait("beat", lambda: "beat: Starting" in processes.log("beat"), timeout=60)
    processes.wait("worker", lambda: " ready." in processes.log("worker"), timeout=60)
    time.sleep(1)  # beat's first tick and the scheduler's first look at Redis


def waiting_insert(count: int) -> dict:
    """`count` executions waiting on tokens due in an hour, in SQL (PostgreSQL only)."""
    from django.db import connection

    from bench import bulk
    from stepfunctions import services
    from stepfunctions.models import CallbackToken

    if connection.vendor != "postgresql":
        return {"skipped": "inserting waiting executions in bulk needs PostgreSQL"}
    machine = services.state_machine_create(
        name="BenchIdle", definition=definitions(3600)["heartbeat"]
    )
    services.execution_start(state_machine=machine, input={}, name="idle-template")
    deadline = time.monotonic() + 30
    while not CallbackToken.objects.filter(execution__name="idle-template").exists():
        if time.monotonic() > deadline:
            return {"error": "the template execution never reached its wait"}
        time.sleep(0.1)
    bulk.template_keep("idle-template")
    return {
        "waiting": count,
        "inserted in": bulk.clone_waiting("idle", count, due_in=3600)["seconds"],
    }


def timers_start(*, timers: int, seconds: float, delay: int) -> list[tuple[str, object]]:
    """Starts `timers` executions at a steady pace over `seconds`, the kinds in turn; their
    (kind, id)."""
    from stepfunctions import services

    machines = {
        kind: services.state_machine_create(name=f"BenchTimer{kind.title()}{delay}", definition=d)
        for kind, d in definitions(delay).items()
    }
    started = []
    first = time.monotonic()
    for index in range(timers):
        pause = first + index * seconds / timers - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        kind = KINDS[index % len(KINDS)]
        execution, _ = services.execution_start(state_machine=machines[kind], input={"n": index})
        started.append((kind, execution.pk))
    return started


def lateness(started: list[tuple[str, object]], delay: int) -> dict[str, list[float]]:
    """Seconds after its deadline each timer took effect, by kind (and the tokens' close)."""
    from stepfunctions.models import CallbackToken, Execution, HistoryEvent

    kinds = dict((pk, kind) for kind, pk in started)
    events: dict = {}
    for execution_id, event_type, at in HistoryEvent.objects.filter(
        execution_id__in=kinds, type__in=("TaskTimedOut", "WaitStateEntered", "WaitStateExited")
    ).values_list("execution_id", "type", "timestamp"):
        events[(execution_id, event_type)] = at
    tokens = {row[0]: row[1:] for row in CallbackToken.objects.filter(
        execution_id__in=kinds).values_list("execution_id", "deadline", "closed_at")}  # fmt: skip
    late: dict[str, list[float]] = {kind: [] for kind in (*KINDS, "token closed")}
    for pk, stop, timeout_at in Execution.objects.filter(pk__in=kinds).values_list(
        "pk", "stop_date", "timeout_at"
    ):
        kind = kinds[pk]
        if kind == "heartbeat" and (pk, "TaskTimedOut") in events:
            deadline, closed = tokens[pk]
            late[kind].append((events[(pk, "TaskTimedOut")] - deadline).total_seconds())
            late["token closed"].append((closed - deadline).total_seconds())
        elif kind == "wait" and (pk, "WaitStateExited") in events:
            due = events[(pk, "WaitStateEntered")] + timedelta(seconds=delay)
            late[kind].append((events[(pk, "WaitStateExited")] - due).total_seconds())
        elif kind == "timeout" and stop is not None:
            late[kind].append((stop - timeout_at).total_seconds())
    return late


def measure(processes: system.Processes, *, timers: int, seconds: float, delay: int,
            waiting: int = 0, concurrency: int = 2) -> dict:  # fmt: skip
    """Starts a worker and beat in `processes` (on this process's database and Redis), opens the
    timers and waits for them all to fire; the lateness figures."""
    from stepfunctions.models import Execution

    results: dict = {"timers": timers, "over seconds": seconds, "delay seconds": delay}
    processes.worker(concurrency=concurrency)
    processes.beat()
    _started(processes)
    if waiting:  # the worker runs the template's first stage
        say(f"inserting {waiting:,} executions waiting on deadlines an hour away")
        results["waiting"] = waiting_insert(waiting)
    say(f"starting {timers} timers of {delay} s over {seconds} s")
    started = timers_start(timers=timers, seconds=seconds, delay=delay)
    ids = [pk for _, pk in started]
    deadline = time.monotonic() + delay + 60
    while Execution.objects.filter(pk__in=ids, status="RUNNING").exists():
        if time.monotonic() > deadline:
            results["still running"] = Execution.objects.filter(
                pk__in=ids, status="RUNNING"
            ).count()
            break
        time.sleep(0.2)
    late = lateness(started, delay)
    every = [t for kind in KINDS for t in late[kind]]
    results["lateness"] = {kind: stats.summary_ms(late[kind]) for kind in (*KINDS, "token closed")}
    results["lateness"]["all"] = stats.summary_ms(every)
    results["early"] = sum(t < 0 for t in every)
    results["load average"] = load_average()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60, help="over which the timers start")
    parser.add_argument("--delay", type=int, default=5, help="each timer's length in seconds")
    parser.add_argument("--waiting", type=int, default=0,
                        help="executions waiting on far deadlines meanwhile (PostgreSQL)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--database", default="serverlesspresso_bench_timers",
                        help="the throwaway database's name (one per concurrent run)")  # fmt: skip
    options = parser.parse_args()
    with stores.engine_database(options.database) as connection:
        print("database:", connection.vendor, "| broker:", os.environ.get("REDIS_URL"))
        env = {**os.environ, "DATABASE_URL": stores.django_database_url()}
        processes = system.Processes(env, Path(tempfile.mkdtemp(prefix="sp-bench-timers-")))
        try:
            figures = measure(processes, timers=options.timers, seconds=options.seconds,
                              delay=options.delay, waiting=options.waiting,
                              concurrency=options.workers)  # fmt: skip
        finally:
            processes.close()
        print("timers:", json.dumps(figures, indent=2))
        print("logs:", processes.log_dir)


if __name__ == "__main__":
    main()
