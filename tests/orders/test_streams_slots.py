"""The live streams' per-address cap (orders.services.stream_slots) on the test's real Redis, and
the stream views through Django's ASGI and WSGI handlers (tests/orders/test_streams_web_tier.py
runs them in the real web processes)."""

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connections
from django.test import AsyncClient, Client

from orders.services.bus import admin_topic
from orders.services.stream_slots import (
    stream_slot_release,
    stream_slot_renew,
    stream_slot_take,
)


@pytest.fixture
def slots(settings, redis_url):
    """A Redis client per call (each runs on its own event loop); the addresses' keys emptied."""
    settings.STREAM_ANONYMOUS_PER_ADDRESS = 3
    settings.STREAM_SLOT_LEASE_SECONDS = 60
    sync = redis.Redis.from_url(redis_url)
    for key in sync.scan_iter("stream-slots:*"):
        sync.delete(key)
    yield sync
    sync.close()


def in_a_thread(coroutine_function, *args):
    """Runs it on an event loop in a thread of its own (the browser tests' driver leaves a loop
    running in the main thread), then closes the database connection that the views' sync parts
    opened in asgiref's shared sync thread (left open, it would outlive the test database)."""

    async def then_close():
        try:
            return await coroutine_function(*args)
        finally:
            await sync_to_async(connections.close_all)()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, then_close()).result()


def run(scenario):
    async def with_client():
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            return await scenario(client)
        finally:
            await client.aclose()

    return in_a_thread(with_client)


def test_an_address_gets_the_cap_and_no_more_until_one_is_released(slots):
    taken = [stream_slot_take(address="192.0.2.1", stream_id=f"s{n}") for n in range(4)]
    other = stream_slot_take(address="192.0.2.2", stream_id="o1")

    async def release(client):
        await stream_slot_release(client=client, address="192.0.2.1", stream_id="s0")
        await stream_slot_release(client=client, address="192.0.2.1", stream_id="s0")  # twice

    run(release)
    again = stream_slot_take(address="192.0.2.1", stream_id="s4")
    full = stream_slot_take(address="192.0.2.1", stream_id="s5")
    assert (taken, other, again, full) == ([True, True, True, False], True, True, False)
    assert slots.zcard("stream-slots:192.0.2.1") == 3


def test_racing_takes_never_exceed_the_cap(slots):
    with ThreadPoolExecutor(20) as pool:
        taken = list(
            pool.map(lambda n: stream_slot_take(address="192.0.2.9", stream_id=f"r{n}"), range(20))
        )
    assert sum(taken) == 3


def test_a_killed_streams_slot_lapses_and_a_renewed_one_does_not(slots, settings):
    # A stream whose process died stops renewing: its lease lapses by Redis's clock (which
    # time-machine cannot move), so the test waits for it: a 2 s lease, renewed halfway, and
    # the check 0.3 s after the unrenewed ones lapse, ~0.7 s before the renewed one would.
    settings.STREAM_SLOT_LEASE_SECONDS = 2.0

    started = time.monotonic()
    for n in range(3):
        stream_slot_take(address="192.0.2.3", stream_id=f"k{n}")
    refused = stream_slot_take(address="192.0.2.3", stream_id="k3")
    time.sleep(max(0.0, started + 1.0 - time.monotonic()))

    async def renew(client, stream_id):
        await stream_slot_renew(client=client, address="192.0.2.3", stream_id=stream_id)

    run(lambda client: renew(client, "k0"))
    # k1 and k2 lapsed (at `started` + 2 s); k0 holds until about `started` + 3 s.
    time.sleep(max(0.0, started + 2.3 - time.monotonic()))
    after = [stream_slot_take(address="192.0.2.3", stream_id=f"n{n}") for n in range(3)]
    # A lapsed lease is not revived by a late renewal.
    run(lambda client: renew(client, "k1"))
    assert (refused, after) == (False, [True, True, False])
    assert set(slots.zrange("stream-slots:192.0.2.3", 0, -1)) == {b"k0", b"n0", b"n1"}


@pytest.fixture
def short_streams(settings, slots):
    settings.LIVE_STREAM_SECONDS = 0.3
    settings.STREAM_ANONYMOUS_PER_ADDRESS = 0
    return slots


async def _read(response) -> bytes:
    return b"".join([part async for part in response.streaming_content])


def test_an_anonymous_stream_beyond_the_cap_is_refused_with_429(transactional_db, short_streams):
    response = in_a_thread(AsyncClient(REMOTE_ADDR="192.0.2.4").get, "/events/config")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"


def test_logged_in_streams_are_not_capped_and_free_nothing(transactional_db, short_streams):
    user = User.objects.create_user("board")
    user.user_permissions.add(Permission.objects.get(codename="view_display_board"))
    client = AsyncClient(REMOTE_ADDR="192.0.2.5")
    client.force_login(user)

    async def scenario():
        config = await client.get("/events/config")
        admin = await client.get("/events/admin")
        return config.status_code, await _read(config), admin.status_code, await _read(admin)

    config_status, config_body, admin_status, admin_body = in_a_thread(scenario)
    assert (config_status, admin_status) == (200, 200)
    assert config_body.startswith(b"retry: 1000\n: connected\n\n")
    assert admin_body.startswith(b"retry: 1000\n: connected\n\n")
    assert short_streams.zcard("stream-slots:192.0.2.5") == 0


def test_the_admin_stream_still_needs_the_permission(transactional_db, short_streams):
    client = AsyncClient()
    client.force_login(User.objects.create_user("nobody"))
    assert in_a_thread(client.get, "/events/admin").status_code == 403
    assert in_a_thread(AsyncClient().get, "/events/me").status_code == 401


@pytest.mark.parametrize("handler", ["asgi", "wsgi"])
def test_a_stream_carries_its_topics_events_and_frees_its_slot(
    transactional_db, settings, short_streams, handler
):
    """Through Django's ASGI handler (async iteration) and its WSGI one (the stream's own event
    loop): the event arrives without its task token, and the anonymous slot is freed at the end."""
    settings.STREAM_ANONYMOUS_PER_ADDRESS = 1
    settings.LIVE_STREAM_SECONDS = 1.5
    user = User.objects.create_user("barista")
    user.user_permissions.add(Permission.objects.get(codename="act_as_barista"))
    # Pub/sub channels span a Redis server's databases: on a shared server other systems' events
    # reach this topic too, so the test looks for its own (a detail-type of its own).
    mine = f"StreamTest.{uuid.uuid4().hex}"
    envelope = {"detail-type": mine, "detail": {"orderId": "7", "TaskToken": "secret"}}

    def publish_soon():
        # After the stream has subscribed (its first chunk was read).
        time.sleep(0.3)
        short_streams.publish(admin_topic(), json.dumps(envelope))

    if handler == "asgi":
        client = AsyncClient(REMOTE_ADDR="192.0.2.6")
        client.force_login(user)

        async def scenario():
            anonymous = await AsyncClient(REMOTE_ADDR="192.0.2.6").get("/events/config")
            response = await client.get("/events/admin")
            stream = aiter(response.streaming_content)
            first = await anext(stream)
            publisher = asyncio.create_task(asyncio.to_thread(publish_soon))
            body = first + b"".join([part async for part in stream])
            await publisher
            return body, await _read(anonymous)

        body, anonymous_body = in_a_thread(scenario)
    else:
        client = Client(REMOTE_ADDR="192.0.2.6")
        client.force_login(user)
        anonymous = Client(REMOTE_ADDR="192.0.2.6").get("/events/config")
        response = client.get("/events/admin")
        stream = iter(response.streaming_content)
        first = next(stream)
        publish_soon()
        body = first + b"".join(stream)
        anonymous_body = b"".join(anonymous.streaming_content)
    assert anonymous_body.startswith(b"retry: 1000")
    data = [line for line in body.decode().splitlines() if line.startswith("data: ")]
    events = [json.loads(line.removeprefix("data: ")) for line in data]
    assert [event for event in events if event.get("detail-type") == mine] == [
        {"detail-type": mine, "detail": {"orderId": "7"}}
    ]
    assert "secret" not in body.decode()
    assert short_streams.zcard("stream-slots:192.0.2.6") == 0
