"""The machine's own limits, measured in the same run: pgbench on the same PostgreSQL, Celery's
empty task through the same Redis, and moto's Step Functions on the seed's workflow."""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import stores, system
from bench.clients import BARISTA_WAIT, CUSTOMER_WAIT, scheduled_tokens

PGBENCH_DATABASE = "wtbench_pgbench"
# The quota page: "Step Functions service quotas" (AWS Step Functions Developer Guide), "Quotas
# related to API action throttling", Standard workflows, in US East (N. Virginia), US West
# (Oregon) and Europe (Ireland).
STEP_FUNCTIONS_QUOTAS = {
    "source": "AWS Step Functions Developer Guide, 'Step Functions service quotas', "
    "API action throttling (Standard), largest regions",
    "StartExecution refill/s": 300,
    "StartExecution bucket": 1300,
    "SendTaskSuccess refill/s": 500,
    "SendTaskSuccess bucket": 800,
}


def pgbench(seconds: int, scale: int, database: str = PGBENCH_DATABASE) -> dict:
    """`pgbench -N -c8 -j2` (simple updates, no branch/teller contention) on its own database
    `database` (made and dropped here)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if not candidates:
        return {"error": "pgbench not found under /usr/lib/postgresql/*/bin"}
    binary = candidates[-1]
    url = stores.database_create(database)
    try:
        subprocess.run([binary, "-i", "-q", "-s", str(scale), url], check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        done = subprocess.run(
            [binary, "-N", "-c8", "-j2", "-T", str(seconds), url],
            check=True, capture_output=True, text=True, timeout=seconds + 120,
        )  # fmt: skip
    finally:
        stores.database_drop(database)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    return {
        "command": f"pgbench -N -c8 -j2 -T {seconds} (scale {scale})",
        "tps": round(float(match.group(1))) if match else None,
    }


def celery_empty(tasks: int, redis_url: str = stores.REDIS_URL) -> dict:
    """Tasks/s end to end: `tasks` empty tasks sent and every result read back, through the
    benchmark's Redis (or `redis_url`: a Redis database it may empty), with 2 worker processes."""
    stores.redis_flush(redis_url)
    env = {**os.environ, "BENCH_REDIS_URL": redis_url}
    processes = system.Processes(env, Path(tempfile.mkdtemp(prefix="wtbench-empty-")))
    processes.worker(
        "empty", "-Q", "bench-empty", "--without-gossip", "--without-mingle", "--without-heartbeat",
        app="bench.celery_empty", level="warning", concurrency=2,
    )  # fmt: skip
    try:
        from celery.result import ResultSet

        from bench.celery_empty import app, empty

        app.conf.broker_url = app.conf.result_backend = redis_url
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if time.monotonic() > deadline:
                return {"error": "the empty-task worker did not answer"}
        # This process is no task, but a Celery worker in a thread of it (the test suite's)
        # would make Celery refuse a blocking get: the waits are said to be meant.
        empty.delay().get(timeout=30, disable_sync_subtasks=False)  # warm
        started = time.perf_counter()
        results = ResultSet([empty.delay() for _ in range(tasks)])
        results.join_native(timeout=120, disable_sync_subtasks=False)
        elapsed = time.perf_counter() - started
    finally:
        processes.close()
        stores.redis_flush(redis_url)
    return {"tasks": tasks, "seconds": round(elapsed, 2), "tasks/s": round(tasks / elapsed)}


def seed_definition(runnable: bool) -> str:
    """The seed's workflow as JSON; `runnable`: its two Lambda steps as Pass states with the same
    results (for an emulator that cannot run the coffee bar's functions)."""
    document = json.loads(
        (system.REPO / "orders" / "definitions" / "OrderProcessorWorkflow.asl.json").read_text()
    )
    if runnable:
        # The two lambda:invoke steps are the coffee bar's own functions, which moto cannot run
        # (its Lambda needs Docker): Pass states with the same results stand in for them.
        states = document["States"]
        states["Get Shop Status"] = {
            "Type": "Pass", "Result": {"storeOpen": True, "isCapacityAvailable": True},
            "ResultPath": "$.GetStore", "Next": states["Get Shop Status"]["Next"],
        }  # fmt: skip
        states["Generate Order Number"] = {
            "Type": "Pass", "Result": {"Payload": {"orderNumber": 1}},
            "ResultPath": "$.Order", "Next": states["Generate Order Number"]["Next"],
        }  # fmt: skip
    return json.dumps(document)


def moto(lifecycles: int, budget_seconds: float = 60) -> dict:
    """moto's Step Functions (moto_server, execute_state_machine on) on the seed's workflow: as it
    is, then with the two Lambda steps as Pass states (each SendTaskSuccess sent only once moto
    reports the task submitted: see _moto_lifecycle), up to `lifecycles` lifecycles one after
    another (one client), stopping at the first that fails or once `budget_seconds` have gone."""
    import boto3

    port = system.free_port()
    binary = str(Path(sys.executable).with_name("moto_server"))
    server = subprocess.Popen([binary, "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    result: dict = {"server": "moto_server (moto " + _moto_version() + ")"}
    try:
        deadline = time.monotonic() + 30
        while not system.answers(f"{url}/moto-api/"):
            if time.monotonic() > deadline:
                return {"error": "moto_server did not answer"}
            time.sleep(0.2)
        request = urllib.request.Request(  # noqa: S310
            f"{url}/moto-api/config", method="POST",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
        sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        role = "arn:aws:iam::123456789012:role/bench"
        # The workflow's events go to this bus: moto fails the putEvents step without it.
        boto3.client("events", endpoint_url=url, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     ).create_event_bus(Name="Serverlesspresso")  # fmt: skip
        seed = {"detail": {"orderId": "1", "userId": "bench"}}

        as_is = sfn.create_state_machine(name="OrderProcessorWorkflow", roleArn=role,
                                         definition=seed_definition(False))["stateMachineArn"]  # fmt: skip
        arn = sfn.start_execution(stateMachineArn=as_is, input=json.dumps(seed))["executionArn"]
        described = _moto_wait(sfn, arn, lambda d: d["status"] != "RUNNING", timeout=20)
        history = sfn.get_execution_history(executionArn=arn)["events"]
        failed = [e for e in history if e["type"].endswith("Failed")]
        result["seed workflow as is"] = {
            "status": described["status"] if described else "RUNNING after 20 s",
            "first failure": (failed[0].get("taskFailedEventDetails")
                              or failed[0].get("executionFailedEventDetails")
                              or failed[0]["type"]) if failed else None,
        }  # fmt: skip

        runnable = sfn.create_state_machine(name="OrderProcessorPass", roleArn=role,
                                            definition=seed_definition(True))["stateMachineArn"]  # fmt: skip
        done = 0
        started = time.perf_counter()
        error = None
        for index in range(lifecycles):
            if time.perf_counter() - started > budget_seconds:
                break
            try:
                _moto_lifecycle(sfn, runnable, f"moto-{index}")
                done += 1
            except Exception as failure:  # noqa: BLE001 (what moto could not run is the figure)
                error = f"{type(failure).__name__}: {failure}"[:300]
                break
        elapsed = time.perf_counter() - started
        result["lambda steps as Pass states"] = {
            "lifecycles": done, "seconds": round(elapsed, 2),
            "lifecycles/s": round(done / elapsed, 2) if done else None, "error": error,
        }  # fmt: skip
    finally:
        system.process_stop(server)
    return result


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def _moto_wait(sfn, arn: str, done, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if done(described):
            return described
        time.sleep(0.02)
    return None


def _moto_lifecycle(sfn, machine_arn: str, name: str) -> None:
    seed = {"detail": {"orderId": name, "userId": "bench"}}
    arn = sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(seed))[
        "executionArn"
    ]
    for number, state_name in enumerate((CUSTOMER_WAIT, BARISTA_WAIT), start=1):
        deadline = time.monotonic() + 20
        while True:
            events = sfn.get_execution_history(executionArn=arn)["events"]
            tokens = scheduled_tokens(events, state_name)
            # moto drops a SendTaskSuccess that arrives after TaskScheduled but before its
            # TaskSubmitted event (the execution then waits forever): wait for that one too.
            submitted = sum(1 for e in events if e["type"] == "TaskSubmitted")
            if tokens and submitted >= number:
                break
            failed = [e for e in events if e["type"].endswith("Failed")]
            if failed or time.monotonic() > deadline:
                raise RuntimeError(f"no token for {state_name}: {failed[:1] or 'no failure'}")
            time.sleep(0.02)
        sfn.send_task_success(taskToken=tokens[-1], output='{"orderId": 1}')
    described = _moto_wait(sfn, arn, lambda d: d["status"] != "RUNNING")
    if not described or described["status"] != "SUCCEEDED":
        raise RuntimeError(f"ended {described and described['status']}")
