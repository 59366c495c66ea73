"""CPU per Step Functions API call, by operation, on the server and in the boto3 client.

    python -m bench.api_cost [--calls 200] [--database wtbench_api_cost] [--py-spy SECONDS]

Brings up runsystem as bench.throughput does (production settings, PostgreSQL, Redis), then from
one boto3 client in this process makes `--calls` calls of each operation of the seed's lifecycle
one after another, and reads the CPU seconds runsystem's web processes (and worker) used for
them, and this process's own. CPU time, unlike wall-clock time, is little changed by other load
on the machine. Then the same client calls against a trivial HTTP server that answers each
operation with the body our server gave it: the client's own floor, whatever the server does.
As a yardstick, as many GETs of /health/live: the web's CPU for a trivial request.
With `--py-spy N` it also records N seconds of each web process under a few closed-loop clients
with py-spy (which must be on PATH or in PY_SPY) and prints where their time goes.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench import meters, stats, stores, system
from bench.clients import (
    CUSTOMER_WAIT,
    STATE_MACHINE_ARN,
    Lifecycles,
    Target,
    scheduled_tokens,
    sfn_client,
)
from bench.report import say

DATABASE = "wtbench_api_cost"


class _Recorder:
    """The raw body of each operation's last answer (botocore's after-call event)."""

    def __init__(self, client) -> None:
        self.bodies: dict[str, bytes] = {}
        client.meta.events.register("after-call.states.*", self._after_call)

    def _after_call(self, http_response, model, **kwargs) -> None:
        self.bodies[model.name] = http_response.content


def _timed_calls(pid: int | None, calls: list) -> dict:
    """Runs the calls (zero-argument functions); CPU ms per call of the client and of each of
    runsystem's children (when `pid` is given)."""
    before = meters.children_cpu(pid) if pid else {}
    client_before = time.process_time()
    started = time.perf_counter()
    for call in calls:
        call()
    figures = {
        "calls": len(calls),
        "client CPU ms per call": round((time.process_time() - client_before) * 1000 / len(calls), 3),
        "wall ms per call (under load)": round((time.perf_counter() - started) * 1000 / len(calls), 2),
    }  # fmt: skip
    if pid:
        spent = stats.cpu_spent(before, meters.children_cpu(pid))
        figures["server CPU ms per call"] = {
            label: round(seconds * 1000 / len(calls), 3) for label, seconds in spent.items()
        }
    return figures


def _wait_for_tokens(names: list[str], timeout: float = 120) -> None:
    from stepfunctions.models import CallbackToken

    deadline = time.monotonic() + timeout
    while CallbackToken.objects.filter(
        execution__name__in=names, state_name=CUSTOMER_WAIT, status="OPEN"
    ).count() < len(names):
        if time.monotonic() > deadline:
            raise RuntimeError("the started executions never reached their first wait")
        time.sleep(0.2)


def measure_operations(target: Target, pid: int | None, count: int, tag: str) -> tuple[dict, dict]:
    """`count` calls of each operation of the lifecycle against `target`, in the order a
    lifecycle makes them; their CPU figures and the last raw answer of each."""
    sfn = sfn_client(target)
    recorder = _Recorder(sfn)
    figures: dict = {}
    names = [f"{tag}-{n}" for n in range(count)]
    detail = json.dumps({"detail": {"orderId": "cost", "userId": "bench"}})
    arns: list[str] = []

    def start(name: str):
        return lambda: arns.append(
            sfn.start_execution(stateMachineArn=target.state_machine_arn, name=name, input=detail)[
                "executionArn"
            ]
        )

    figures["StartExecution"] = _timed_calls(pid, [start(n) for n in names])
    if pid:
        _wait_for_tokens(names)
    histories: list[dict] = []
    figures["GetExecutionHistory"] = _timed_calls(pid, [
        (lambda arn=arn: histories.append(sfn.get_execution_history(executionArn=arn,
                                                                    maxResults=1000)))
        for arn in arns
    ])  # fmt: skip
    figures["GetExecutionHistory"]["events per answer"] = len(histories[-1]["events"])
    tokens = [scheduled_tokens(h["events"], CUSTOMER_WAIT)[-1] for h in histories]
    figures["SendTaskSuccess"] = _timed_calls(pid, [
        (lambda token=token: sfn.send_task_success(taskToken=token, output='{"orderId": 1}'))
        for token in tokens
    ])  # fmt: skip
    figures["DescribeExecution"] = _timed_calls(
        pid, [(lambda arn=arn: sfn.describe_execution(executionArn=arn)) for arn in arns]
    )
    return figures, recorder.bodies


class _CannedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered, so headers and body leave in one segment (no delayed-ACK stall per call).
    wbufsize = 65536
    bodies: dict[str, bytes] = {}

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        name = self.headers.get("X-Amz-Target", "").removeprefix("AWSStepFunctions.")
        body = self.bodies.get(name, b"{}")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _canned_server(port: int, bodies: dict[str, bytes]) -> None:
    _CannedHandler.bodies = bodies
    ThreadingHTTPServer(("127.0.0.1", port), _CannedHandler).serve_forever()


def client_floor(bodies: dict[str, bytes], count: int) -> dict:
    """Client CPU per call of each operation against a server that only answers canned bodies
    (in a process of its own, so its CPU is not the client's)."""
    port = system.free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=_canned_server, args=(port, bodies), daemon=True
    )
    server.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        target = Target(f"http://127.0.0.1:{port}/sfn/", "AKIAFLOOR", "x" * 40, STATE_MACHINE_ARN)
        sfn = sfn_client(target)
        token = "t" * 40
        arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + ":floor"
        calls = {
            "StartExecution": lambda: sfn.start_execution(
                stateMachineArn=STATE_MACHINE_ARN, name="floor", input="{}"
            ),
            "GetExecutionHistory": lambda: sfn.get_execution_history(
                executionArn=arn, maxResults=1000
            ),
            "SendTaskSuccess": lambda: sfn.send_task_success(taskToken=token, output="{}"),
            "DescribeExecution": lambda: sfn.describe_execution(executionArn=arn),
        }
        for call in calls.values():
            call()  # warm: botocore loads each operation's model on first use
        return {name: _timed_calls(None, [call] * count) for name, call in calls.items()}
    finally:
        server.kill()


def trivial_requests(endpoint: str, pid: int, count: int) -> dict:
    """The yardstick: `count` GETs of /health/live (a JSON answer, no database) one after
    another on one kept-alive connection; the web's CPU per request, the server's floor."""
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=30)

    def get() -> None:
        connection.request("GET", "/health/live")
        connection.getresponse().read()

    get()
    try:
        figures = _timed_calls(pid, [get] * count)
    finally:
        connection.close()
    return figures


def lifecycles_cost(target: Target, pid: int, count: int, tag: str) -> dict:
    """`count` whole lifecycles one after another, as bench.throughput's clients run them: API
    calls per lifecycle by operation, and the CPU per lifecycle of the client and the server."""
    client = Lifecycles(target)
    before = meters.children_cpu(pid)
    client_before = time.process_time()
    for n in range(count):
        client.run(f"{tag}-{n}")
    client_ms = (time.process_time() - client_before) * 1000 / count
    spent = stats.cpu_spent(before, meters.children_cpu(pid))
    calls = sum(client.calls.values())
    return {
        "lifecycles": count,
        "API calls per lifecycle": round(calls / count, 2),
        "by operation": {k: round(v / count, 2) for k, v in sorted(client.calls.items())},
        "client CPU ms per lifecycle": round(client_ms, 1),
        "server CPU ms per lifecycle": {k: round(v * 1000 / count, 1) for k, v in spent.items()},
        # Issue 26's figure: the web's CPU per API call over whole lifecycles.
        "web CPU ms per API call": round(spent.get("web", 0) * 1000 / calls, 2) if calls else None,
    }


def py_spy(target: Target, pid: int, seconds: int, out: Path) -> list[Path]:
    """py-spy records each web worker for `seconds` while 4 clients run lifecycles back to back;
    the raw (collapsed) stacks land in `out`. Only the thread holding the GIL is sampled
    (--gil): where the process's CPU goes, not where its threads wait."""
    binary = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not binary:
        raise SystemExit("py-spy not found: put it on PATH or name it in PY_SPY")
    out.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def drive(slot: int) -> None:
        client, n = Lifecycles(target), 0
        while not stop.is_set():
            client.run(f"spy{slot}-{n}")
            n += 1

    threads = [threading.Thread(target=drive, args=(s,), daemon=True) for s in range(4)]
    for thread in threads:
        thread.start()
    files, recorders = [], []
    for web_pid in meters.web_pids(pid):
        path = out / f"web-{web_pid}.txt"
        files.append(path)
        recorders.append(subprocess.Popen(
            [binary, "record", "-p", str(web_pid), "-d", str(seconds), "-r", "200", "-f", "raw",
             "-o", str(path), "--gil"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
    for recorder in recorders:
        recorder.wait()
    stop.set()
    for thread in threads:
        thread.join(60)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls of each operation")
    parser.add_argument("--lifecycles", type=int, default=50)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--py-spy", type=int, default=0, metavar="SECONDS")
    parser.add_argument("--out", type=Path, help="the JSON (default: printed only)")
    options = parser.parse_args()
    results: dict = {"load average at start": [round(x, 2) for x in os.getloadavg()]}
    with stores.throwaway_database(options.database):
        with system.running_system(options.database) as running:
            system.django_setup(running.env)
            system.shop_make_room()
            pid = running.process.pid
            target = Target(running.endpoint, running.access_key_id, running.secret_access_key,
                            STATE_MACHINE_ARN)  # fmt: skip
            say("warm-up: 10 lifecycles")
            lifecycles_cost(target, pid, 10, "warm")
            say(f"yardstick: {options.calls} GETs of /health/live")
            results["trivial request"] = trivial_requests(running.endpoint, pid, options.calls)
            say(json.dumps(results["trivial request"], indent=1))
            say(f"{options.calls} calls of each operation")
            results["operations"], bodies = measure_operations(target, pid, options.calls, "op")
            say(json.dumps(results["operations"], indent=1))
            say(f"{options.lifecycles} lifecycles, one after another")
            results["lifecycles"] = lifecycles_cost(target, pid, options.lifecycles, "lc")
            say(json.dumps(results["lifecycles"], indent=1))
            if options.py_spy:
                say(f"py-spy: {options.py_spy} s of each web worker under 4 clients")
                results["py-spy files"] = [
                    str(p) for p in py_spy(target, pid, options.py_spy, Path("var/bench/py-spy"))
                ]
        say("the client's floor: the same calls against canned answers")
        results["client floor"] = client_floor(bodies, options.calls)
        say(json.dumps(results["client floor"], indent=1))
    per_lifecycle = results["lifecycles"]["by operation"]
    method = {"StartExecution": "start_execution", "GetExecutionHistory": "get_execution_history",
              "SendTaskSuccess": "send_task_success", "DescribeExecution": "describe_execution"}  # fmt: skip
    floor_ms = sum(
        per_lifecycle.get(method[name], 0) * figure["client CPU ms per call"]
        for name, figure in results["client floor"].items()
    )
    cores = os.cpu_count() or 1
    results["client floor ms per lifecycle"] = round(floor_ms, 1)
    results["load average at end"] = [round(x, 2) for x in os.getloadavg()]
    say(f"boto3 client CPU per lifecycle: {results['lifecycles']['client CPU ms per lifecycle']} "
        f"ms against this server, {results['client floor ms per lifecycle']} ms against canned "
        f"answers -> the clients alone could drive at most "
        f"{round(cores * 1000 / floor_ms, 1) if floor_ms else None} lifecycles/s on this "
        f"machine's {cores} cores")  # fmt: skip
    if options.out:
        options.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
