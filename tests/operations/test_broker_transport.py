"""The worker's Redis transport (serverlesspresso.broker) once the channel a message came on has
been closed (Redis killed while a stage ran): settling the message must not raise. kombu's own QoS
raises AttributeError there ("'NoneType' object has no attribute 'client'", seen killing a worker
under load), which Celery reports as "Unrecoverable error" and the worker exits."""

import pytest
from kombu import Connection
from kombu.transport import redis as kombu_redis

from serverlesspresso import broker, celery_app


@pytest.fixture
def closed_qos(redis_url):
    """The QoS of a real channel as Celery leaves it after a lost connection: closed, its pools
    disconnected, one message still delivered and unacknowledged."""
    connection = Connection(celery_app.conf.broker_url)
    connection.connect()
    channel = connection.channel()
    assert isinstance(channel, broker.Channel)
    qos = channel.qos
    channel.close()
    channel._pool = channel._async_pool = None
    qos._delivered["tag-1"] = object()
    yield qos
    connection.release()


def test_kombus_own_ack_after_the_channel_closed_raises(closed_qos):
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'client'"):
        kombu_redis.QoS.ack(closed_qos, "tag-1")


@pytest.mark.parametrize("settle", ["ack", "reject"])
def test_a_message_settled_after_the_channel_closed_is_left_to_the_visibility_timeout(
    closed_qos, settle, caplog
):
    getattr(closed_qos, settle)("tag-1")
    assert "tag-1" not in closed_qos._delivered
    assert "stays unacked" in caplog.text


def test_unacked_messages_are_not_restored_through_a_closed_channel(closed_qos, caplog):
    closed_qos.restore_unacked()
    assert not closed_qos._delivered
    assert "left to the visibility timeout" in caplog.text
