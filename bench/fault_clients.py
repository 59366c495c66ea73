"""The fault scenarios' clients, for bench.faults: order lifecycles driven through the Step
Functions API while faults are injected, the races (ten callbacks on one token; a callback
against the expiry sweep at the token's deadline), what the clients saw (Tally), and the
transitions the database shows made twice. Django must be set up on the system's database.
"""

import json
import random
import threading
import time
from collections import Counter

from bench.clients import BARISTA_WAIT, CUSTOMER_WAIT, STATE_MACHINE_ARN

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
    """What the clients saw, shared between their threads: every answer counted by kind, and
    again under the current `phase` (set by the fault schedule), with the time of each phase's
    first 2xx answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.longest_stall = 0.0
        self.errors: list[str] = []
        self.phase = ""
        self.first_2xx: dict[str, float] = {}
        self.first_stage: dict[str, float] = {}

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def stall(self, seconds: float) -> None:
        with self.lock:
            self.longest_stall = max(self.longest_stall, seconds)
            self.first_stage.setdefault(self.phase, time.monotonic())

    def _kind(self, kind: str, status: int | None = None) -> None:
        with self.lock:
            phase = self.phase
            if kind == "answers 2xx":
                self.first_2xx.setdefault(phase, time.monotonic())
        keys = [kind] + (["answers 503"] if status == 503 else [])
        for key in keys:
            self.add(key)
            if phase:
                self.add(f"{phase} {key}")

    def answer(self, error: Exception | None) -> None:
        from botocore.exceptions import ClientError

        if error is None:
            self._kind("answers 2xx")
        elif isinstance(error, ClientError):
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            self._kind("answers 5xx" if status >= 500 else "answers 4xx", status)
            if status >= 500:
                with self.lock:
                    self.errors.append(str(error)[:300])
        else:
            self._kind("answers 5xx")  # the web server never answered
            with self.lock:
                self.errors.append(repr(error)[:300])


def open_token(execution_name: str, state_name: str) -> str | None:
    """The open token of the execution's state; None while there is none, or while the bench's
    read is refused (its lock bound passed: a table locked by a fault), as it would be for a
    client reading the history through the API."""
    from django.db import OperationalError

    from stepfunctions.models import CallbackToken

    try:
        return (
            CallbackToken.objects.filter(
                execution__name=execution_name, state_name=state_name, status="OPEN"
            )
            .values_list("token", flat=True)
            .first()
        )
    except OperationalError:
        return None


def _ended(execution_name: str) -> bool:
    from django.db import OperationalError

    from stepfunctions.models import Execution

    try:
        return Execution.objects.filter(name=execution_name).exclude(status="RUNNING").exists()
    except OperationalError:
        return False  # as open_token


def _server_error(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        return error.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    return True  # no answer at all


def call(tally: Tally, method, *args, retry_until: float | None = None, **kwargs):
    """`method(*args, **kwargs)`, its answer counted; its result, or None when it failed. With
    `retry_until` (a time.monotonic() deadline), a 5xx or no answer is counted and the call sent
    again every 0.2 s until then, as a client honouring a retryable error does."""
    from botocore.exceptions import ConnectionClosedError

    closed = 0
    while True:
        try:
            result = method(*args, **kwargs)
        except ConnectionClosedError as error:
            # gunicorn closed an idle keep-alive connection as the request went out on it: no
            # answer at all, so a client tries again (as botocore's own retries would).
            tally.add("requests retried after a keep-alive connection closed")
            closed += 1
            if closed == 2 and retry_until is None:
                raise
            if closed >= 2:
                tally.answer(error)
                if time.monotonic() > retry_until:
                    return None
                time.sleep(0.2)
        except Exception as error:  # noqa: BLE001 - every answer is counted
            tally.answer(error)
            if retry_until is None or not _server_error(error) or time.monotonic() > retry_until:
                return None
            time.sleep(0.2)
        else:
            tally.answer(None)
            return result


def lifecycle(client, tally: Tally, name: str, deadline: float, *, retry: bool = False) -> None:
    """One order: start, customer callback, barista callback; times each wait for the next.
    With `retry`, a call answered 5xx is sent again until the deadline, and the client watches
    its execution through the API (DescribeExecution, counted) while it waits, as a console
    does: a fault then meets calls even while every client waits for a stage."""
    retry_until = deadline if retry else None
    started = call(
        tally, client.start_execution, stateMachineArn=STATE_MACHINE_ARN, name=name,
        input=json.dumps({"detail": {"orderId": name, "userId": "faults"}}),
        retry_until=retry_until,
    )  # fmt: skip
    if started is None:
        return

    def pause() -> bool:
        if retry:
            call(tally, client.describe_execution, executionArn=started["executionArn"])
        time.sleep(0.1)
        return time.monotonic() < deadline

    since = time.monotonic()
    for state_name in (CUSTOMER_WAIT, BARISTA_WAIT):
        while (token := open_token(name, state_name)) is None:
            if not pause():
                return
        tally.stall(time.monotonic() - since)
        output = json.dumps({"orderId": name, "state": state_name})
        won = call(tally, client.send_task_success, taskToken=token, output=output,
                   retry_until=retry_until)  # fmt: skip
        if won is not None:
            tally.add("callbacks won")
        since = time.monotonic()
    while not _ended(name):
        if not pause():
            return
    tally.stall(time.monotonic() - since)


def race_one_token(client_factory, tally: Tally, rounds: int, callers: int) -> None:
    """`callers` callbacks at once on each of `rounds` tokens: exactly one may win each."""
    from stepfunctions.models import CallbackToken

    clients = [client_factory() for _ in range(callers)]
    for i in range(rounds):
        name = f"race-{i}"
        start_only(clients[0], tally, name)
        while (token := open_token(name, CUSTOMER_WAIT)) is None:
            time.sleep(0.05)
        barrier = threading.Barrier(callers)
        wins = []

        def callback(client, token=token, barrier=barrier, wins=wins):
            barrier.wait()
            if call(tally, client.send_task_success, taskToken=token, output="{}") is not None:
                wins.append(1)

        threads = [threading.Thread(target=callback, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        tally.add("races: one token, concurrent callbacks")
        if len(wins) != 1 or CallbackToken.objects.get(token=token).status != "SUCCEEDED":
            tally.add("races: not exactly one winner")


def start_only(client, tally: Tally, name: str, machine: str = STATE_MACHINE_ARN) -> None:
    call(
        tally, client.start_execution, stateMachineArn=machine, name=name,
        input=json.dumps({"detail": {"orderId": name, "userId": "faults"}}),
    )  # fmt: skip


def race_the_sweep(client, tally: Tally, rounds: int, arn: str) -> None:
    """A callback sent right at a token's heartbeat deadline, against beat's expiry sweep."""
    from stepfunctions.models import CallbackToken

    for i in range(rounds):
        name = f"sweep-{i}"
        start_only(client, tally, name, machine=arn)
        while (row := CallbackToken.objects.filter(execution__name=name).first()) is None:
            time.sleep(0.05)
        wait = (row.deadline.timestamp() - time.time()) + random.uniform(-0.3, 0.3)  # noqa: S311
        time.sleep(max(wait, 0))
        call(tally, client.send_task_success, taskToken=row.token, output="{}")
        tally.add("races: callback against the sweep")
        row.refresh_from_db()
        if row.status == "OPEN":
            time.sleep(3)
            row.refresh_from_db()
        if row.status not in ("SUCCEEDED", "TIMED_OUT"):
            tally.add("races: token neither won nor expired")


def duplicates(prefix: str = "") -> dict:
    """Transitions made twice (in the executions whose name starts with `prefix`): a state
    entered twice in an execution whose path enters each state once, an event written twice, an
    order number given twice."""
    from orders.models import Order
    from stepfunctions.models import HistoryEvent

    entered = Counter(
        (e, n)
        for e, n in HistoryEvent.objects.filter(
            type__endswith="StateEntered", execution__name__startswith=prefix
        )
        .exclude(execution__name__startswith="sweep-")
        .values_list("execution_id", "details__name")
    )
    numbers = Counter(
        Order.objects.filter(execution__name__startswith=prefix)
        .exclude(order_number=None)
        .values_list("order_number", flat=True)
    )
    return {
        "states entered twice": sum(1 for c in entered.values() if c > 1),
        "order numbers given twice": sum(1 for c in numbers.values() if c > 1),
    }
