"""kombu's Redis transport with one fix: a worker must not die when Redis drops its connection
while it holds unacknowledged messages.

With acks_late, a worker running stages holds unacked messages. When Redis goes away (a kill -9,
a restart), Celery closes the consumer's connection, and closing its channel tries to put those
messages back through that same connection, which is gone by then: kombu reads the connection's
`client` (None) and raises AttributeError("'NoneType' object has no attribute 'hostname'"), which
Celery reports as "Unrecoverable error" and exits. Acknowledging a message after the channel
closed (a stage that ends just then) fails the same way, reading `None.client`. Here, both are
skipped when the connection is gone: the messages stay in Redis's unacked set, which the visibility timeout
restores (and when Redis restarted empty, the engine's relay sends their stages again).
"""

import logging

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def _connection_gone(self) -> bool:
        return getattr(self.channel.connection, "client", None) is None

    def ack(self, delivery_tag):
        # A stage that ends after its channel was closed (Redis killed meanwhile) has no
        # connection left to acknowledge through: kombu would build a new pool from the closed
        # channel's connection (None.client) and the worker would exit. The message stays in the
        # unacked set; the visibility timeout delivers it again, and the stage, already run,
        # finds nothing to do.
        if self._connection_gone():
            logger.warning("The broker connection is gone; message %s stays unacked", delivery_tag)
            self._delivered.pop(delivery_tag, None)
            return None
        return super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if self._connection_gone():
            logger.warning("The broker connection is gone; message %s stays unacked", delivery_tag)
            self._delivered.pop(delivery_tag, None)
            return None
        return super().reject(delivery_tag, requeue=requeue)

    def restore_unacked(self, client=None):
        if client is None and self._connection_gone():
            logger.warning(
                "The broker connection is gone; %d unacked messages are left to the visibility "
                "timeout",
                len(self._delivered),
            )
            self._delivered.clear()
            return None
        return super().restore_unacked(client)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Makes `redis://` and `redis+socket://` broker URLs use this transport."""
    TRANSPORT_ALIASES["redis"] = f"{__name__}:Transport"
