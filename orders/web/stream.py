"""Server-sent events: the workflow's events, live from Redis, on the original's topics.

A customer's stream carries their own topic and the config topic (the shop's and the menu's
changes: an open order page re-reads its choices when an item sells out); the admin topic needs
the barista's or the display board's permission; the config topic is public, and an address may
hold only STREAM_ANONYMOUS_PER_ADDRESS such streams at once without logging in (429 beyond).

The streams are async: served as ASGI (serverlesspresso.asgi), an open stream is a coroutine
waiting on Redis, not a thread of a bounded pool, so display boards never take capacity from the
API or the pages, and the server cancels a stream when its client goes away. The views in front
of them are sync and quick (the login check, the slot). Under WSGI (the tests' live server,
serverlesspresso.wsgi) a stream runs on an event loop of its own. Streams send a heartbeat so
dead clients are noticed and end after LIVE_STREAM_SECONDS (EventSource reconnects by itself).
"""

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from orders.services.bus import admin_topic, config_topic, user_topic
from orders.services.stream_slots import (
    stream_slot_release,
    stream_slot_renew,
    stream_slot_take,
)
from orders.web import stream_hub

HEARTBEAT_SECONDS = 10


async def _events(
    channels: list[str], seconds: float, slot: tuple[str, str] | None
) -> AsyncIterator[str]:
    """The stream's text; `slot` (address, stream id) is the anonymous slot it holds and frees.
    The events come through the event loop's hub (one Redis subscription for all its streams)."""
    loop = asyncio.get_running_loop()
    shared = stream_hub.hub()
    try:
        async with shared.listening(channels) as listener:
            try:
                # Reconnect quickly after the stream ends; the comment lets the browser fire
                # "open".
                yield "retry: 1000\n: connected\n\n"
                now = loop.time()
                deadline = now + seconds
                heartbeat_due = now + HEARTBEAT_SECONDS
                renew_due = now + settings.STREAM_SLOT_LEASE_SECONDS / 3
                while (now := loop.time()) < deadline:
                    wake = min(deadline, heartbeat_due, renew_due if slot else deadline)
                    text = await listener.next(timeout=max(wake - now, 0.0))
                    now = loop.time()
                    if text is not None:
                        yield f"data: {text}\n\n"
                        heartbeat_due = now + HEARTBEAT_SECONDS
                    elif now >= heartbeat_due:
                        # An event (not a comment) so the page sees it: a page that hears nothing
                        # for a few heartbeats knows its connection is dead even if the socket
                        # looks open.
                        yield "event: heartbeat\ndata: {}\n\n"
                        heartbeat_due = now + HEARTBEAT_SECONDS
                    if slot and now >= renew_due:
                        await stream_slot_renew(
                            client=shared.client, address=slot[0], stream_id=slot[1]
                        )
                        renew_due = now + settings.STREAM_SLOT_LEASE_SECONDS / 3
            finally:
                # Also on cancellation (the client went away): shielded, so the slot is freed
                # even then, on the hub's connections while they are still open.
                if slot:
                    await asyncio.shield(_release(slot, shared.client))
                    slot = None
    except (redis.RedisError, stream_hub.StreamEnded):
        # Redis went away (a restart, the end of a test run) or the browser fell too far behind:
        # end the stream; the browser reconnects and re-reads the page's state.
        return
    finally:
        if slot:  # the subscription failed before the stream began
            await asyncio.shield(_release(slot, None))


async def _release(slot: tuple[str, str], client: aioredis.Redis | None) -> None:
    """Frees an anonymous stream's slot, on `client` or on a connection of its own."""
    own = client is None
    if own:
        client = aioredis.Redis.from_url(settings.REDIS_URL, driver_info=None)
    try:
        await stream_slot_release(client=client, address=slot[0], stream_id=slot[1])
    except redis.RedisError:
        pass  # the lease lapses by itself
    finally:
        if own:
            await client.aclose()


class _OwnLoop:
    """An async stream served to a WSGI server: run on an event loop in a thread of its own (the
    serving thread may already have a loop running, as a test's browser driver leaves one), and
    closed there (freeing the stream's slot) when the server closes the response."""

    def __init__(self, events: AsyncIterator[str]) -> None:
        self._events = events
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            return self._run(anext(self._events))
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None

    def close(self) -> None:
        if self._thread.is_alive():
            self._run(self._events.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


def _stream(request: HttpRequest, channels: list[str], *, anonymous: bool = False) -> HttpResponse:
    """The views are sync and quick (the login check, the slot); the stream itself is async.
    Served as ASGI (serverlesspresso.asgi) the view runs in the process's shared sync thread and
    the stream on the event loop; under WSGI the stream gets an event loop of its own."""
    asgi = isinstance(request, ASGIRequest)
    if not asgi:
        # The stream holds this request's thread, and with it any database connection the
        # login check opened here: give that back first.
        connections.close_all()
    slot = None
    if anonymous:
        slot = (request.META.get("REMOTE_ADDR", ""), uuid.uuid4().hex)
        try:
            taken = stream_slot_take(address=slot[0], stream_id=slot[1])
        except redis.RedisError:
            return HttpResponse("Live updates are unavailable", status=503)
        if not taken:
            response = HttpResponse("Too many live streams from this address", status=429)
            response["Retry-After"] = str(int(settings.STREAM_SLOT_LEASE_SECONDS))
            return response
    events = _events(channels, settings.LIVE_STREAM_SECONDS, slot)
    response = StreamingHttpResponse(
        events if asgi else _OwnLoop(events), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def stream_me(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse("Log in first", status=401)
    return _stream(request, [user_topic(request.user.get_username()), config_topic()])


def stream_admin(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (user.has_perm("orders.act_as_barista") or user.has_perm("orders.view_display_board")):
        return HttpResponse("Baristas and display boards only", status=403)
    return _stream(request, [admin_topic()])


def stream_config(request: HttpRequest) -> HttpResponse:
    return _stream(request, [config_topic()], anonymous=not request.user.is_authenticated)
