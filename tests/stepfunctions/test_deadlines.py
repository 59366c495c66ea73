"""The deadline set (stepfunctions.services.deadlines) on the session's Redis, with a moved clock:
buckets rounded up, one member per kind and bucket, the scheduler woken only by an earlier
moment, a bucket taken by one taker only and not before its moment."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from redis.backoff import NoBackoff
from redis.retry import Retry

from stepfunctions.services import deadlines
from stepfunctions.services.deadlines import (
    KEY,
    STAGE,
    TIMEOUT,
    TOKEN,
    deadline_bucket,
    deadline_earliest,
    deadline_listener,
    deadline_sleep,
    deadlines_add,
    deadlines_take_due,
)

T0 = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_deadline_is_rounded_up_to_its_bucket(settings):
    settings.WORKFLOW_DEADLINE_BUCKET_SECONDS = 0.05
    base = T0.timestamp()
    assert deadline_bucket(at(1.001)) == pytest.approx(base + 1.05)
    assert deadline_bucket(at(1.05)) == pytest.approx(base + 1.05)  # on a boundary: its own
    assert deadline_bucket(at(1.0501)) == pytest.approx(base + 1.10)
    settings.WORKFLOW_DEADLINE_BUCKET_SECONDS = 0.1
    assert deadline_bucket(at(1.001)) == pytest.approx(base + 1.1)


def test_one_member_per_kind_and_bucket_and_a_wake_only_for_an_earlier_moment(deadline_redis):
    listener = deadline_listener(deadline_redis)
    # The first moment of an empty set wakes the scheduler (asleep for good, or idling).
    assert deadlines_add([(TOKEN, at(10.01)), (TOKEN, at(10.02))], client=deadline_redis) is True
    assert deadline_redis.zcard(KEY) == 1  # the same bucket
    assert deadline_sleep(5, listener=listener) is True
    # A later moment, or the same bucket of another kind: the scheduler wakes for the earliest
    # anyway, and looks at the set again then.
    assert (
        deadlines_add([(TOKEN, at(20)), (TIMEOUT, at(10.03)), (STAGE, None)], client=deadline_redis)
        is False
    )
    assert deadline_redis.zcard(KEY) == 3
    # An earlier one wakes it; the wake-ups published meanwhile are read at once.
    assert deadlines_add([(STAGE, at(5))], client=deadline_redis) is True
    assert deadlines_add([(TOKEN, at(4))], client=deadline_redis) is True
    assert deadline_earliest(client=deadline_redis) == pytest.approx(at(4).timestamp())
    assert deadline_sleep(5, listener=listener) is True  # woken at once
    started = time.monotonic()
    assert deadline_sleep(0.05, listener=listener) is False  # then sleeps its time
    assert time.monotonic() - started >= 0.05
    listener.close()


def test_a_bucket_is_taken_at_its_moment_by_one_taker(deadline_redis):
    deadlines_add([(TOKEN, at(1.01)), (TIMEOUT, at(1.01)), (STAGE, at(3))], client=deadline_redis)
    with time_machine.travel(at(1.04), tick=False):
        assert (
            deadlines_take_due(client=deadline_redis) == set()
        )  # the deadline, not yet its bucket
    with time_machine.travel(at(1.0505), tick=False):  # its moment, not its margin yet
        assert deadlines_take_due(client=deadline_redis) == set()
    with time_machine.travel(at(1.052), tick=False):
        assert deadlines_take_due(client=deadline_redis) == {TOKEN, TIMEOUT}
        assert (
            deadlines_take_due(client=deadline_redis) == set()
        )  # a second beat's scheduler: nothing
    with time_machine.travel(at(60), tick=False):
        assert deadlines_take_due(client=deadline_redis) == {STAGE}
    assert deadline_redis.zcard(KEY) == 0


def test_redis_down_leaves_the_deadline_to_the_sweeps(caplog):
    down = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    assert deadlines_add([(TOKEN, at(1))], client=down) is False
    assert "the sweeps fire them" in caplog.text


def test_after_redis_lost_its_scripts_the_add_loads_them_again(deadline_redis):
    deadlines_add([(TOKEN, at(1))], client=deadline_redis)
    deadline_redis.script_flush()
    deadlines._scripts.clear()
    deadline_redis.script_flush()  # a restart forgets the scripts the deadline_redis loaded
    assert deadlines_add([(TOKEN, at(0.5))], client=deadline_redis) is True
    assert deadline_redis.zcard(KEY) == 2


def test_a_bucket_this_process_added_is_not_sent_again_until_its_moment(deadline_redis):
    with time_machine.travel(at(0), tick=False):
        assert deadlines_add([(TOKEN, at(900.01))], client=deadline_redis) is True
        deadline_redis.delete(KEY)  # as if another process's scheduler...: not asked again
        assert deadlines_add([(TOKEN, at(900.02))], client=deadline_redis) is False
        assert deadline_redis.zcard(KEY) == 0
        deadlines_add(
            [(TIMEOUT, at(900.02))], client=deadline_redis
        )  # another kind: its own member
        assert deadline_redis.zcard(KEY) == 1
    with time_machine.travel(at(901), tick=False):  # past its moment: a late add goes through
        deadlines_add([(TOKEN, at(900.01))], client=deadline_redis)
        assert deadline_redis.zcard(KEY) == 2
