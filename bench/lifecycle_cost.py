"""What one order lifecycle costs inside the engine, for bench.lifecycle: the database round trips,
Celery messages, Redis publishes and history rows of the seed's lifecycle, its stages run in this
process by the worker's own task, alone and many at a time; and the two things bench.lifecycle's
runs through real workers share with it (room in the shop, the tokens waiting for a callback).
Django must be set up (bench.stores.engine_database).
"""

import contextlib
import time
from collections import Counter


def waiting_tokens(state_name: str) -> list[str]:
    """The open tokens of every execution waiting in `state_name`."""
    from stepfunctions.models import CallbackToken

    return list(
        CallbackToken.objects.filter(state_name=state_name, status="OPEN").values_list(
            "token", flat=True
        )
    )


def make_room(orders: int) -> None:
    """Room in the shop's queue for `orders` more orders (the seed's capacity check still runs)."""
    from orders.models import ShopConfig
    from orders.services.shop_config import shop_config_get

    ShopConfig.objects.filter(pk=shop_config_get().pk).update(max_orders_in_queue=orders + 10)


class RoundTrips:
    """Counts the round trips to the database made while `counting` is entered: every statement
    and every BEGIN / COMMIT Django sends (CaptureQueriesContext records those too)."""

    def __init__(self) -> None:
        self.count = 0
        self.by_statement: Counter = Counter()
        self.cpu: Counter = Counter()

    @contextlib.contextmanager
    def counting(self, part: str = "calls"):
        """Counts the round trips made inside, and this process's CPU time by `part` (the API
        calls, or the stages run by the worker's task)."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            yield
            self.cpu[part] += time.process_time() - started
        for query in queries.captured_queries:
            self.count += 1
            self.by_statement[query["sql"].split()[0].upper()] += 1


class Messages:
    """Stands in for the broker in one process: records each nudge, and runs it at once (a worker
    waiting for work) or when `drain` is called (a worker busy with the previous ones)."""

    def __init__(self, *, at_once: bool) -> None:
        from stepfunctions import tasks

        self.at_once = at_once
        self.sent = 0
        self.queued: list[tuple] = []
        self._task = tasks.advance_execution
        self._original = self._task.apply_async

    def __enter__(self):
        def apply(args=(), kwargs=None, countdown=None, **options):
            self.sent += 1
            if self.at_once:
                self._task.run(*args, **(kwargs or {}))
            else:
                self.queued.append((tuple(args), kwargs or {}))

        self._task.apply_async = apply
        return self

    def __exit__(self, *exc) -> None:
        self._task.apply_async = self._original

    def drain(self) -> None:
        while self.queued:
            args, kwargs = self.queued.pop(0)
            self._task.run(*args, **kwargs)


def lifecycles_run(count: int, *, messages: Messages, trips: RoundTrips, prefix: str) -> list:
    """Runs `count` seed lifecycles, each step for all of them before the next (so at load a
    worker's batch holds many); the benchmark's own token look-ups are not counted."""
    from orders.services.order_processor import ORDER_PROCESSOR
    from stepfunctions import services

    machine = services.state_machine_get(arn_or_name=ORDER_PROCESSOR)
    executions = []
    for index in range(count):
        seed = {"detail": {"orderId": f"{prefix}{index}", "userId": "bench"}}
        with trips.counting():
            executions.append(services.execution_start(state_machine=machine, input=seed)[0])
    with trips.counting("stages"):
        messages.drain()
    for wait in ("Emit - Workflow Started TT", "Emit - Awaiting Completion TT"):
        tokens = waiting_tokens(wait)
        assert len(tokens) == count, (wait, len(tokens))
        for token in tokens:
            with trips.counting():
                services.task_success(task_token=token, output='{"orderId": 1}')
        with trips.counting("stages"):
            messages.drain()
    return executions


def measure_cost(load: int = 100) -> dict:
    """Round trips, messages and rows of a lifecycle, stages run in this process by the worker's
    own task: alone (an idle system: each nudge runs at once), and `load` at a time (the nudges
    wait in line as they do behind a busy worker, so each one runs a batch)."""
    from orders.services.shop_config import shop_config_get
    from stepfunctions import hooks
    from stepfunctions.models import Event, Execution, HistoryEvent
    from stepfunctions.services import deadlines as deadlines_service
    from stepfunctions.services import events as events_service

    make_room(load)
    shop_config_get()
    publishes = Counter()
    original_publish = events_service.events_publish

    def count_publish(events):
        publishes["messages"] += sum(len(hooks.event_topics(e)) for e in events)
        original_publish(events)

    events_service.events_publish = count_publish
    # The deadline set's round trips (stepfunctions.services.deadlines): one script call each.
    original_script = deadlines_service._script

    def count_script(client, source):
        publishes["deadline adds"] += source == deadlines_service._ADD
        return original_script(client, source)

    deadlines_service._script = count_script
    figures = {}
    try:
        # The day's first order also creates the day's counter.
        with Messages(at_once=True) as messages:
            lifecycles_run(1, messages=messages, trips=RoundTrips(), prefix="warm-")
        for name, count, at_once in (("alone", 1, True), (f"{load} at a time", load, False)):
            trips = RoundTrips()
            publishes.clear()
            with Messages(at_once=at_once) as messages:
                executions = lifecycles_run(count, messages=messages, trips=trips, prefix=name)
            ids = [execution.pk for execution in executions]
            done = Execution.objects.filter(pk__in=ids, status="SUCCEEDED").count()
            assert done == count, (name, done)
            figures[name] = {
                "database round trips per lifecycle": round(trips.count / count, 2),
                "by statement": {k: round(v / count, 2) for k, v in trips.by_statement.items()},
                "celery messages per lifecycle": round(messages.sent / count, 3),
                # Python CPU in this process (statements recorded as the round trips are).
                "cpu ms per lifecycle": {
                    part: round(seconds * 1000 / count, 2) for part, seconds in trips.cpu.items()
                },
                "history rows": HistoryEvent.objects.filter(execution_id=ids[0]).count(),
                "event rows": Event.objects.filter(execution_id=ids[0]).count(),
                "redis publishes per lifecycle": round(publishes["messages"] / count, 2),
                "deadline set adds per lifecycle": round(publishes["deadline adds"] / count, 2),
            }
        return figures
    finally:
        events_service.events_publish = original_publish
        deadlines_service._script = original_script
