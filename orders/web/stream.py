"""Server-sent events: the workflow's events, live from Redis, on the original's topics.

A customer's stream carries only their own topic; the admin topic needs the barista's or the
display board's permission. Streams send a heartbeat comment so dead clients are noticed and end
after LIVE_STREAM_SECONDS so that a server's threads are never held for ever (EventSource
reconnects by itself).
"""

import json
import time
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from orders.services.bus import ADMIN_TOPIC, CONFIG_TOPIC, user_topic

HEARTBEAT_SECONDS = 10
# Members a browser has no business seeing: the task token answers the workflow's wait.
_PRIVATE = ("TaskToken",)


def _message(raw: bytes) -> str:
    envelope = json.loads(raw)
    if isinstance(envelope.get("detail"), dict):
        for key in _PRIVATE:
            envelope["detail"].pop(key, None)
    return json.dumps(envelope)


def _events(channels: list[str], seconds: float) -> Iterator[str]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(*channels)
    except redis.RedisError:
        client.close()
        return
    try:
        # Reconnect quickly after the stream ends; the comment lets the browser fire "open".
        yield "retry: 1000\n: connected\n\n"
        deadline = time.monotonic() + seconds
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=1.0)
            if message and message["type"] == "message":
                yield f"data: {_message(message['data'])}\n\n"
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
                # An event (not a comment) so the page sees it: a page that hears nothing for
                # a few heartbeats knows its connection is dead even if the socket looks open.
                yield "event: heartbeat\ndata: {}\n\n"
                quiet_since = time.monotonic()
    except redis.RedisError:
        # Redis went away (a restart, the end of a test run): end the stream; the browser
        # reconnects and re-reads the page's state.
        return
    finally:
        pubsub.close()
        client.close()


def _stream(channels: list[str]) -> StreamingHttpResponse:
    # The stream needs no database: give the connection back before holding the thread.
    connections.close_all()
    response = StreamingHttpResponse(
        _events(channels, settings.LIVE_STREAM_SECONDS), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def stream_me(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse("Log in first", status=401)
    return _stream([user_topic(request.user.get_username())])


def stream_admin(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (user.has_perm("orders.act_as_barista") or user.has_perm("orders.view_display_board")):
        return HttpResponse("Baristas and display boards only", status=403)
    return _stream([ADMIN_TOPIC])


def stream_config(request: HttpRequest) -> HttpResponse:
    return _stream([CONFIG_TOPIC])
