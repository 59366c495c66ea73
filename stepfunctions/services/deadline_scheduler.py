"""The scheduler of deadlines: a thread in beat's process that sleeps until the earliest bucket
of the deadline set (services.deadlines), woken early on its wake channel, and runs that
bucket's sweeps at once.

It asks Redis, never the database, while it waits: an idle system's database sees only the
periodic sweeps, at their period, as before. It runs the sweeps themselves, in its own thread,
rather than send them as messages: a sweep waits behind no stage in the queue. The sweeps are
the periodic ones (guarded in the database, safe to run twice), so what this thread misses (Redis
down, the set lost, beat restarting) they catch at their next tick.
"""

import logging
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from stepfunctions.services.callbacks import tokens_expire
from stepfunctions.services.deadlines import (
    KINDS,
    STAGE,
    TAKE_MARGIN,
    TIMEOUT,
    TOKEN,
    deadline_earliest,
    deadline_listener,
    deadline_sleep,
    deadlines_take_due,
    scheduler_on,
)
from stepfunctions.services.messages import stages_nudge_send
from stepfunctions.services.sweeps import executions_time_out

logger = logging.getLogger(__name__)

# Asleep with nothing due, the scheduler still looks at Redis this often (a few commands a
# minute), so it notices a set filled while its wake-up was lost, and its stop.
IDLE_SECONDS = 10.0
# After Redis failed it, the scheduler tries again this often; the sweeps cover meanwhile.
RETRY_SECONDS = 1.0

_thread: threading.Thread | None = None
_stop = threading.Event()


def _stages_nudge() -> int:
    stages_nudge_send()  # a worker claims every stage due by then (due_at passed)
    return 0


SWEEPS: dict[str, Callable[[], int]] = {
    TIMEOUT: executions_time_out,
    TOKEN: tokens_expire,
    STAGE: _stages_nudge,
}


def deadlines_fire(kinds: set) -> dict:
    """Runs the sweep of each kind taken (an execution's timeout first: it closes its tokens);
    returns how many each moved. A database error is logged and left to the periodic sweeps."""
    moved = {}
    close_old_connections()
    try:
        for kind in KINDS:
            if kind in kinds:
                moved[kind] = SWEEPS[kind]()
    except DatabaseError as error:
        logger.warning("A sweep on time failed (%s); the periodic sweeps will run it", error)
    finally:
        close_old_connections()
    if moved.get(TOKEN):
        logger.info("Expired %d callback tokens", moved[TOKEN], extra={"count": moved[TOKEN]})
    return moved


def deadlines_step(
    *, client: redis.Redis, listener, idle_seconds: float = IDLE_SECONDS
) -> dict | None:
    """One turn of the scheduler: fires what is due (returning what moved), or else sleeps
    until the earliest bucket, an earlier one's wake-up or `idle_seconds` (returning None)."""
    kinds = deadlines_take_due(client=client)
    if kinds:
        return deadlines_fire(kinds)
    earliest = deadline_earliest(client=client)
    due_in = None if earliest is None else earliest + TAKE_MARGIN - time.time()
    wait = idle_seconds if due_in is None else min(due_in, idle_seconds)
    if wait > 0:
        deadline_sleep(wait, listener=listener)
    return None


def deadlines_serve(*, stop: threading.Event, idle_seconds: float = IDLE_SECONDS) -> None:
    """The scheduler's loop, until `stop` is set, on Redis connections of its own (one listens)."""
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=idle_seconds + 5, socket_connect_timeout=3
    )
    listener = None
    while not stop.is_set():
        try:
            # Subscribed before the set is read: a wake-up published after the read is heard.
            listener = listener or deadline_listener(client)
            deadlines_step(client=client, listener=listener, idle_seconds=idle_seconds)
        except redis.RedisError as error:
            logger.warning("The deadline scheduler lost Redis (%s); the sweeps cover", error)
            if listener is not None:
                listener.close()
            listener = None
            stop.wait(RETRY_SECONDS)
        except Exception:
            logger.exception("The deadline scheduler failed a turn; it goes on")
            stop.wait(RETRY_SECONDS)


def deadline_scheduler_start() -> bool:
    """Starts the scheduler's thread once per process (beat's), unless
    WORKFLOW_DEADLINE_SCHEDULER is off; returns whether it started one. A daemon: it ends with
    the process, and a second beat's scheduler shares the set without firing a bucket twice."""
    global _thread
    if not scheduler_on():
        return False
    if _thread is not None and _thread.is_alive():
        return False
    _stop.clear()
    _thread = threading.Thread(
        target=deadlines_serve, kwargs={"stop": _stop}, name="deadline-scheduler", daemon=True
    )
    _thread.start()
    logger.info("The deadline scheduler started")
    return True


def deadline_scheduler_stop(timeout: float = 5.0) -> None:
    """Stops the thread (within its current sleep: at most IDLE_SECONDS)."""
    _stop.set()
    if _thread is not None:
        _thread.join(timeout)
