"""Timers that fire when due: the moments deadlines fall, kept in a Redis sorted set.

Whatever opens a deadline (a stage that opens a token with HeartbeatSeconds or TimeoutSeconds, a
stage due later than a countdown reaches, a start with the execution's TimeoutSeconds) and a
heartbeat that moves one adds its moment after commit, rounded UP to a bucket of
WORKFLOW_DEADLINE_BUCKET_SECONDS: one member per kind of sweep and bucket (ZADD NX), however many
timers share it, so the set grows with the distinct moments, not with the waiting executions.
The scheduler (services.deadline_scheduler, a thread in beat's process) sleeps until the earliest
bucket and runs that kind's sweep at once.

The database stays the truth; a bucket only says "sweep now". A heartbeat that moves a deadline
on leaves its old bucket to fire a sweep that finds nothing. A set lost with Redis (a restart
without persistence), or a deadline whose ZADD failed, is left to the periodic sweeps, at their
period, as before. A member is taken with one atomic script, so two schedulers (two beats) never
both fire it; the sweeps are guarded in the database anyway.

Waking the scheduler: it listens on a wake channel (subscribed for as long as it runs) until the
set's earliest moment, timed on its own clock: Redis times a blocking command's timeout (BLPOP's)
only to its event loop's tick, up to 100 ms late on an idle server. An add whose earliest moment
comes before the set's earliest (or finds the set empty) publishes on the channel in the same
script: the scheduler, asleep for a later moment or for good, wakes and looks again (a message
published while it sweeps waits in its connection). A later moment needs no wake: the scheduler
looks at the set each time it wakes, and after a lost connection.
"""

import logging
import math
import time
from collections.abc import Iterable
from datetime import datetime

import redis
from django.conf import settings
from django.db import transaction

from stepfunctions.services.events import redis_client

logger = logging.getLogger(__name__)

KEY = "stepfunctions:deadlines"
WAKE_CHANNEL = "stepfunctions:deadlines:wake"
# The kinds of sweep a member names, in the order the scheduler runs them: an execution's
# timeout first (it closes its tokens), then the tokens, then the stages due later.
TIMEOUT, TOKEN, STAGE = "timeout", "token", "stage"
KINDS = (TIMEOUT, TOKEN, STAGE)
TAKE_MARGIN = 0.001

# ARGV: score, member, score, member ... Adds the members that are new; publishes a wake-up when
# the earliest of them comes before the set's earliest moment (or the set was empty).
_ADD = """
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[1], 'NX', unpack(ARGV))
local earliest = nil
for i = 1, #ARGV, 2 do
  local score = tonumber(ARGV[i])
  if earliest == nil or score < earliest then earliest = score end
end
if #first == 0 or earliest < tonumber(first[2]) then
  redis.call('PUBLISH', KEYS[2], '1')
  return 1
end
return 0
"""
# ARGV: now, limit. Takes the members due by now: whoever runs this fires them, nobody else.
_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""
_scripts: dict = {}  # registered scripts, by client and source
# The members this process added whose moment is still to come, with it: a stage batch of a busy
# worker mostly opens deadlines in buckets it added a moment ago (the coffee bar's 900 s
# heartbeats), and skips the round trip for them. (After a Redis restart those few buckets are
# left to the periodic sweeps, as the rest of the lost set is.)
_added: dict[str, float] = {}
_ADDED_MAX = 4096


def bucket_seconds() -> float:
    return float(getattr(settings, "WORKFLOW_DEADLINE_BUCKET_SECONDS", 0.05))


def scheduler_on() -> bool:
    return bool(getattr(settings, "WORKFLOW_DEADLINE_SCHEDULER", True))


def deadline_bucket(at: datetime | float) -> float:
    """The bucket's moment (epoch seconds, to the millisecond): `at` rounded UP, so a sweep at
    the bucket's moment finds every deadline of the bucket due."""
    seconds = at.timestamp() if isinstance(at, datetime) else float(at)
    size = bucket_seconds()
    # Rounded to the millisecond first: a deadline already on a boundary stays in its bucket.
    return math.ceil(round(seconds / size, 6)) * round(size * 1000) / 1000


def _member(kind: str, bucket: float) -> str:
    return f"{kind}:{round(bucket * 1000)}"


def _script(client: redis.Redis, source: str):
    key = (id(client), source)
    if key not in _scripts:
        _scripts[key] = client.register_script(source)
    return _scripts[key]


def deadlines_add(
    deadlines: Iterable[tuple[str, datetime | None]], *, client: redis.Redis | None = None
) -> bool:
    """Adds (kind, moment) deadlines to the set (None moments skipped); returns whether it woke
    the scheduler. Never raises for Redis: a deadline it could not add is left to the periodic
    sweeps."""
    members: dict[str, float] = {}
    for kind, at in deadlines:
        if at is not None:
            bucket = deadline_bucket(at)
            members[_member(kind, bucket)] = bucket
    now = time.time()
    members = {m: score for m, score in members.items() if _added.get(m, 0) <= now}
    if not members:
        return False
    args: list = []
    for member, score in members.items():
        args += [score, member]
    client = client or redis_client()
    try:
        woke = bool(_script(client, _ADD)(keys=[KEY, WAKE_CHANNEL], args=args, client=client))
    except redis.RedisError as error:
        logger.warning("Could not add %d deadlines (%s); the sweeps fire them", len(members), error)
        return False
    if len(_added) > _ADDED_MAX:
        for member in [m for m, score in _added.items() if score <= now]:
            del _added[member]
    _added.update(members)
    return woke


def deadlines_add_on_commit(deadlines: list[tuple[str, datetime | None]]) -> None:
    """Adds the deadlines once the current transaction commits (at once, in autocommit): the
    scheduler never sweeps for a row that is not committed yet. Nothing while the scheduler is
    off (WORKFLOW_DEADLINE_SCHEDULER): nobody would take them."""
    if not scheduler_on():
        return
    if any(at is not None for _, at in deadlines):
        transaction.on_commit(lambda: deadlines_add(deadlines), robust=True)


def deadlines_take_due(*, client: redis.Redis, now: float | None = None, limit: int = 1000) -> set:
    """Takes the members due by `now` (epoch seconds) out of the set; returns their kinds. A
    bucket is due a millisecond after its moment: the sweep's clock (microseconds) is then past
    every deadline of the bucket, whatever the float's rounding."""
    moment = (time.time() if now is None else now) - TAKE_MARGIN
    taken = _script(client, _POP_DUE)(keys=[KEY], args=[moment, limit], client=client)
    return {member.decode().partition(":")[0] for member in taken}


def deadline_earliest(*, client: redis.Redis) -> float | None:
    """The earliest bucket's moment (epoch seconds), None when the set is empty."""
    first = client.zrange(KEY, 0, 0, withscores=True)
    return first[0][1] if first else None


def deadline_listener(client: redis.Redis):
    """The scheduler's subscription to the wake channel (a connection of its own)."""
    listener = client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(WAKE_CHANNEL)
    listener.get_message(timeout=1.0)  # the subscription's confirmation, read and dropped
    return listener


def deadline_sleep(seconds: float, *, listener) -> bool:
    """Sleeps up to `seconds` (at least a millisecond, on this process's clock), woken early by an
    add of an earlier moment; returns whether it was woken (the wake-ups waiting are read too)."""
    woken = listener.get_message(timeout=max(seconds, 0.001)) is not None
    while woken and listener.get_message(timeout=0) is not None:
        pass
    return woken
