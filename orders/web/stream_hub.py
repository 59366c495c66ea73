"""One Redis subscription per event loop, shared by every live stream served on that loop.

Under the ASGI server a web process serves all of its streams on one event loop, so a thousand
open display boards hold one Redis connection (plus the slot commands' small pool), not a
thousand. The hub subscribes to every live topic at once (a pattern on the topics' prefix: every
event is published on the admin topic anyway, so a process receives little it would not have
received for its baristas' screens), parses each message once, takes out what a browser has no
business seeing, and hands the text to the streams listening on its channel.

Nothing here retries quietly: a message published while the subscription is down would be lost
without anyone knowing, so when the connection fails every stream on the hub ends, and the
browsers reconnect and catch up from the pages' state (live.js refreshes after each reconnect).
A stream that falls more than LISTENER_BACKLOG events behind ends the same way rather than
holding an unbounded backlog in the server. The reader stops, and the connection closes, when its
last stream leaves.
"""

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from orders.services.bus import channel_prefix

# Events a stream may be behind its browser before the hub ends it.
LISTENER_BACKLOG = 256
# How long a first stream waits for the subscription to be confirmed.
SUBSCRIBE_SECONDS = 5.0
# The reader wakes this often when nothing arrives, and pings Redis, so a connection that died
# without closing is noticed.
HEALTH_CHECK_SECONDS = 10
# The hub's connections as Redis's CLIENT LIST names them.
CLIENT_NAME = "live-streams"
# Members a browser has no business seeing: the task token answers the workflow's wait.
_PRIVATE = ("TaskToken",)


class StreamEnded(Exception):
    """The hub's connection failed or the listener fell behind: the stream should end."""


def browser_text(raw: bytes) -> str:
    """An event as a browser may see it."""
    envelope = json.loads(raw)
    if isinstance(envelope.get("detail"), dict):
        for key in _PRIVATE:
            envelope["detail"].pop(key, None)
    return json.dumps(envelope)


class Listener:
    """One stream's view of the hub: the texts of its channels' events, in order."""

    _END = object()

    def __init__(self, channels: list[str]) -> None:
        self.channels = tuple(channels)
        self._queue: asyncio.Queue = asyncio.Queue(maxsize=LISTENER_BACKLOG)
        self.ended = False

    def put(self, text: str) -> None:
        if self.ended:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.end()

    def end(self) -> None:
        """Ends the stream after nothing more: what it had not sent yet is dropped (the browser
        catches up when it reconnects)."""
        self.ended = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(self._END)

    async def next(self, timeout: float) -> str | None:
        """The next event's text, or None when `timeout` seconds pass without one."""
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            return None
        if item is self._END:
            raise StreamEnded
        return item


class Hub:
    """The streams of one event loop and their shared subscription."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = {}
        self._reader: asyncio.Task | None = None
        self._subscribed: asyncio.Future | None = None
        self._client: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        """The connection pool the streams' other commands (their slots) use."""
        if self._client is None:
            # No retries: a failed connection must end the streams, not be papered over (see
            # the module's docstring). Without CLIENT SETINFO: redis-py would read its package
            # metadata from disk for each new connection.
            self._client = aioredis.Redis.from_url(
                settings.REDIS_URL,
                driver_info=None,
                client_name=CLIENT_NAME,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=HEALTH_CHECK_SECONDS,
            )
        return self._client

    @property
    def listener_count(self) -> int:
        return len({listener for group in self._listeners.values() for listener in group})

    @contextlib.asynccontextmanager
    async def listening(self, channels: list[str]) -> AsyncIterator[Listener]:
        """A listener on `channels` for the duration of the block, once the hub's subscription
        is confirmed (so nothing published after the block starts is missed). Raises
        redis.RedisError when Redis cannot be reached."""
        listener = Listener(channels)
        for channel in listener.channels:
            self._listeners.setdefault(channel, set()).add(listener)
        try:
            if self._reader is None:
                self._subscribed = asyncio.get_running_loop().create_future()
                self._reader = asyncio.create_task(self._read(self._subscribed))
            subscribed = self._subscribed
            try:
                async with asyncio.timeout(SUBSCRIBE_SECONDS):
                    await asyncio.shield(subscribed)
            except TimeoutError:
                message = "The live topics' subscription was not confirmed"
                raise redis.ConnectionError(message) from None
            yield listener
        finally:
            await self._leave(listener)

    async def _leave(self, listener: Listener) -> None:
        for channel in listener.channels:
            group = self._listeners.get(channel)
            if group is not None:
                group.discard(listener)
                if not group:
                    del self._listeners[channel]
        if not self._listeners:
            await self.close()

    async def close(self) -> None:
        """Stops the reader and closes the connections (the next listener opens them again)."""
        # Both taken first: a listener arriving meanwhile starts afresh on a connection of its own.
        reader, self._reader = self._reader, None
        client, self._client = self._client, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, redis.RedisError, OSError):
                await reader
        if client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                await client.aclose()

    async def _read(self, subscribed: asyncio.Future) -> None:
        pubsub = self.client.pubsub()
        try:
            await pubsub.psubscribe(f"{channel_prefix()}:*")
            while True:
                message = await pubsub.get_message(timeout=HEALTH_CHECK_SECONDS)
                if message is None:
                    continue
                if message["type"] == "psubscribe" and not subscribed.done():
                    subscribed.set_result(True)
                elif message["type"] == "pmessage":
                    self._deliver(message["channel"].decode(), message["data"])
        except (redis.RedisError, OSError) as error:
            if not subscribed.done():
                subscribed.set_exception(error)
            self._end_all()
        finally:
            with contextlib.suppress(redis.RedisError, OSError):
                await pubsub.aclose()
            if self._reader is asyncio.current_task():
                # A failed reader: the next listener starts a new one on a new connection.
                self._reader = None

    def _deliver(self, channel: str, raw: bytes) -> None:
        group = self._listeners.get(channel)
        if not group:
            return
        try:
            text = browser_text(raw)
        except ValueError:
            return  # not an event of ours
        for listener in list(group):
            listener.put(text)

    def _end_all(self) -> None:
        for group in self._listeners.values():
            for listener in group:
                if not listener.ended:
                    listener.end()


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The running event loop's hub."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
