"""The live streams' shared subscription (orders.web.stream_hub) on a Redis of the test's own:
many streams on one connection, each hearing only its topics, a slow one ended alone, all of them
ended (not silently resubscribed) when Redis dies, and a fresh start once it is back.

The web tier's test (test_streams_web_tier.py) checks the same through the real server: a
thousand streams on as many Redis subscriptions as there are web processes.
"""

import asyncio
import contextlib
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from bench.system import RedisServer
from orders.services.bus import admin_topic, config_topic, user_topic
from orders.web import stream_hub

# A killed Redis resets the socket at once; the bound is for a loaded machine.
HUB_NOTICES = 10


@pytest.fixture
def own_redis(tmp_path, settings):
    server = RedisServer(tmp_path / "redis").start()
    settings.REDIS_URL = server.url
    yield server
    server.stop()


def _run(scenario):
    """asyncio.run in a thread of its own (the browser tests' driver may leave a loop running)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result()


def _subscribers(server: RedisServer) -> int:
    client = redis.Redis(port=server.port)
    try:
        return sum(c["name"] == stream_hub.CLIENT_NAME for c in client.client_list(_type="pubsub"))
    finally:
        client.close()


def _publish(server: RedisServer, channel: str, detail) -> None:
    client = redis.Redis(port=server.port)
    try:
        client.publish(channel, json.dumps({"detail-type": "T", "detail": detail}))
    finally:
        client.close()


async def _drain(listener: stream_hub.Listener, count: int) -> list[dict]:
    return [json.loads(await listener.next(timeout=5)) for _ in range(count)]


def test_fifty_streams_share_one_subscription_and_hear_only_their_topics(own_redis):
    async def scenario():
        hub = stream_hub.hub()
        async with contextlib.AsyncExitStack() as stack:
            admins = [
                await stack.enter_async_context(hub.listening([admin_topic()])) for _ in range(48)
            ]
            ann = await stack.enter_async_context(hub.listening([user_topic("ann")]))
            board = await stack.enter_async_context(hub.listening([config_topic(), admin_topic()]))
            during = await asyncio.to_thread(_subscribers, own_redis)
            await asyncio.to_thread(
                _publish, own_redis, admin_topic(), {"orderId": "1", "TaskToken": "secret"}
            )
            await asyncio.to_thread(_publish, own_redis, user_topic("bob"), {"orderId": "2"})
            await asyncio.to_thread(_publish, own_redis, user_topic("ann"), {"orderId": "3"})
            await asyncio.to_thread(_publish, own_redis, config_topic(), {"open": True})
            heard_admin = [await _drain(listener, 1) for listener in admins]
            heard_ann = await _drain(ann, 1)
            heard_board = await _drain(board, 2)
            # Nothing else is waiting for them: bob's event went to no one here.
            assert await ann.next(timeout=0.2) is None
            assert await admins[0].next(timeout=0.2) is None
        after = await asyncio.to_thread(_subscribers, own_redis)
        return during, heard_admin, heard_ann, heard_board, after

    during, heard_admin, heard_ann, heard_board, after = _run(scenario)
    assert during == 1
    assert heard_admin == [[{"detail-type": "T", "detail": {"orderId": "1"}}]] * 48
    assert heard_ann == [{"detail-type": "T", "detail": {"orderId": "3"}}]
    assert [event["detail"] for event in heard_board] == [{"orderId": "1"}, {"open": True}]
    # The last stream gone, the hub closed its subscription.
    assert after == 0


def test_a_stream_that_falls_behind_is_ended_and_the_others_keep_hearing(own_redis):
    async def scenario():
        hub = stream_hub.hub()
        async with hub.listening([admin_topic()]) as slow, hub.listening([admin_topic()]) as quick:
            for n in range(stream_hub.LISTENER_BACKLOG + 1):
                await asyncio.to_thread(_publish, own_redis, admin_topic(), {"n": n})
                assert (await _drain(quick, 1))[0]["detail"] == {"n": n}
            with pytest.raises(stream_hub.StreamEnded):
                await slow.next(timeout=5)
            await asyncio.to_thread(_publish, own_redis, admin_topic(), {"n": "after"})
            return (await _drain(quick, 1))[0]["detail"]

    assert _run(scenario) == {"n": "after"}


def test_every_stream_ends_when_redis_dies_and_new_ones_subscribe_again(own_redis):
    async def scenario():
        hub = stream_hub.hub()
        async with hub.listening([admin_topic()]) as one, hub.listening([config_topic()]) as two:
            await asyncio.to_thread(own_redis.kill)
            ended = []
            for listener in (one, two):
                with pytest.raises(stream_hub.StreamEnded):
                    await listener.next(timeout=HUB_NOTICES)
                ended.append(listener.ended)
            # While Redis is down a new stream fails at once (the view ends it), it does not hang.
            with pytest.raises(redis.RedisError):
                async with hub.listening([admin_topic()]):
                    pass
            await asyncio.to_thread(own_redis.start)
            async with hub.listening([admin_topic()]) as fresh:
                await asyncio.to_thread(_publish, own_redis, admin_topic(), {"back": True})
                heard = (await _drain(fresh, 1))[0]["detail"]
        return ended, heard

    ended, heard = _run(scenario)
    assert ended == [True, True]
    assert heard == {"back": True}


def test_two_systems_on_one_redis_server_hear_only_their_own_events(own_redis, settings):
    """Redis delivers a PUBLISH to subscribers on every database of the server: the topics carry
    the database, so a system on database 1 never reaches the screens of one on database 2."""
    base = f"redis://127.0.0.1:{own_redis.port}"

    def publish_as(database: int, detail: dict) -> None:
        settings.REDIS_URL = f"{base}/{database}"
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            client.publish(admin_topic(), json.dumps({"detail-type": "T", "detail": detail}))
        finally:
            client.close()

    async def scenario():
        settings.REDIS_URL = f"{base}/2"
        async with stream_hub.hub().listening([admin_topic()]) as board:
            await asyncio.to_thread(publish_as, 1, {"orderId": "the other bar's"})
            await asyncio.to_thread(publish_as, 2, {"orderId": "ours"})
            return await _drain(board, 1), await board.next(timeout=0.3)

    heard, more = _run(scenario)
    assert [event["detail"] for event in heard] == [{"orderId": "ours"}]
    assert more is None
