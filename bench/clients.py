"""boto3 clients driving the seed's order lifecycle against the real API, from several processes
(so the client side is not one GIL).

A lifecycle is the seed's testing section as users drive it: StartExecution, the task token read
from GetExecutionHistory, SendTaskSuccess, the next token, SendTaskSuccess, DescribeExecution until
SUCCEEDED. Tokens are polled with a short backoff (5 ms doubling to 100 ms). A ThrottlingException
is counted and the call tried again after 50 ms (botocore's own retries are off, so none hide).
"""

import json
import multiprocessing
import threading
import time
from collections import Counter
from dataclasses import dataclass

# The seed's workflow and the two states where a lifecycle waits for a callback.
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessorWorkflow"
CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
WAIT_SECONDS = 120
# How long the parent waits for a client process's answer before it gives up.
RESULT_TIMEOUT = 900


@dataclass(frozen=True)
class Target:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    state_machine_arn: str
    region: str = "us-east-1"
    # Take a token only once its task is reported submitted (TaskSubmitted: the event put on
    # the bus, where a real consumer would read the token). LocalStack and moto drop a callback
    # that comes between TaskScheduled and TaskSubmitted, and the execution waits forever.
    await_submitted: bool = False


def sfn_client(target: Target, connections: int = 2, *, inject_host_prefix: bool = True):
    """A boto3 client of the target's API, with no retries and `connections` kept-alive
    connections (one per thread that shares it); `inject_host_prefix=False` sends
    StartSyncExecution to the endpoint's own host, not `sync-<host>`."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    return session.client(
        "stepfunctions",
        endpoint_url=target.endpoint,
        region_name=target.region,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            max_pool_connections=connections,
            inject_host_prefix=inject_host_prefix,
        ),
    )


def scheduled_tokens(events: list[dict], state_name: str, *, submitted: bool = False,
                     ) -> list[str]:  # fmt: skip
    """Task tokens of a state from GetExecutionHistory's events (a TaskScheduled event belongs to
    the TaskStateEntered before it); with `submitted`, only those whose TaskSubmitted followed."""
    tokens, entered, pending = [], None, None
    for event in events:
        if event["type"] == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskScheduled" and entered == state_name:
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            pending = parameters["Entries"][0]["Detail"]["TaskToken"]
            if not submitted:
                tokens.append(pending)
        elif event["type"] == "TaskSubmitted" and submitted and pending and entered == state_name:
            tokens.append(pending)
            pending = None
    return tokens


class Abandoned(Exception):
    """The window ended (and its grace) with this lifecycle still in flight."""


ABANDONED = "abandoned"
# In-flight lifecycles get this long past the window's end to finish before they are abandoned
# (their executions stay waiting): a level ends in seconds even when a lifecycle takes a minute.
GRACE_SECONDS = 5


class Lifecycles:
    """One client (one thread): runs lifecycles and counts throttles."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.sfn = sfn_client(target)
        self.throttled = 0
        # API calls made, by botocore method name (throttled attempts included).
        self.calls: Counter[str] = Counter()
        self.give_up_at = float("inf")

    def _call(self, method: str, **kwargs):
        from botocore.exceptions import ClientError

        while True:
            self.calls[method] += 1
            try:
                return getattr(self.sfn, method)(**kwargs)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ThrottlingException":
                    raise
                self.throttled += 1
                time.sleep(0.05)

    def _poll(self, check):
        delay, deadline = 0.005, time.monotonic() + WAIT_SECONDS
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError("waited too long")
            if time.time() > self.give_up_at:
                raise Abandoned
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _token(self, arn: str, state_name: str) -> str:
        def check():
            events = self._call("get_execution_history", executionArn=arn, maxResults=1000)
            return scheduled_tokens(events["events"], state_name,
                                    submitted=self.target.await_submitted)  # fmt: skip

        return self._poll(check)[-1]

    def run(self, name: str) -> None:
        detail = {"detail": {"orderId": name, "userId": "bench"}}
        arn = self._call(
            "start_execution",
            stateMachineArn=self.target.state_machine_arn,
            name=name,
            input=json.dumps(detail),
        )["executionArn"]
        for state_name in (CUSTOMER_WAIT, BARISTA_WAIT):
            token = self._token(arn, state_name)
            self._call("send_task_success", taskToken=token, output='{"orderId": 1}')

        def finished():
            status = self._call("describe_execution", executionArn=arn)["status"]
            if status not in ("RUNNING", "SUCCEEDED"):
                raise RuntimeError(f"{name} ended {status}")
            return status == "SUCCEEDED"

        self._poll(finished)


def _thread_loop(client: Lifecycles, prefix: str, go: float, end: float, rate: float | None,
                 offset: float, records: list, max_count: int | None) -> None:  # fmt: skip
    """Lifecycles back to back (or one every 1/rate s) from `go` until `end`."""
    index = 0
    client.give_up_at = end + GRACE_SECONDS
    while True:
        if rate:
            time.sleep(max(go + offset + index / rate - time.time(), 0))
        now = time.time()
        if now >= end or (max_count is not None and index >= max_count):
            return
        name = f"{prefix}-{index}"
        try:
            client.run(name)
            records.append((name, now, time.time(), ""))
        except Abandoned:
            records.append((name, now, time.time(), ABANDONED))
        except Exception as error:  # noqa: BLE001 (a failed lifecycle is a figure, not a crash)
            records.append((name, now, time.time(), f"{type(error).__name__}: {error}"[:300]))
        index += 1


def _process_main(number: int, target: Target, commands, results) -> None:
    clients: list[Lifecycles] = []
    while True:
        command = commands.get()
        if command is None:
            return
        threads, tag, duration, rate, max_count = command
        while len(clients) < threads:
            clients.append(Lifecycles(target))
        results.put(("ready", number))
        # The parent sends the common start time once every process has its clients.
        go = commands.get()
        end = go + duration
        records: list = []
        throttled_before = sum(c.throttled for c in clients[:threads])
        calls_before = sum((c.calls for c in clients[:threads]), Counter())
        # The whole process's CPU (every client thread: signing, sending, parsing, polling).
        cpu_before = time.process_time()
        workers = []
        for slot in range(threads):
            per_thread = rate / threads if rate else None
            offset = (slot / threads / per_thread) if per_thread else 0.0
            workers.append(threading.Thread(target=_thread_loop, args=(
                clients[slot], f"{tag}-p{number}t{slot}", go, end, per_thread, offset, records,
                max_count,
            )))  # fmt: skip
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        cpu = time.process_time() - cpu_before
        throttled = sum(c.throttled for c in clients[:threads]) - throttled_before
        calls = sum((c.calls for c in clients[:threads]), Counter()) - calls_before
        results.put(("done", number, records, throttled, dict(calls), cpu))


class ClientPool:
    """Client processes kept for the whole run (boto3's import and client setup stay outside the
    timed windows)."""

    def __init__(self, target: Target, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.results = context.Queue()
        self.commands = [context.Queue() for _ in range(processes)]
        self.processes = [
            context.Process(
                target=_process_main, args=(n, target, self.commands[n], self.results), daemon=True
            )  # fmt: skip
            for n in range(processes)
        ]
        for process in self.processes:
            process.start()

    def run(self, clients: int, tag: str, duration: float, rate: float | None = None,
            max_count: int | None = None) -> dict:  # fmt: skip
        """`clients` threads spread over the processes, each running lifecycles named
        `tag-...` for `duration` seconds (paced to `rate` lifecycles/s in all when given; at most
        `max_count` each). Returns the records, the throttle count, the start time, the API calls
        made by method and the client processes' CPU seconds."""
        used = min(clients, len(self.processes))
        shares = [clients // used + (1 if n < clients % used else 0) for n in range(used)]
        for n in range(used):
            share_rate = rate * shares[n] / clients if rate else None
            self.commands[n].put((shares[n], tag, duration, share_rate, max_count))
        for _ in range(used):
            self._get("ready")
        go = time.time() + 0.2
        for n in range(used):
            self.commands[n].put(go)
        records, throttled, calls, cpu = [], 0, Counter(), 0.0
        for _ in range(used):
            _, _, process_records, process_throttled, process_calls, process_cpu = self._get("done")
            records.extend(process_records)
            throttled += process_throttled
            calls.update(process_calls)
            cpu += process_cpu
        return {"go": go, "duration": duration, "records": records, "throttled": throttled,
                "calls": dict(calls), "client cpu s": cpu}  # fmt: skip

    def _get(self, kind: str):
        message = self.results.get(timeout=RESULT_TIMEOUT)
        if message[0] != kind:
            raise RuntimeError(f"client process said {message[0]}, expected {kind}")
        return message

    def close(self) -> None:
        for queue in self.commands:
            queue.put(None)
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
