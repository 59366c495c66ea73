"""GetActivityTask's long poll on an event loop: no thread is held while a poller waits.

A waiting poll is a coroutine: it looks for a task in the database (a short claim, in the
process's shared sync thread), then awaits a wake-up: the announcement a stage publishes on Redis
after committing a task of that activity (services.activities.activity_task_announce), or, at
the latest, RECHECK seconds (an announcement lost with Redis or sent before it listened), or the
poll's end. One Redis subscription per event loop serves every poll on it, so hundreds of idle
pollers cost a coroutine each, one connection in all, and a database look each RECHECK seconds.
"""

import asyncio
import contextlib
import logging
import weakref
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings

from stepfunctions.models import Activity
from stepfunctions.services.activities import (
    ANNOUNCE_PREFIX,
    activity_task_claim,
    poll_seconds,
    recheck_seconds,
)

logger = logging.getLogger(__name__)
# The reader wakes this often when nothing arrives, to stop once no poll is left.
_READ_SECONDS = 1.0


class Wakeups:
    """The announcements of one event loop's polls, from one Redis pattern subscription."""

    def __init__(self) -> None:
        self.waiting: dict[int, set[asyncio.Event]] = {}
        self.reader: asyncio.Task | None = None

    @contextlib.contextmanager
    def listening(self, activity_id: int):
        """An Event set when a task of the activity is announced (listening from now on)."""
        event = asyncio.Event()
        self.waiting.setdefault(activity_id, set()).add(event)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.get_running_loop().create_task(self._read())
        try:
            yield event
        finally:
            listeners = self.waiting.get(activity_id, set())
            listeners.discard(event)
            if not listeners:
                self.waiting.pop(activity_id, None)

    async def _read(self) -> None:
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.psubscribe(ANNOUNCE_PREFIX + "*")
                while self.waiting:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_READ_SECONDS
                    )
                    if message and message["type"] == "pmessage":
                        self._wake(message["channel"])
        except (redis.RedisError, OSError):
            # The polls go on with their database looks every RECHECK seconds.
            logger.warning("Activity polls lost their Redis subscription", exc_info=True)
        finally:
            await client.aclose()

    def _wake(self, channel: bytes) -> None:
        try:
            activity_id = int(channel.decode().removeprefix(ANNOUNCE_PREFIX))
        except ValueError:
            return
        for event in self.waiting.get(activity_id, ()):
            event.set()


_wakeups: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Wakeups]" = (
    weakref.WeakKeyDictionary()
)


def wakeups() -> Wakeups:
    """The running event loop's Wakeups."""
    loop = asyncio.get_running_loop()
    found = _wakeups.get(loop)
    if found is None:
        found = _wakeups[loop] = Wakeups()
    return found


async def activity_task_wait(
    *, activity: Activity, worker_name: str = "", seconds: float | None = None
) -> dict[str, Any] | None:
    """GetActivityTask's answer on an event loop: a task ({"taskToken", "input"}) as soon as
    one is scheduled, or None after `seconds` (SFN_ACTIVITY_POLL_SECONDS). The claim hands each
    task to one poller only (ActivityQuerySet.task_claim)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (poll_seconds() if seconds is None else seconds)
    claim = sync_to_async(activity_task_claim)
    hub = wakeups()
    while True:
        # Listening before looking: a task announced between the look and the wait wakes it.
        with hub.listening(activity.pk) as announced:
            task = await claim(activity=activity, worker_name=worker_name)
            remaining = deadline - loop.time()
            if task is not None or remaining <= 0:
                return task
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(announced.wait(), min(remaining, recheck_seconds()))
