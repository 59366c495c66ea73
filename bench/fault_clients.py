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
    """What the clients saw, shared between their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.longest_stall = 0.0
        self.errors: list[str] = []

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def stall(self, seconds: float) -> None:
        with self.lock:
            self.longest_stall = max(self.longest_stall, seconds)

    def answer(self, error: Exception | None) -> None:
        from botocore.exceptions import ClientError

        if error is None:
            self.add("answers 2xx")
        elif isinstance(error, ClientError):
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            self.add("answers 5xx" if status >= 500 else "answers 4xx")
            if status >= 500:
                with self.lock:
                    self.errors.append(str(error)[:300])
        else:
            self.add("answers 5xx")  # the web server never answered
            with self.lock:
                self.errors.append(repr(error)[:300])


def open_token(execution_name: str, state_name: str) -> str | None:
    from stepfunctions.models import CallbackToken

    return (
        CallbackToken.objects.filter(
            execution__name=execution_name, state_name=state_name, status="OPEN"
        )
        .values_list("token", flat=True)
        .first()
    )


def call(tally: Tally, method, *args, **kwargs):
    """`method(*args, **kwargs)`, its answer counted; its result, or None when it failed."""
    from botocore.exceptions import ConnectionClosedError

    for attempt in (1, 2):
        try:
            result = method(*args, **kwargs)
        except ConnectionClosedError:
            # gunicorn closed an idle keep-alive connection as the request went out on it: no
            # answer at all, so a client tries again (as botocore's own retries would).
            tally.add("requests retried after a keep-alive connection closed")
            if attempt == 2:
                raise
        except Exception as error:  # noqa: BLE001 - every answer is counted
            tally.answer(error)
            return None
        else:
            tally.answer(None)
            return result
    return None


def lifecycle(client, tally: Tally, name: str, deadline: float) -> None:
    """One order: start, customer callback, barista callback; times each wait for the next."""
    started = call(
        tally, client.start_execution, stateMachineArn=STATE_MACHINE_ARN, name=name,
        input=json.dumps({"detail": {"orderId": name, "userId": "faults"}}),
    )  # fmt: skip
    if started is None:
        return
    since = time.monotonic()
    for state_name in (CUSTOMER_WAIT, BARISTA_WAIT):
        while (token := open_token(name, state_name)) is None:
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        tally.stall(time.monotonic() - since)
        output = json.dumps({"orderId": name, "state": state_name})
        if call(tally, client.send_task_success, taskToken=token, output=output) is not None:
            tally.add("callbacks won")
        since = time.monotonic()
    from stepfunctions.models import Execution

    while not Execution.objects.filter(name=name).exclude(status="RUNNING").exists():
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)
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


def duplicates() -> dict:
    """Transitions made twice: a state entered twice in an execution whose path enters each
    state once, an event written twice, an order number given twice."""
    from orders.models import Order
    from stepfunctions.models import HistoryEvent

    entered = Counter(
        (e, n)
        for e, n in HistoryEvent.objects.filter(type__endswith="StateEntered")
        .exclude(execution__name__startswith="sweep-")
        .values_list("execution_id", "details__name")
    )
    numbers = Counter(
        Order.objects.exclude(order_number=None).values_list("order_number", flat=True)
    )
    return {
        "states entered twice": sum(1 for c in entered.values() if c > 1),
        "order numbers given twice": sum(1 for c in numbers.values() if c > 1),
    }
