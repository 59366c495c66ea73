"""The deadline scheduler's turn (stepfunctions.services.deadline_scheduler) with a moved clock, and
what the engine adds to the set: a token's deadlines and a heartbeat's new one, a long Wait's
moment, an execution's TimeoutSeconds."""

from datetime import timedelta

import pytest
import time_machine

from stepfunctions import services
from stepfunctions.models import CallbackToken, Execution
from stepfunctions.services.deadline_scheduler import deadline_scheduler_start, deadlines_step
from stepfunctions.services.deadlines import KEY, TAKE_MARGIN, deadline_bucket, deadline_listener
from tests.conftest import open_token
from tests.stepfunctions.test_timeouts import wait_state

WAIT = "Wait for callback"


def _members(deadline_redis) -> dict:
    return {m.decode(): s for m, s in deadline_redis.zrange(KEY, 0, -1, withscores=True)}


def _start(name: str, definition: dict) -> Execution:
    machine = services.state_machine_create(name=name, definition=definition)
    execution, _ = services.execution_start(state_machine=machine, input={})
    execution.refresh_from_db()
    return execution


def test_a_token_deadline_fires_its_sweep_at_its_bucket_and_not_before(
    inline_stages, deadline_redis
):
    definition = {"StartAt": WAIT, "States": {WAIT: wait_state(HeartbeatSeconds=5, End=True)}}
    execution = _start("OnTimeToken", definition)
    token = CallbackToken.objects.get(execution=execution)
    bucket = deadline_bucket(token.deadline)
    assert _members(deadline_redis) == {f"token:{round(bucket * 1000)}": pytest.approx(bucket)}

    with time_machine.travel(token.deadline - timedelta(milliseconds=1), tick=False):
        assert (
            deadlines_step(
                client=deadline_redis, listener=deadline_listener(deadline_redis), idle_seconds=0.01
            )
            is None
        )  # not due: it slept
    with time_machine.travel(bucket + 2 * TAKE_MARGIN, tick=False):
        assert deadlines_step(
            client=deadline_redis, listener=deadline_listener(deadline_redis), idle_seconds=0.01
        ) == {"token": 1}
    execution.refresh_from_db()
    assert execution.status == "FAILED"  # timed out, no Catch
    assert execution.history.filter(type="TaskTimedOut").count() == 1
    assert _members(deadline_redis) == {}


def test_a_heartbeat_adds_its_new_deadline_and_the_old_bucket_finds_nothing(
    inline_stages, deadline_redis
):
    definition = {"StartAt": WAIT, "States": {WAIT: wait_state(HeartbeatSeconds=5, End=True)}}
    execution = _start("OnTimeBeat", definition)
    first = CallbackToken.objects.get(execution=execution).deadline
    with time_machine.travel(first - timedelta(seconds=1), tick=False):
        services.task_heartbeat(task_token=open_token(execution, WAIT))
    moved = CallbackToken.objects.get(execution=execution).deadline
    assert moved == first + timedelta(seconds=4)
    assert sorted(_members(deadline_redis).values()) == pytest.approx(
        [deadline_bucket(first), deadline_bucket(moved)]
    )
    with time_machine.travel(deadline_bucket(first) + 2 * TAKE_MARGIN, tick=False):
        assert deadlines_step(
            client=deadline_redis, listener=deadline_listener(deadline_redis), idle_seconds=0.01
        ) == {"token": 0}
    with time_machine.travel(deadline_bucket(moved) + 2 * TAKE_MARGIN, tick=False):
        assert deadlines_step(
            client=deadline_redis, listener=deadline_listener(deadline_redis), idle_seconds=0.01
        ) == {"token": 1}


def test_an_execution_timeout_fires_at_its_bucket(inline_stages, deadline_redis):
    definition = {"StartAt": WAIT, "TimeoutSeconds": 3, "States": {WAIT: wait_state(End=True)}}
    execution = _start("OnTimeTimeout", definition)
    assert [m.partition(":")[0] for m in _members(deadline_redis)] == ["timeout"]
    with time_machine.travel(deadline_bucket(execution.timeout_at) + 2 * TAKE_MARGIN, tick=False):
        assert deadlines_step(
            client=deadline_redis, listener=deadline_listener(deadline_redis), idle_seconds=0.01
        ) == {"timeout": 1}
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("TIMED_OUT", "States.Timeout")


def test_a_wait_past_the_countdowns_reach_is_nudged_at_its_bucket(inline_stages, deadline_redis):
    states = {"Wait": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
              "Done": {"Type": "Pass", "End": True}}  # fmt: skip
    execution = _start("OnTimeLongWait", {"StartAt": "Wait", "States": states})
    assert [m.partition(":")[0] for m in _members(deadline_redis)] == ["stage"]
    with time_machine.travel(deadline_bucket(execution.due_at) + 2 * TAKE_MARGIN, tick=False):
        # The nudge runs the due stage (eagerly here; a worker's claim in production).
        assert deadlines_step(
            client=deadline_redis, listener=deadline_listener(deadline_redis), idle_seconds=0.01
        ) == {"stage": 0}
    execution.refresh_from_db()
    assert execution.status == "SUCCEEDED"


def test_a_short_wait_keeps_its_countdown_and_adds_nothing(inline_stages, deadline_redis):
    states = {"Wait": {"Type": "Wait", "Seconds": 2, "End": True}}
    _start("OnTimeShortWait", {"StartAt": "Wait", "States": states})
    assert _members(deadline_redis) == {}


def test_with_the_scheduler_off_nothing_is_added_nor_started(
    inline_stages, deadline_redis, settings
):
    settings.WORKFLOW_DEADLINE_SCHEDULER = False
    definition = {"StartAt": WAIT, "TimeoutSeconds": 3, "States": {WAIT: wait_state(End=True)}}
    _start("OffTimeout", definition)
    assert _members(deadline_redis) == {}
    assert deadline_scheduler_start() is False
