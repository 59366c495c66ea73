"""Timers fire when due, on a real worker and beat (production settings, the sweeps' period left
at its 2 s): a 1 s HeartbeatSeconds, a 1 s Wait and a 1 s execution TimeoutSeconds each take
effect well under the sweep's period after their deadline; and with the deadline set lost from
Redis, the periodic sweep still fires the timer, later.

The test process starts the executions on the session's Redis and broker, which the worker and
beat share; the worker runs every stage.
"""

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis

from serverlesspresso import celery_app
from stepfunctions import services
from stepfunctions.models import CallbackToken, Execution, HistoryEvent
from stepfunctions.services.deadlines import KEY
from stepfunctions.services.messages import NUDGE_KEY
from tests.conftest import wait_for
from tests.processes import production_processes
from tests.stepfunctions.test_timeouts import wait_state

pytestmark = pytest.mark.integration

# Far below the sweep's 2 s tick that timers waited for before (up to 2 s late, 1 s on average),
# far above the scheduler's 50 ms bucket and a stage's round trip, for a loaded CI machine.
LATE_AT_MOST = timedelta(seconds=0.6)
EACH = 4  # timers of each kind, staggered: by the old tick, all on time by chance 1 in ~100

HEARTBEAT = {
    "StartAt": "Wait for callback",
    "States": {
        "Wait for callback": wait_state(
            HeartbeatSeconds=1,
            Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Lost"}],
            End=True,
        ),
        "Lost": {"Type": "Pass", "End": True},
    },
}
WAIT = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}
TIMEOUT = {
    "StartAt": "Wait for callback",
    "TimeoutSeconds": 1,
    "States": {"Wait for callback": wait_state(End=True)},
}


@contextlib.contextmanager
def session_processes(redis_url: str, tmp_path) -> Iterator:
    """A worker's and beat's Processes on the session's Redis and broker (the test process's
    starts and nudges reach them); afterwards the broker's queue, the nudge flag and the deadline
    set are emptied, so that no message the stopped worker gave back runs in a later test."""
    broker = celery_app.conf.broker_url
    try:
        with production_processes(redis_url, tmp_path, CELERY_BROKER_URL=broker) as processes:
            yield processes
    finally:
        celery_app.control.purge()
        redis.Redis.from_url(redis_url).delete(NUDGE_KEY, KEY)


def _started(processes) -> None:
    processes.wait("beat", lambda: "beat: Starting" in processes.log("beat"), timeout=60)
    processes.wait("worker", lambda: " ready." in processes.log("worker"), timeout=60)


def _history_time(execution: Execution, event_type: str):
    return HistoryEvent.objects.get(execution=execution, type=event_type).timestamp


def _lateness(kind: str, execution: Execution) -> timedelta:
    """How long after its deadline the timer took effect, as the execution's history says."""
    if kind == "heartbeat":
        token = CallbackToken.objects.get(execution=execution)
        return _history_time(execution, "TaskTimedOut") - token.deadline
    if kind == "wait":
        entered = _history_time(execution, "WaitStateEntered")
        return _history_time(execution, "WaitStateExited") - entered - timedelta(seconds=1)
    return execution.stop_date - execution.timeout_at


def test_timers_fire_when_due_and_the_sweep_still_fires_a_lost_one(
    transactional_db, redis_url, tmp_path
):
    machines = {
        kind: services.state_machine_create(name=f"OnTime{kind.title()}", definition=definition)
        for kind, definition in (("heartbeat", HEARTBEAT), ("wait", WAIT), ("timeout", TIMEOUT))
    }
    with session_processes(redis_url, tmp_path) as processes:
        processes.worker()
        processes.beat()
        _started(processes)
        started = []
        for index in range(EACH):
            for kind, machine in machines.items():
                execution, _ = services.execution_start(state_machine=machine, input={"n": index})
                started.append((kind, execution))
            time.sleep(0.3)
        ids = [execution.pk for _, execution in started]
        wait_for(
            lambda: not Execution.objects.filter(pk__in=ids, status="RUNNING").exists(),
            timeout=30, interval=0.1, message="every timer to fire",
        )  # fmt: skip

        # The set lost (a Redis restart): the periodic sweep fires the timer, at its tick.
        lost, _ = services.execution_start(state_machine=machines["heartbeat"], input={})
        wait_for(lambda: CallbackToken.objects.filter(execution=lost).exists(), timeout=20)
        redis.Redis.from_url(redis_url).delete(KEY)
        wait_for(
            lambda: Execution.objects.filter(pk=lost.pk, status="SUCCEEDED").exists(),
            timeout=20, interval=0.1, message="the periodic sweep to fire the lost timer",
        )  # fmt: skip

    late = {}
    for kind, execution in started:
        execution.refresh_from_db()
        assert execution.status == ("TIMED_OUT" if kind == "timeout" else "SUCCEEDED")
        late.setdefault(kind, []).append(_lateness(kind, execution))
    print({kind: [round(t.total_seconds(), 3) for t in times] for kind, times in late.items()})
    for kind, times in late.items():
        assert max(times) <= LATE_AT_MOST, (kind, times)
        assert min(times) >= timedelta(0), (kind, times)  # never early
    lost.refresh_from_db()
    assert _lateness("heartbeat", lost) <= timedelta(seconds=2 + 3)
